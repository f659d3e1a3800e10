/* What each CRIU image holds: magic numbers, names, entry message types and
 * the raw payload ("extra") that follows some entries. One table for all. */
#ifndef CRIT_SCHEMA_H
#define CRIT_SCHEMA_H

#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "criu_opts.h"

#define MAGIC_IMG_COMMON 0x54564319u
#define MAGIC_IMG_SERVICE 0x55105940u

/* The raw data that follows an entry's message, and where its size is. */
enum payload_kind {
	PAYLOAD_NONE,
	PAYLOAD_PIPE,	    /* pipe_data_entry.bytes */
	PAYLOAD_SK_QUEUE,   /* sk_packet_entry.length */
	PAYLOAD_TCP,	    /* tcp_stream_entry: inq_len then outq_len */
	PAYLOAD_BPFMAP,	    /* bpfmap_data_entry: keys_bytes + values_bytes */
	PAYLOAD_IPC_SHM,    /* ipc_shm_entry.size, padded to 4; none if in_pagemaps */
	PAYLOAD_IPC_SEM,    /* ipc_sem_entry.nsems x u16, padded to 8 */
	PAYLOAD_IPC_MSG,    /* qnum x (u32 size, ipc_msg, data padded to 8) */
	PAYLOAD_GHOST,	    /* ghost_file_entry without chunks: rest of the file */
	PAYLOAD_GHOST_CHUNK /* ghost_chunk_entry.len */
};

/* How an image's entries are laid out. */
enum image_layout {
	LAYOUT_PLAIN,	/* every entry of one type */
	LAYOUT_PAGEMAP, /* pagemap_head, then pagemap_entry */
	LAYOUT_GHOST,	/* ghost_file_entry, then ghost_chunk_entry if chunked */
	LAYOUT_RAW,	/* no magic, no entries: pages, tarballs, netlink dumps */
};

struct image_type {
	const char *name;	/* crit's name: "CORE", "PAGEMAP" */
	uint32_t magic;		/* 0 for raw images */
	enum image_layout layout;
	const ProtobufCMessageDescriptor *entry;   /* every entry, or after the first */
	const ProtobufCMessageDescriptor *first;   /* the head entry, or NULL */
	enum payload_kind payload;
	int service;		/* written after IMG_SERVICE, not IMG_COMMON */
};

const struct image_type *schema_by_magic(uint32_t magic);
const struct image_type *schema_by_name(const char *name);
/* A raw image recognised by its file name ("pages-1.img"), or NULL. */
const struct image_type *schema_raw_by_filename(const char *path);
/* The i-th entry of the table (0-based), NULL past the end. */
const struct image_type *schema_type_at(size_t i);

/* The message type and payload of entry `index` (0-based). For ghost
 * files, `chunked` says whether the first entry has chunks set. */
const ProtobufCMessageDescriptor *schema_entry_desc(const struct image_type *t, size_t index);
enum payload_kind schema_entry_payload(const struct image_type *t, size_t index, int chunked);

/* The (criu) options of a field, or NULL when it has none. */
const struct criu_field_opt *schema_field_opt(const ProtobufCMessageDescriptor *d,
					      const ProtobufCFieldDescriptor *f);

/* Descriptors the payload code needs by name. */
const ProtobufCMessageDescriptor *schema_ipc_msg_desc(void);

#endif
