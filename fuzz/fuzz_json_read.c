/* libFuzzer harness: crit's JSON -> image (json_read), from memory and in
 * chunks of random size. Both readers must agree, and whatever is accepted
 * must survive image -> JSON (json_write) -> image byte for byte. A
 * disagreement is a bug: the harness aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "json_read.h"
#include "json_write.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A pipe that hands out 1..97 bytes at a time, the same way on every run. */
struct chunks {
	const uint8_t *p;
	size_t len, pos;
	unsigned seed;
};

static ssize_t read_chunks(void *ctx, uint8_t *p, size_t n)
{
	struct chunks *s = ctx;
	size_t k = 1 + (size_t)(rand_r(&s->seed) % 97);

	if (k > n)
		k = n;
	if (k > s->len - s->pos)
		k = s->len - s->pos;
	memcpy(p, s->p + s->pos, k);
	s->pos += k;
	return (ssize_t)k;
}

static void fail(const char *what, const struct crit_error *e)
{
	fprintf(stderr, "PROPERTY: %s: %s (%s, line %ld col %ld)\n", what, e ? e->msg : "",
		e ? e->path : "", e ? e->line : 0, e ? e->column : 0);
	abort();
}

static int read_json(const uint8_t *p, size_t len, struct buf *out, struct crit_error *err)
{
	struct json_read_result res;
	struct json_reader *r = json_reader_new_memory(p, len);
	int rc;

	if (!r)
		abort();
	rc = json_read_image(r, out, &res, err);
	json_reader_free(r);
	return rc;
}

/* image -> JSON (compact, or pretty with crit's field options) -> image */
static void round_trip(const struct buf *img, int pretty)
{
	struct json_write_opts o = { pretty, 0, 0 };
	struct json_write_stats st;
	struct image_header h;
	struct crit_error err;
	struct buf json, again;

	crit_error_clear(&err);
	if (image_read_header(img->data, img->len, NULL, &h, &err))
		fail("json_read wrote an image without a header", &err);
	buf_init(&json, -1);
	buf_init(&again, -1);
	if (json_write_image(&json, &h, img->data, img->len, &o, &st, &err))
		fail(pretty ? "json_write --pretty refused json_read's image"
			    : "json_write refused json_read's image", &err);
	if (read_json(json.data, json.len, &again, &err))
		fail(pretty ? "json_read refused json_write --pretty's JSON"
			    : "json_read refused json_write's JSON", &err);
	if (again.len != img->len || memcmp(again.data, img->data, img->len))
		fail(pretty ? "image changed through pretty JSON" : "image changed through JSON",
		     NULL);
	buf_free(&json);
	buf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a, b;
	struct crit_error ea, eb;
	struct json_read_result rb;
	struct chunks s = { data, size, 0, (unsigned)size };
	struct json_reader *r;
	int rca, rcb;

	buf_init(&a, -1);
	buf_init(&b, -1);
	rca = read_json(data, size, &a, &ea);
	r = json_reader_new_stream(read_chunks, &s);
	if (!r)
		abort();
	rcb = json_read_image(r, &b, &rb, &eb);
	json_reader_free(r);
	/* a stream is read once: "entries" before "magic" works only in memory */
	if (rcb && strstr(eb.msg, "\"entries\" before \"magic\"")) {
		rcb = rca;
		eb = ea;
		buf_free(&b);
		buf_init(&b, -1);
		if (a.len && buf_put(&b, a.data, a.len))
			abort();
	}
	if (rca != rcb || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len)))
		fail("memory and stream readers disagree", &ea);
	if (rca && (strcmp(ea.msg, eb.msg) || ea.line != eb.line || ea.column != eb.column))
		fail("memory and stream readers fail differently", &eb);
	if (!rca) {
		round_trip(&a, 0);
		round_trip(&a, 1);
	}
	buf_free(&a);
	buf_free(&b);
	return 0;
}
