/* crit's symbolic names for integer fields: the (criu).flags maps and the
 * (criu).dict maps, as crit 4.2 has them (lib/pycriu/images/pb2dict.py). */
#ifndef CRIT_MAPS_H
#define CRIT_MAPS_H

#include <stddef.h>
#include <stdint.h>

struct flag_bit {
	const char *name;
	uint64_t value;
};

struct flag_map {
	const char *name; /* "mmap.prot" */
	const struct flag_bit *bits;
	size_t n;	  /* bits are printed in this order */
};

/* The flags map of that name, or NULL (crit then prints "0x%x"). */
const struct flag_map *maps_flags(const char *name);

/* The name to print for `value` of field `field` under dict `dict`
 * ("sk" or "gen"), or NULL to print the number. task_state prints
 * compel's names (ALIVE, DEAD, STOPPED, ZOMBIE), not crit's wrong ones. */
const char *maps_dict_name(const char *dict, const char *field, int64_t value);

/* The value of `name` (ours, or crit's own names with crit's values);
 * 1 if known. */
int maps_dict_value(const char *dict, const char *field, const char *name, int64_t *value);

#endif
