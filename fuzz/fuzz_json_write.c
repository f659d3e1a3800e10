/* libFuzzer harness: image bytes -> crit's JSON (json_write), compact,
 * pretty and --nopl. The first input byte picks the image type (as in
 * fuzz_decode.c), the rest follows its header. Whatever compact JSON is
 * written must be read back (json_read), and writing that image again must
 * give the same JSON: a difference is a bug, the harness aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "json_read.h"
#include "json_write.h"
#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const struct crit_error *e)
{
	fprintf(stderr, "PROPERTY: %s: %s (%s, line %ld col %ld)\n", what, e->msg, e->path,
		e->line, e->column);
	abort();
}

static int write_json(struct buf *out, const uint8_t *img, size_t len, int pretty, int nopl,
		      struct crit_error *err)
{
	struct json_write_opts o = { pretty, nopl, 1 };
	struct json_write_stats st;
	struct image_header h;

	crit_error_clear(err);
	if (image_read_header(img, len, NULL, &h, err))
		return -1;
	return json_write_image(out, &h, img, len, &o, &st, err);
}

/* 1 if protobuf-c unpacks every entry: the writer also shows messages
 * without their required fields, which the reader (as protobuf) refuses
 * or, for a pagemap entry without compat_nr_pages, reads as crit 3.17's. */
static int all_entries_unpack(const uint8_t *img, size_t len)
{
	struct image_header h;
	struct image_cursor c;
	struct entry_loc loc;
	struct crit_error err;
	ProtobufCMessage *m;
	int r;

	if (image_read_header(img, len, NULL, &h, &err))
		return 0;
	image_cursor_init(&c, &h, img, len);
	while ((r = image_cursor_next(&c, &loc, &err)) > 0) {
		m = protobuf_c_message_unpack(schema_entry_desc(h.type, c.index - 1), NULL,
					      loc.msg_len, img + loc.start + 4);
		if (!m)
			return 0;
		protobuf_c_message_free_unpacked(m, NULL);
	}
	return r == 0;
}

/* The JSON of an image must read back into an image that writes the same
 * JSON: the image may differ (fields in number order, unknown fields
 * gone), the JSON may not. */
static void check_fixed_point(const struct buf *json)
{
	struct json_read_result res;
	struct json_reader *r = json_reader_new_memory(json->data, json->len);
	struct crit_error err;
	struct buf img, again;

	if (!r)
		abort();
	buf_init(&img, -1);
	buf_init(&again, -1);
	/* The messages in payloads (ipc_msg) are not checked by
	 * all_entries_unpack: their missing fields are refused here. */
	if (json_read_image(r, &img, &res, &err)) {
		if (!strstr(err.msg, "missing required field"))
			fail("json_read refused json_write's JSON", &err);
		json_reader_free(r);
		buf_free(&img);
		return;
	}
	json_reader_free(r);
	if (write_json(&again, img.data, img.len, 0, 0, &err))
		fail("json_write refused the image read from its own JSON", &err);
	if (again.len != json->len || memcmp(again.data, json->data, json->len))
		fail("JSON changed through an image", &err);
	buf_free(&img);
	buf_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct image_type *t;
	struct crit_error err;
	struct buf img, json;
	uint8_t header[8];
	size_t n, types = 0;
	int mode;

	if (size < 1)
		return 0;
	while (schema_type_at(types))
		types++;
	t = schema_type_at(data[0] % types);
	if (t->layout == LAYOUT_RAW)
		t = schema_by_name("PAGEMAP");
	buf_init(&img, -1);
	n = image_header_bytes(t, header);
	if (buf_put(&img, header, n) || buf_put(&img, data + 1, size - 1))
		abort();
	for (mode = 0; mode < 4; mode++) {
		buf_init(&json, -1);
		if (!write_json(&json, img.data, img.len, mode & 1, mode >> 1, &err) && mode == 0 &&
		    all_entries_unpack(img.data, img.len))
			check_fixed_point(&json);
		buf_free(&json);
	}
	buf_free(&img);
	return 0;
}
