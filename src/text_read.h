/* crit.lua encode of protobuf text format (text_write.c's layouts, raw and
 * nice) back to a CRIU image, directed by the schema. No Lua, no doubles. */
#ifndef CRIT_TEXT_READ_H
#define CRIT_TEXT_READ_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "schema.h"

struct text_read_result {
	const struct image_type *type; /* from the header line; NULL if not reached */
	uint64_t entries;	       /* entries written */
};

/* Whether a document looks like text format rather than JSON: its first
 * byte that is not white space is '#'. */
int text_read_detect(const uint8_t *text, size_t len);

/* Read the whole document (in memory, len bytes) and append the image to
 * out: header, then each entry's size, message and payload. On error, -1:
 * err has the line and column (1-based, in bytes) and the field path, as
 * "#3.thread_info.gpregs.ip"; if out->failed, writing failed. */
int text_read_image(const uint8_t *text, size_t len, struct buf *out,
		    struct text_read_result *res, struct crit_error *err);

#endif
