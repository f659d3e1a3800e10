/* The flag and dict maps of crit 4.2, and compel's task states. */
#include "maps.h"

#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct flag_bit mmap_prot[] = {
	{ "PROT_READ", 0x1 }, { "PROT_WRITE", 0x2 }, { "PROT_EXEC", 0x4 },
};

static const struct flag_bit mmap_flags[] = {
	{ "MAP_SHARED", 0x1 }, { "MAP_PRIVATE", 0x2 }, { "MAP_DROPPABLE", 0x08 },
	{ "MAP_ANON", 0x20 },  { "MAP_GROWSDOWN", 0x0100 },
};

/* VMA_AREA_NONE is 0: it never matches, as in crit. */
static const struct flag_bit mmap_status[] = {
	{ "VMA_AREA_NONE", 0 },		  { "VMA_AREA_REGULAR", 1u << 0 },
	{ "VMA_AREA_STACK", 1u << 1 },	  { "VMA_AREA_VSYSCALL", 1u << 2 },
	{ "VMA_AREA_VDSO", 1u << 3 },	  { "VMA_AREA_HEAP", 1u << 5 },
	{ "VMA_FILE_PRIVATE", 1u << 6 },  { "VMA_FILE_SHARED", 1u << 7 },
	{ "VMA_ANON_SHARED", 1u << 8 },	  { "VMA_ANON_PRIVATE", 1u << 9 },
	{ "VMA_AREA_SYSVIPC", 1u << 10 }, { "VMA_AREA_SOCKET", 1u << 11 },
	{ "VMA_AREA_VVAR", 1u << 12 },	  { "VMA_AREA_AIORING", 1u << 13 },
	{ "VMA_AREA_MEMFD", 1u << 14 },	  { "VMA_AREA_SHSTK", 1u << 15 },
	{ "VMA_AREA_UPROBES", 1u << 17 }, { "VMA_UNSUPP", 1u << 31 },
};

static const struct flag_bit rfile_flags[] = {
	{ "O_WRONLY", 00000001 },    { "O_RDWR", 00000002 },	  { "O_CREAT", 00000100 },
	{ "O_EXCL", 00000200 },	     { "O_NOCTTY", 00000400 },	  { "O_TRUNC", 00001000 },
	{ "O_APPEND", 00002000 },    { "O_NONBLOCK", 00004000 },  { "O_DSYNC", 00010000 },
	{ "FASYNC", 00020000 },	     { "O_DIRECT", 00040000 },	  { "O_LARGEFILE", 00100000 },
	{ "O_DIRECTORY", 00200000 }, { "O_NOFOLLOW", 00400000 }, { "O_NOATIME", 01000000 },
	{ "O_CLOEXEC", 02000000 },
};

static const struct flag_bit pmap_flags[] = {
	{ "PE_PARENT", 1u << 0 }, { "PE_LAZY", 1u << 1 }, { "PE_PRESENT", 1u << 2 },
};

static const struct flag_bit seals_flags[] = {
	{ "F_SEAL_SEAL", 0x0001 },  { "F_SEAL_SHRINK", 0x0002 },	{ "F_SEAL_GROW", 0x0004 },
	{ "F_SEAL_WRITE", 0x0008 }, { "F_SEAL_FUTURE_WRITE", 0x0010 },
};

static const struct flag_map flag_maps[] = {
	{ "mmap.prot", mmap_prot, N(mmap_prot) },
	{ "mmap.flags", mmap_flags, N(mmap_flags) },
	{ "mmap.status", mmap_status, N(mmap_status) },
	{ "rfile.flags", rfile_flags, N(rfile_flags) },
	{ "pmap.flags", pmap_flags, N(pmap_flags) },
	{ "seals.flags", seals_flags, N(seals_flags) },
};

const struct flag_map *maps_flags(const char *name)
{
	size_t i;

	for (i = 0; i < N(flag_maps); i++)
		if (strcmp(flag_maps[i].name, name) == 0)
			return &flag_maps[i];
	return NULL;
}

struct dict_name {
	const char *dict, *field;
	int64_t value;
	const char *name;
	int input_only; /* crit's names, accepted on input only */
};

static const struct dict_name dict_names[] = {
	{ "sk", "family", 1, "UNIX", 0 },
	{ "sk", "family", 2, "INET", 0 },
	{ "sk", "family", 10, "INET6", 0 },
	{ "sk", "family", 16, "NETLINK", 0 },
	{ "sk", "family", 17, "PACKET", 0 },
	{ "sk", "type", 1, "STREAM", 0 },
	{ "sk", "type", 2, "DGRAM", 0 },
	{ "sk", "type", 3, "RAW", 0 },
	{ "sk", "type", 5, "SEQPACKET", 0 },
	{ "sk", "type", 10, "PACKET", 0 },
	{ "sk", "state", 1, "ESTABLISHED", 0 },
	{ "sk", "state", 2, "SYN_SENT", 0 },
	{ "sk", "state", 3, "SYN_RECV", 0 },
	{ "sk", "state", 4, "FIN_WAIT1", 0 },
	{ "sk", "state", 5, "FIN_WAIT2", 0 },
	{ "sk", "state", 6, "TIME_WAIT", 0 },
	{ "sk", "state", 7, "CLOSE", 0 },
	{ "sk", "state", 8, "CLOSE_WAIT", 0 },
	{ "sk", "state", 9, "LAST_ACK", 0 },
	{ "sk", "state", 10, "LISTEN", 0 },
	{ "sk", "proto", 0, "IP", 0 },
	{ "sk", "proto", 6, "TCP", 0 },
	{ "sk", "proto", 17, "UDP", 0 },
	{ "sk", "proto", 136, "UDPLITE", 0 },
	/* compel's task states (compel/include/uapi/task-state.h) */
	{ "gen", "task_state", 1, "ALIVE", 0 },
	{ "gen", "task_state", 2, "DEAD", 0 },
	{ "gen", "task_state", 3, "STOPPED", 0 },
	{ "gen", "task_state", 6, "ZOMBIE", 0 },
	/* crit's names, whose values are crossed: keep its JSON encodable
	 * to the same bytes */
	{ "gen", "task_state", 1, "Alive", 1 },
	{ "gen", "task_state", 3, "Zombie", 1 },
	{ "gen", "task_state", 6, "Stopped", 1 },
};

const char *maps_dict_name(const char *dict, const char *field, int64_t value)
{
	size_t i;

	for (i = 0; i < N(dict_names); i++) {
		const struct dict_name *d = &dict_names[i];
		if (!d->input_only && d->value == value && strcmp(d->field, field) == 0 &&
		    strcmp(d->dict, dict) == 0)
			return d->name;
	}
	return NULL;
}

int maps_dict_value(const char *dict, const char *field, const char *name, int64_t *value)
{
	size_t i;

	for (i = 0; i < N(dict_names); i++) {
		const struct dict_name *d = &dict_names[i];
		if (strcmp(d->name, name) == 0 && strcmp(d->field, field) == 0 &&
		    strcmp(d->dict, dict) == 0) {
			*value = d->value;
			return 1;
		}
	}
	return 0;
}
