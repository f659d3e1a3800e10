/* What each CRIU image holds: magic numbers, names, entry message types and
 * the raw payload ("extra") that follows some entries. One table for all. */
#ifndef CRIT_SCHEMA_H
#define CRIT_SCHEMA_H

#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "criu_opts.h"

#define MAGIC_IMG_COMMON 0x54564319u
#define MAGIC_IMG_SERVICE 0x55105940u

/* The raw data that follows an entry's message: its shape (how crit
 * shows it), and where its size is, as the schema table describes it. */
enum payload_kind {
	PAYLOAD_NONE,
	PAYLOAD_PIPE,	    /* bytes */
	PAYLOAD_SK_QUEUE,   /* bytes */
	PAYLOAD_TCP,	    /* two runs of bytes: inq, then outq */
	PAYLOAD_BPFMAP,	    /* bytes: keys, then values */
	PAYLOAD_IPC_SHM,    /* bytes */
	PAYLOAD_IPC_SEM,    /* u16 values */
	PAYLOAD_IPC_MSG,    /* a queue: count x (u32 size, message, data) */
	PAYLOAD_GHOST,	    /* bytes: the rest of the file */
	PAYLOAD_GHOST_CHUNK /* bytes */
};

/* How long a payload is. Its data is the sum of the size fields, times
 * `unit`, then padded to `align`; a queue holds `size[0]` items of (u32
 * size, `item` message, data of its `item_size` field, padded to align). */
struct payload_desc {
	enum payload_kind kind;
	uint32_t size[2];	/* field numbers; 0: unused */
	const char *size_name[2]; /* their names, for messages */
	const char *what;	/* the size as messages say it: "keys_bytes + values_bytes" */
	uint32_t skip;		/* no payload at all when this field is set; 0: none */
	const char *skip_name;
	unsigned unit, align;
	const ProtobufCMessageDescriptor *item; /* a queue's messages */
	uint32_t item_size;	/* the item's field that sizes its data */
	const char *item_size_name;
	int rest;		/* the data is the rest of the file */
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
	int bare_magic;		/* new images start with the magic alone: inventory */
	uint32_t chunked;	/* ghost: the first entry's field that says chunks follow */
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
const struct payload_desc *schema_entry_payload(const struct image_type *t, size_t index,
						int chunked);

/* The (criu) options of a field, or NULL when it has none. */
const struct criu_field_opt *schema_field_opt(const ProtobufCMessageDescriptor *d,
					      const ProtobufCFieldDescriptor *f);

#endif
