/* libFuzzer harness: protobuf text format -> image (text_read). Whatever
 * is accepted must survive image -> text (text_write, raw and nice) ->
 * image byte for byte, and the text written must be read again without a
 * complaint. A disagreement is a bug: the harness aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "text_read.h"
#include "text_write.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const struct crit_error *e)
{
	fprintf(stderr, "PROPERTY: %s: %s (%s, line %ld col %ld, entry %ld offset %lu)\n", what,
		e ? e->msg : "", e ? e->path : "", e ? e->line : 0, e ? e->column : 0,
		e ? e->entry : 0, e ? (unsigned long)e->offset : 0);
	abort();
}

/* image -> text (raw or nice) -> image */
static void round_trip(const struct buf *img, int nice)
{
	struct text_write_opts o = { nice, NULL, NULL };
	struct text_write_stats st;
	struct text_read_result res;
	struct image_header h;
	struct crit_error err;
	struct buf text, again;

	crit_error_clear(&err);
	if (image_read_header(img->data, img->len, NULL, &h, &err))
		fail("text_read wrote an image without a header", &err);
	buf_init(&text, -1);
	buf_init(&again, -1);
	if (text_write_image(&text, &h, img->data, img->len, &o, &st, &err))
		fail(nice ? "text_write --nice refused text_read's image"
			  : "text_write refused text_read's image", &err);
	if (!text_read_detect(text.data, text.len))
		fail("text_write's text is not recognised as text", NULL);
	if (text_read_image(text.data ? text.data : (const uint8_t *)"", text.len, &again, &res,
			    &err))
		fail(nice ? "text_read refused text_write --nice's text"
			  : "text_read refused text_write's text", &err);
	if (again.len != img->len || memcmp(again.data, img->data, img->len))
		fail(nice ? "image changed through nice text" : "image changed through text", NULL);
	buf_free(&text);
	buf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct text_read_result res;
	struct crit_error err;
	struct buf img;
	int rc;

	buf_init(&img, -1);
	rc = text_read_image(data, size, &img, &res, &err);
	if (rc && !err.msg[0])
		fail("text_read failed without a message", &err);
	if (!rc) {
		round_trip(&img, 0);
		round_trip(&img, 1);
	}
	buf_free(&img);
	return 0;
}
