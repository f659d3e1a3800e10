/* Framing of a CRIU image: the magic header, then size-prefixed entries
 * and their payloads. Indexing locates entries without decoding them. */
#ifndef CRIT_IMAGE_H
#define CRIT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "schema.h"

/* Where one entry lies: [start, start+4) is the size, then msg_len bytes
 * of message, then payload_len bytes of payload (padding included). */
struct entry_loc {
	uint64_t start;
	uint32_t msg_len;
	uint64_t payload_len;
};

struct image_header {
	const struct image_type *type;
	size_t header_len;	/* 0 (raw), 4 (v1.0, inventory) or 8 (v1.1) */
	uint32_t first_magic;	/* IMG_COMMON, IMG_SERVICE, or the magic itself */
};

/* Parse the header. `filename` (may be NULL) recognises raw images. */
int image_read_header(const uint8_t *data, size_t len, const char *filename,
		      struct image_header *h, struct crit_error *err);

/* Walks the entries one at a time; constant memory, for streaming. */
struct image_cursor {
	const struct image_header *h;
	const uint8_t *data;
	size_t len;
	uint64_t pos;
	size_t index;		/* of the next entry */
	int chunked;		/* ghost file: first entry has chunks */
	/* When not NULL, asked for bytes [from, to) before the cursor reads
	 * them: an image copied from its file as it is walked reads them in
	 * then. -1 (err set) when it cannot (the file shrank meanwhile). */
	int (*need)(void *ctx, uint64_t from, uint64_t to, struct crit_error *err);
	void *need_ctx;
	/* [ready_from, ready_to): what need() made readable last, rounded to
	 * need_unit (whole chunks): asked again only past it. Whoever lets
	 * bytes ahead of pos go sets ready_to to 0. */
	uint64_t ready_from, ready_to, need_unit;
};

void image_cursor_init(struct image_cursor *c, const struct image_header *h,
		       const uint8_t *data, size_t len);
/* 1: *loc is the next entry; 0: end of image; -1: corrupt (err set). */
int image_cursor_next(struct image_cursor *c, struct entry_loc *loc, struct crit_error *err);

/* The payloads, as the schema table (schema.h) describes them: the one
 * place that reads their size fields and walks their layout. */

/* Whether the entry has no payload at all (an ipc shm in_pagemaps). */
int image_payload_skipped(const struct payload_desc *pd, const uint8_t *msg, size_t msg_len);
/* The bytes of data the size fields of message `msg` give, padding
 * excluded; 0 when skipped. Saturates at UINT64_MAX and returns -1 when
 * they overflow. Not for queues and rests of the file. */
int image_payload_data_len(const struct payload_desc *pd, const uint8_t *msg, size_t msg_len,
			   uint64_t *n);
/* Size of the payload, padding included, that follows message `msg`,
 * checked against what remains of the file (`rest`, `rest_len`). */
int image_payload_len(const struct payload_desc *pd, const uint8_t *msg, size_t msg_len,
		      const uint8_t *rest, size_t rest_len, uint64_t *payload_len,
		      struct crit_error *err);
/* Append the zero bytes that pad `data_len` bytes of data. */
int image_put_padding(struct buf *out, const struct payload_desc *pd, uint64_t data_len);

/* The items of a queue payload (an IPC message queue), read in order:
 * each a u32 size, an `item` message, then its data padded to `align`. */
struct image_queue {
	const struct payload_desc *pd;
	const uint8_t *p, *end;
	uint64_t count, index;
};
struct image_queue_item {
	const uint8_t *msg;
	uint32_t msg_len;
	const uint8_t *data;
	uint64_t data_len; /* padding excluded */
};

void image_queue_init(struct image_queue *q, const struct payload_desc *pd, const uint8_t *msg,
		      size_t msg_len, const uint8_t *payload, size_t payload_len);
/* 1: *it is the next item; 0: no more; -1: it does not fit (err set). */
int image_queue_next(struct image_queue *q, struct image_queue_item *it, struct crit_error *err);
/* Writing an item: its size and message `msg`; the data size the message
 * gives is returned, and the caller appends the data and its padding. */
uint64_t image_queue_put_item(struct buf *out, const struct payload_desc *pd, const uint8_t *msg,
			      size_t msg_len);
/* The same when the caller encodes the message straight into `out`, which
 * must be in memory (fd -1: nothing drains before the size is set):
 * open writes a placeholder, close sets the size. */
size_t image_queue_open_item(struct buf *out);
uint64_t image_queue_close_item(struct buf *out, const struct payload_desc *pd, size_t mark);

/* Whether the first entry `msg` of an image says that chunks follow it
 * (ghost files); 0 for other layouts. */
int image_first_chunked(const struct image_type *t, const uint8_t *msg, size_t msg_len);

/* The header bytes that new images of this type start with. */
size_t image_header_bytes(const struct image_type *t, uint8_t out[8]);

#endif
