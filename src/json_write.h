/* CRIU images as crit 4.2's JSON, written straight from the wire bytes:
 * `crit decode` (compact) and `crit show` (pretty) byte for byte. */
#ifndef CRIT_JSON_WRITE_H
#define CRIT_JSON_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "image.h"

/* Messages nested deeper than this are refused (msg.h's MSG_MAX_DEPTH). */
#define JSON_WRITE_MAX_DEPTH 64

/* crit's words when it is given a raw image (pages-N.img). */
#define JSON_WRITE_RAW_MSG "Maybe you are feeding me an image with raw data(i.e. pages.img)?"

struct json_write_opts {
	int pretty;  /* crit show, decode --pretty: indent 4, (criu) field options */
	int nopl;    /* crit show --nopl: each payload as its size */
	int newline; /* end with "\n", as crit does when it writes to stdout */
	/* When not NULL, called as the writer moves on with the offset of the
	 * image below which it reads nothing more: a mapped file's pages
	 * there can be dropped, so that memory does not grow with the image. */
	void (*consumed)(void *ctx, uint64_t offset);
	/* When not NULL, asked for bytes before they are read (image_cursor.need). */
	int (*need)(void *ctx, uint64_t from, uint64_t to, struct crit_error *err);
	uint64_t need_unit; /* need() makes whole units readable (image_cursor) */
	void *ctx;
};

struct json_write_stats {
	uint64_t entries;	 /* entries written */
	uint64_t unknown_fields; /* fields the schema does not know: skipped, as crit does */
};

/* The whole image: {"magic": ..., "entries": [...]}. Entries are read one
 * at a time, so memory stays constant when `out` drains to a file. On
 * error (-1) `err` says where, and `out` holds a partial document. */
int json_write_image(struct buf *out, const struct image_header *h, const uint8_t *data,
		     size_t len, const struct json_write_opts *o, struct json_write_stats *st,
		     struct crit_error *err);

/* Entry `index` (0-based) of the image `data`, found at `loc`, as a
 * top-level JSON value. `chunked`: the ghost file's first entry has chunks. */
int json_write_entry(struct buf *out, const struct image_header *h, const uint8_t *data,
		     size_t index, int chunked, const struct entry_loc *loc,
		     const struct json_write_opts *o, struct json_write_stats *st,
		     struct crit_error *err);

#endif
