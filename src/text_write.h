/* CRIU images in protobuf text format, written straight from the wire
 * bytes: `crit.lua decode --format txt [--nice]`. text_read.c reads it back
 * into the same bytes. */
#ifndef CRIT_TEXT_WRITE_H
#define CRIT_TEXT_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "image.h"

/* Messages nested deeper than this are refused (as JSON_WRITE_MAX_DEPTH). */
#define TEXT_MAX_DEPTH 64

/* The directive that carries an entry's payload, on lines of its own. */
#define TEXT_EXTRA "#extra"

struct text_write_opts {
	/* 0, "raw": "#0x54564319", "#0", fields as protoc --decode prints
	 * them. 1, "nice": "#CORE", "#0 core_entry", fields indented, hex
	 * fields ((criu).hex) in hex, UTF-8 strings unescaped. */
	int nice;
	/* As json_write_opts.consumed: the offset below which the writer
	 * reads nothing more, so that a mapped file's pages can go. */
	void (*consumed)(void *ctx, uint64_t offset);
	/* When not NULL, asked for bytes before they are read (image_cursor.need). */
	int (*need)(void *ctx, uint64_t from, uint64_t to, struct crit_error *err);
	uint64_t need_unit; /* need() makes whole units readable (image_cursor) */
	void *ctx;
};

struct text_write_stats {
	uint64_t entries;	 /* entries written */
	uint64_t unknown_fields; /* fields the schema does not know: written by number */
};

/* The whole image, one entry at a time. On error (-1) `err` says where
 * (entry, byte offset, field path) and `out` holds a partial text. */
int text_write_image(struct buf *out, const struct image_header *h, const uint8_t *data,
		     size_t len, const struct text_write_opts *o, struct text_write_stats *st,
		     struct crit_error *err);

#endif
