/* Framing of a CRIU image: the magic header, then size-prefixed entries
 * and their payloads. Indexing locates entries without decoding them. */
#ifndef CRIT_IMAGE_H
#define CRIT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

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
};

void image_cursor_init(struct image_cursor *c, const struct image_header *h,
		       const uint8_t *data, size_t len);
/* 1: *loc is the next entry; 0: end of image; -1: corrupt (err set). */
int image_cursor_next(struct image_cursor *c, struct entry_loc *loc, struct crit_error *err);

/* Size of the payload that follows message `msg` of entry `index`, given
 * what remains of the file after the message (`rest`, `rest_len`). */
int image_payload_len(const struct image_type *t, size_t index, int chunked,
		      const uint8_t *msg, size_t msg_len, const uint8_t *rest,
		      size_t rest_len, uint64_t *payload_len, struct crit_error *err);

/* The header bytes that new images of this type start with. */
size_t image_header_bytes(const struct image_type *t, uint8_t out[8]);

#endif
