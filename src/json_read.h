/* crit encode: crit's JSON back to a CRIU image, directed by the schema and
 * written straight to a buffer, one entry at a time. No Lua, no doubles. */
#ifndef CRIT_JSON_READ_H
#define CRIT_JSON_READ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "error.h"
#include "schema.h"

/* Deeper nesting of arrays and objects is refused (crit's images need
 * less than 10, the document itself 2). */
#define JSON_READ_MAX_DEPTH 64

/* Reads up to n bytes into p: how many, 0 at the end, -1 on an error
 * (errno set). Called again only after it returned more than 0. */
typedef ssize_t (*json_read_fn)(void *ctx, uint8_t *p, size_t n);

struct json_reader;

/* A document in memory (not copied: it must outlive the reader), or one
 * read in chunks through `read` (a pipe is fine: it is never seeked).
 * NULL when out of memory. */
struct json_reader *json_reader_new_memory(const uint8_t *data, size_t len);
struct json_reader *json_reader_new_stream(json_read_fn read, void *ctx);
void json_reader_free(struct json_reader *r); /* NULL is fine */

struct json_read_result {
	const struct image_type *type; /* from "magic"; NULL if not reached */
	uint64_t entries;	       /* entries written */
};

/* Read the whole document (once per reader) and append the image to out:
 * header, then each entry's size, message and payload. Memory stays that
 * of the largest entry when out drains to a file. On error, -1: err has
 * the line and column (1-based, in characters) and the field path, as
 * "entries[3].thread_info.gpregs.ip"; if out->failed, writing failed. */
int json_read_image(struct json_reader *r, struct buf *out, struct json_read_result *res,
		    struct crit_error *err);

#endif
