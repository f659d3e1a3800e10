/* The (criu) field options of CRIU's image schema: how crit prints a field.
 * protobuf-c's descriptors drop custom options, so tools/gen-criu-opts.lua
 * extracts them from proto/ at build time into gen/criu_opts.c. */
#ifndef CRIT_CRIU_OPTS_H
#define CRIT_CRIU_OPTS_H

#include <stddef.h>
#include <stdint.h>

enum {
	CRIU_OPT_HEX = 1 << 0,	 /* print as "0x%x"; inherited by sub-messages */
	CRIU_OPT_IPADD = 1 << 1, /* repeated uint32: IPv4 (1 word) or IPv6 (4) */
	CRIU_OPT_DEV = 1 << 2,	 /* "major:minor", kernel's new dev_t layout */
	CRIU_OPT_ODEV = 1 << 3,	 /* "major:minor", glibc's old layout */
};

struct criu_field_opt {
	const char *message;   /* full message name, e.g. "thread_core_entry" */
	uint32_t field;	       /* field number */
	unsigned bits;	       /* CRIU_OPT_* */
	const char *flags;     /* flags map name ("mmap.prot"), or NULL */
	const char *dict;      /* dict name ("sk", "gen"), or NULL */
	const char *conv;      /* custom conversion ("unix_name"), or NULL */
};

/* Sorted by (strcmp(message), field), for binary search. */
extern const struct criu_field_opt criu_field_opts[];
extern const size_t criu_field_opts_count;

#endif
