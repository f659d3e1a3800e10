/* The one table of CRIU image types: magic, crit's name, entry messages,
 * payload, and the lookup of (criu) field options. */
#include "schema.h"

#include <stdlib.h>
#include <string.h>

#include "protos.h"

#define PLAIN(name, magic, msg) { name, magic, LAYOUT_PLAIN, &msg##__descriptor, NULL, PAYLOAD_NONE, 0, 0, 0 }
#define EXTRA(name, magic, msg, pl) { name, magic, LAYOUT_PLAIN, &msg##__descriptor, NULL, pl, 0, 0, 0 }
#define RAW(name) { name, 0, LAYOUT_RAW, NULL, NULL, PAYLOAD_NONE, 0, 0, 0 }

/* The payloads, by kind: the field numbers are those of the entry
 * messages in proto/ (pipe-data, sk-packet, tcp-stream, bpfmap-data,
 * ipc-shm, ipc-sem, ipc-msg, ghost-file), the layout is CRIU's. */
static const struct payload_desc payloads[] = {
	[PAYLOAD_NONE] = { .kind = PAYLOAD_NONE, .unit = 1, .align = 1 },
	[PAYLOAD_PIPE] = { .kind = PAYLOAD_PIPE, .size = { 2 }, .size_name = { "bytes" },
			   .what = "bytes", .unit = 1, .align = 1 },
	[PAYLOAD_SK_QUEUE] = { .kind = PAYLOAD_SK_QUEUE, .size = { 2 }, .size_name = { "length" },
			       .what = "length", .unit = 1, .align = 1 },
	[PAYLOAD_TCP] = { .kind = PAYLOAD_TCP, .size = { 1, 3 },
			  .size_name = { "inq_len", "outq_len" }, .what = "inq_len + outq_len",
			  .unit = 1, .align = 1 },
	[PAYLOAD_BPFMAP] = { .kind = PAYLOAD_BPFMAP, .size = { 2, 3 },
			     .size_name = { "keys_bytes", "values_bytes" },
			     .what = "keys_bytes + values_bytes", .unit = 1, .align = 1 },
	/* in_pagemaps: the segment's data is in the pages images. */
	[PAYLOAD_IPC_SHM] = { .kind = PAYLOAD_IPC_SHM, .size = { 2 }, .size_name = { "size" },
			      .what = "size", .skip = 3, .skip_name = "in_pagemaps", .unit = 1,
			      .align = 4 },
	[PAYLOAD_IPC_SEM] = { .kind = PAYLOAD_IPC_SEM, .size = { 2 }, .size_name = { "nsems" },
			      .what = "nsems", .unit = 2, .align = 8 },
	[PAYLOAD_IPC_MSG] = { .kind = PAYLOAD_IPC_MSG, .size = { 3 }, .size_name = { "qnum" },
			      .what = "qnum", .unit = 1, .align = 8, .item = &ipc_msg__descriptor,
			      .item_size = 2, .item_size_name = "msize" },
	[PAYLOAD_GHOST] = { .kind = PAYLOAD_GHOST, .unit = 1, .align = 1, .rest = 1 },
	[PAYLOAD_GHOST_CHUNK] = { .kind = PAYLOAD_GHOST_CHUNK, .size = { 1 }, .size_name = { "len" },
				  .what = "len", .unit = 1, .align = 1 },
};

/* Magic values are CRIU's criu/include/magic.h (proto/magics.tsv). Where
 * several names share a value, the first is the one crit shows. */
static const struct image_type image_types[] = {
	{ "INVENTORY", 0x58313116, LAYOUT_PLAIN, &inventory_entry__descriptor, NULL,
	  PAYLOAD_NONE, 0, 1, 0 },
	PLAIN("PSTREE", 0x50273030, pstree_entry),
	PLAIN("FDINFO", 0x56213732, fdinfo_entry),
	{ "PAGEMAP", 0x56084025, LAYOUT_PAGEMAP, &pagemap_entry__descriptor,
	  &pagemap_head__descriptor, PAYLOAD_NONE, 0, 0, 0 },
	PLAIN("CORE", 0x55053847, core_entry),
	PLAIN("IDS", 0x54432030, task_kobj_ids_entry),
	PLAIN("VMAS", 0x54123737, vma_entry),
	PLAIN("PIPES", 0x56513555, pipe_entry),
	EXTRA("PIPES_DATA", 0x56453709, pipe_data_entry, PAYLOAD_PIPE),
	PLAIN("FIFO", 0x58364939, fifo_entry),
	EXTRA("FIFO_DATA", 0x59333054, pipe_data_entry, PAYLOAD_PIPE),
	PLAIN("SIGACT", 0x55344201, sa_entry),
	PLAIN("UNIXSK", 0x54373943, unix_sk_entry),
	PLAIN("INETSK", 0x56443851, inet_sk_entry),
	PLAIN("PACKETSK", 0x60454618, packet_sock_entry),
	PLAIN("ITIMERS", 0x57464056, itimer_entry),
	PLAIN("POSIX_TIMERS", 0x52603957, posix_timer_entry),
	EXTRA("SK_QUEUES", 0x56264026, sk_packet_entry, PAYLOAD_SK_QUEUE),
	PLAIN("UTSNS", 0x54473203, utsns_entry),
	PLAIN("CREDS", 0x54023547, creds_entry),
	PLAIN("IPC_VAR", 0x53115007, ipc_var_entry),
	EXTRA("IPCNS_SHM", 0x46283044, ipc_shm_entry, PAYLOAD_IPC_SHM),
	EXTRA("IPCNS_MSG", 0x55453737, ipc_msg_entry, PAYLOAD_IPC_MSG),
	EXTRA("IPCNS_SEM", 0x59573019, ipc_sem_entry, PAYLOAD_IPC_SEM),
	PLAIN("REG_FILES", 0x50363636, reg_file_entry),
	PLAIN("EXT_FILES", 0x59255641, ext_file_entry),
	PLAIN("FS", 0x51403912, fs_entry),
	PLAIN("MM", 0x57492820, mm_entry),
	PLAIN("REMAP_FPATH", 0x59133954, remap_file_path_entry),
	{ "GHOST_FILE", 0x52583605, LAYOUT_GHOST, &ghost_chunk_entry__descriptor,
	  &ghost_file_entry__descriptor, PAYLOAD_GHOST_CHUNK, 0, 0, 9 /* chunks */ },
	EXTRA("TCP_STREAM", 0x51465506, tcp_stream_entry, PAYLOAD_TCP),
	PLAIN("EVENTFD_FILE", 0x44523722, eventfd_file_entry),
	PLAIN("EVENTPOLL_FILE", 0x45023858, eventpoll_file_entry),
	PLAIN("EVENTPOLL_TFD", 0x44433746, eventpoll_tfd_entry),
	PLAIN("SIGNALFD", 0x57323820, signalfd_entry),
	PLAIN("INOTIFY_FILE", 0x48424431, inotify_file_entry),
	PLAIN("INOTIFY_WD", 0x54562009, inotify_wd_entry),
	PLAIN("MNTS", 0x55563928, mnt_entry),
	PLAIN("NETDEV", 0x57373951, net_device_entry),
	PLAIN("NETNS", 0x55933752, netns_entry),
	PLAIN("TTY_FILES", 0x59433025, tty_file_entry),
	PLAIN("TTY_INFO", 0x59453036, tty_info_entry),
	PLAIN("TTY_DATA", 0x59413026, tty_data_entry),
	PLAIN("FILE_LOCKS", 0x54323616, file_lock_entry),
	PLAIN("RLIMIT", 0x57113925, rlimit_entry),
	PLAIN("FANOTIFY_FILE", 0x55096122, fanotify_file_entry),
	PLAIN("FANOTIFY_MARK", 0x56506035, fanotify_mark_entry),
	PLAIN("SIGNAL", 0x59255647, siginfo_entry),
	PLAIN("NETLINK_SK", 0x58005614, netlink_sk_entry),
	PLAIN("NS_FILES", 0x61394011, ns_file_entry),
	PLAIN("TUNFILE", 0x57143751, tunfile_entry),
	PLAIN("CGROUP", 0x59383330, cgroup_entry),
	PLAIN("TIMERFD", 0x50493712, timerfd_entry),
	PLAIN("CPUINFO", 0x61404013, cpuinfo_entry),
	PLAIN("USERNS", 0x55474906, userns_entry),
	PLAIN("SECCOMP", 0x64413049, seccomp_entry),
	PLAIN("BINFMT_MISC", 0x67343323, binfmt_misc_entry),
	PLAIN("AUTOFS", 0x49353943, autofs_entry),
	PLAIN("FILES", 0x56303138, file_entry),
	PLAIN("MEMFD_INODE", 0x48453499, memfd_inode_entry),
	PLAIN("TIMENS", 0x43114433, timens_entry),
	PLAIN("PIDNS", 0x61157326, pidns_entry),
	PLAIN("BPFMAP_FILE", 0x57506142, bpfmap_file_entry),
	EXTRA("BPFMAP_DATA", 0x64324033, bpfmap_data_entry, PAYLOAD_BPFMAP),
	PLAIN("APPARMOR", 0x59423047, apparmor_entry),
	PLAIN("PIDFD", 0x54435556, pidfd_entry),
	{ "STATS", 0x57093306, LAYOUT_PLAIN, &stats_entry__descriptor, NULL, PAYLOAD_NONE, 1, 0, 0 },
	{ "IRMAP_CACHE", 0x57004059, LAYOUT_PLAIN, &irmap_cache_entry__descriptor, NULL,
	  PAYLOAD_NONE, 1, 0, 0 },
	/* Raw images: no magic, no protobuf; recognised by file name. */
	RAW("PAGES"),
	RAW("IFADDR"),
	RAW("ROUTE"),
	RAW("ROUTE6"),
	RAW("RULE"),
	RAW("IPTABLES"),
	RAW("IP6TABLES"),
	RAW("NFTABLES"),
	RAW("NETNF_CT"),
	RAW("NETNF_EXP"),
	RAW("TMPFS_IMG"),
	RAW("TMPFS_DEV"),
};

#define N_TYPES (sizeof(image_types) / sizeof(image_types[0]))

/* File names of raw images, as CRIU makes them (criu/image-desc.c):
 * a prefix, a number, then a suffix. Longer prefixes come first. */
static const struct {
	const char *prefix, *suffix, *type;
} raw_names[] = {
	{ "pages-shmem-", ".img", "PAGES" },
	{ "pages-", ".img", "PAGES" },
	{ "ifaddr-", ".img", "IFADDR" },
	{ "route6-", ".img", "ROUTE6" },
	{ "route-", ".img", "ROUTE" },
	{ "rule-", ".img", "RULE" },
	{ "ip6tables-", ".img", "IP6TABLES" },
	{ "iptables-", ".img", "IPTABLES" },
	{ "nftables-", ".img", "NFTABLES" },
	{ "netns-ct-", ".img", "NETNF_CT" },
	{ "netns-exp-", ".img", "NETNF_EXP" },
	{ "tmpfs-dev-", ".tar.gz.img", "TMPFS_DEV" },
	{ "tmpfs-", ".tar.gz.img", "TMPFS_IMG" },
};

const struct image_type *schema_by_magic(uint32_t magic)
{
	size_t i;

	if (magic == 0)
		return NULL;
	for (i = 0; i < N_TYPES; i++)
		if (image_types[i].magic == magic)
			return &image_types[i];
	return NULL;
}

const struct image_type *schema_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < N_TYPES; i++)
		if (strcmp(image_types[i].name, name) == 0)
			return &image_types[i];
	return NULL;
}

const struct image_type *schema_type_at(size_t i)
{
	return i < N_TYPES ? &image_types[i] : NULL;
}

static int is_digits(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

const struct image_type *schema_raw_by_filename(const char *path)
{
	const char *base;
	size_t i, len;

	if (!path)
		return NULL;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	len = strlen(base);
	for (i = 0; i < sizeof(raw_names) / sizeof(raw_names[0]); i++) {
		size_t pl = strlen(raw_names[i].prefix), sl = strlen(raw_names[i].suffix);
		if (len > pl + sl && strncmp(base, raw_names[i].prefix, pl) == 0 &&
		    strcmp(base + len - sl, raw_names[i].suffix) == 0 &&
		    is_digits(base + pl, len - pl - sl))
			return schema_by_name(raw_names[i].type);
	}
	return NULL;
}

const ProtobufCMessageDescriptor *schema_entry_desc(const struct image_type *t, size_t index)
{
	if (index == 0 && t->first)
		return t->first;
	return t->entry;
}

const struct payload_desc *schema_entry_payload(const struct image_type *t, size_t index,
						int chunked)
{
	if (t->layout == LAYOUT_GHOST && index == 0)
		return &payloads[chunked ? PAYLOAD_NONE : PAYLOAD_GHOST];
	return &payloads[t->payload];
}

static int opt_cmp(const void *key, const void *elem)
{
	const struct criu_field_opt *k = key, *e = elem;
	int c = strcmp(k->message, e->message);

	if (c)
		return c;
	return k->field < e->field ? -1 : k->field > e->field;
}

const struct criu_field_opt *schema_field_opt(const ProtobufCMessageDescriptor *d,
					      const ProtobufCFieldDescriptor *f)
{
	struct criu_field_opt key = { d->name, f->id, 0, NULL, NULL, NULL };

	return bsearch(&key, criu_field_opts, criu_field_opts_count, sizeof(key), opt_cmp);
}

