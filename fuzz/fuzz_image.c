/* libFuzzer harness: an image through the Lua-free core alone (no Lua is
 * linked): framing, then crit's JSON (compact and pretty) and protobuf
 * text format (raw and nice), each read back. protobuf-c is the judge:
 * when it packs every message back to its bytes (no unknown field, zero
 * padding: what criu writes), every round trip must give the image byte
 * for byte; when it reads them otherwise, what comes back must be a fixed
 * point. A difference, or a refusal of our own output, aborts.
 * Input: a type byte and the image body, as fuzz/seeds.lua writes them
 * (0xff: the rest is a whole file, header included). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "image.h"
#include "json_read.h"
#include "json_write.h"
#include "schema.h"
#include "text_read.h"
#include "text_write.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WHOLE_FILE 0xff
/* Pretty JSON and nice text are other layouts of the same walk: over this
 * size only the compact and raw forms go round, which halves the time of
 * the large seeds (a 128 KiB image then takes about 0.1 s). */
#define ALL_LAYOUTS_UP_TO (64 * 1024)

static void fail(const char *what, const struct crit_error *e)
{
	fprintf(stderr, "PROPERTY: %s", what);
	if (e)
		fprintf(stderr, ": %s (%s, entry %ld offset %llu line %ld col %ld)", e->msg,
			e->path, e->entry, (unsigned long long)e->offset, e->line, e->column);
	fputc('\n', stderr);
	abort();
}

/* What an image is, from worst to best. */
enum shape {
	UNFRAMED,     /* the cursor refuses it: every writer must too */
	NOT_PROTOBUF, /* protobuf-c refuses a message (a required field missing...) */
	UNUSUAL,      /* protobuf-c reads every message, but packs one otherwise */
	CANONICAL     /* packed back byte for byte, no unknown field, zero padding:
		       * what criu writes */
};

static enum shape worse(enum shape a, enum shape b)
{
	return a < b ? a : b;
}

/* Whether message m, or one inside it, has fields its type does not know
 * (protobuf-c keeps them, even with numbers protobuf does not allow). */
static int has_unknown_fields(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const ProtobufCFieldDescriptor *f;
	const char *base = (const char *)m;
	ProtobufCMessage *const *sub;
	size_t j, n;
	unsigned i;

	if (m->n_unknown_fields)
		return 1;
	for (i = 0; i < d->n_fields; i++) {
		f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE ||
		    ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		     *(const uint32_t *)(base + f->quantifier_offset) != f->id))
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)(base + f->quantifier_offset);
			sub = *(ProtobufCMessage *const *const *)(base + f->offset);
		} else {
			sub = (ProtobufCMessage *const *)(base + f->offset);
			n = *sub != NULL;
		}
		for (j = 0; j < n; j++)
			if (has_unknown_fields(sub[j]))
				return 1;
	}
	return 0;
}

/* How protobuf-c (the reference codec) reads message `d` from [p, p+len)
 * and packs it back. Fields it does not know it keeps, but crit's JSON
 * leaves them out: they make the message unusual. */
static enum shape message_shape(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len)
{
	static uint8_t *packed;
	static size_t cap;
	ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, p);
	size_t n;
	int same;

	if (!m)
		return NOT_PROTOBUF;
	n = protobuf_c_message_get_packed_size(m);
	if (n > cap) {
		free(packed);
		cap = n;
		packed = malloc(cap);
		if (!packed)
			abort();
	}
	same = n == len && protobuf_c_message_pack(m, packed) == n && (!n || !memcmp(packed, p, n)) &&
	       !has_unknown_fields(m);
	protobuf_c_message_free_unpacked(m, NULL);
	return same ? CANONICAL : UNUSUAL;
}

static int all_zero(const uint8_t *p, uint64_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/* A queue's items (IPC messages) are messages of their own, then padding. */
static enum shape queue_shape(const struct payload_desc *pd, const uint8_t *msg, size_t msg_len,
			      const uint8_t *payload, uint64_t payload_len)
{
	struct image_queue q;
	struct image_queue_item it;
	struct crit_error err;
	enum shape s = CANONICAL;
	const uint8_t *after;
	int r;

	image_queue_init(&q, pd, msg, msg_len, payload, (size_t)payload_len);
	while ((r = image_queue_next(&q, &it, &err)) > 0) {
		s = worse(s, message_shape(pd->item, it.msg, it.msg_len));
		after = it.data + it.data_len;
		if (!all_zero(after, (uint64_t)(q.p - after)))
			s = worse(s, UNUSUAL);
	}
	if (r < 0)
		fail("the cursor took a queue that does not walk", &err);
	return s;
}

/* The payload after a message: padding other than zeros is unusual (the
 * writers put zeros). */
static enum shape payload_shape(const struct payload_desc *pd, const uint8_t *msg,
				size_t msg_len, const uint8_t *payload, uint64_t payload_len)
{
	uint64_t data_len;

	if (pd->kind == PAYLOAD_NONE || pd->rest)
		return CANONICAL;
	if (pd->item)
		return queue_shape(pd, msg, msg_len, payload, payload_len);
	if (image_payload_data_len(pd, msg, msg_len, &data_len) || data_len > payload_len)
		fail("the cursor took a payload longer than its size fields", NULL);
	return all_zero(payload + data_len, payload_len - data_len) ? CANONICAL : UNUSUAL;
}

/* Walk the framing and every entry: the shape of the worst. */
static enum shape image_shape(const struct image_header *h, const uint8_t *img, size_t len)
{
	struct image_cursor c;
	struct entry_loc loc;
	struct crit_error err;
	enum shape s = CANONICAL;
	const uint8_t *msg;
	size_t i;
	int r;

	image_cursor_init(&c, h, img, len);
	while ((r = image_cursor_next(&c, &loc, &err)) > 0) {
		i = c.index - 1;
		msg = img + loc.start + 4;
		s = worse(s, message_shape(schema_entry_desc(h->type, i), msg, loc.msg_len));
		s = worse(s, payload_shape(schema_entry_payload(h->type, i, c.chunked), msg,
					   loc.msg_len, msg + loc.msg_len, loc.payload_len));
	}
	return r < 0 ? UNFRAMED : s;
}

/* crit's JSON names the type alone: an image whose header is not the one
 * new images of the type get (a v1.0 header, IMG_COMMON where criu writes
 * IMG_SERVICE) comes back with that one. Text keeps it ("#FS v1.0"). */
static int usual_header(const struct image_header *h, const uint8_t *img)
{
	uint8_t usual[8];
	size_t n = image_header_bytes(h->type, usual);

	return h->header_len == n && !memcmp(img, usual, n);
}

/* The image as the binding hands it to a writer when it copies a file in
 * as it is walked (lcrit_index_need): a byte is there only once need()
 * asked for it, in whole units. ASan poisons the rest, so that reading a
 * byte not asked for is a finding. (consumed() reports every 2 MiB, past
 * -max_len: the pages let go behind the writer are not checked here.) */
#define NEED_UNIT 64

struct guarded {
	uint8_t *data;
	size_t len;
};

static int guarded_need(void *ctx, uint64_t from, uint64_t to, struct crit_error *err)
{
	struct guarded *g = ctx;
	uint64_t a = from / NEED_UNIT * NEED_UNIT, b = (to + NEED_UNIT - 1) / NEED_UNIT * NEED_UNIT;

	(void)err;
	if (from > to || to > g->len)
		fail("need() asked for bytes past the image", NULL);
	ASAN_UNPOISON_MEMORY_REGION(g->data + a, (size_t)((b < g->len ? b : g->len) - a));
	return 0;
}

static void guard(struct guarded *g, const uint8_t *img, size_t len, const struct image_header *h)
{
	g->len = len;
	g->data = malloc(len ? len : 1);
	if (!g->data)
		abort();
	if (len)
		memcpy(g->data, img, len);
	ASAN_POISON_MEMORY_REGION(g->data + h->header_len, len - h->header_len);
}

static void unguard(struct guarded *g)
{
	ASAN_UNPOISON_MEMORY_REGION(g->data, g->len);
	free(g->data);
}

static int read_json(const struct buf *json, struct buf *img, struct crit_error *err)
{
	struct json_read_result res;
	struct json_reader *r = json_reader_new_memory(json->data, json->len);
	int rc;

	if (!r)
		abort();
	rc = json_read_image(r, img, &res, err);
	json_reader_free(r);
	return rc;
}

static void same_image(const char *what, const struct buf *again, const uint8_t *img, size_t len)
{
	if (again->len != len || (len && memcmp(again->data, img, len)))
		fail(what, NULL);
}

/* Compact JSON is written from a guarded copy, through need(). */
static int write_json(struct buf *json, const struct image_header *h, const uint8_t *img,
		      size_t len, int pretty, struct json_write_stats *st, struct crit_error *err)
{
	struct json_write_opts o = { pretty, 0, 1, NULL, NULL, 0, NULL };
	struct guarded g;
	int rc;

	crit_error_clear(err);
	if (pretty)
		return json_write_image(json, h, img, len, &o, st, err);
	guard(&g, img, len, h);
	o.need = guarded_need;
	o.need_unit = NEED_UNIT;
	o.ctx = &g;
	rc = json_write_image(json, h, g.data, len, &o, st, err);
	unguard(&g);
	return rc;
}

/* Raw text is written from a guarded copy, through need(). */
static int write_text(struct buf *text, const struct image_header *h, const uint8_t *img,
		      size_t len, int nice, struct text_write_stats *st, struct crit_error *err)
{
	struct text_write_opts o = { nice, NULL, NULL, 0, NULL };
	struct guarded g;
	int rc;

	crit_error_clear(err);
	if (nice)
		return text_write_image(text, h, img, len, &o, st, err);
	guard(&g, img, len, h);
	o.need = guarded_need;
	o.need_unit = NEED_UNIT;
	o.ctx = &g;
	rc = text_write_image(text, h, g.data, len, &o, st, err);
	unguard(&g);
	return rc;
}

/* An image read from our own JSON or text must come back through it as it
 * is: what is written of it is what it was read from. */
static void check_fixed_point(const char *what, const struct buf *doc, const struct buf *img,
			      int text)
{
	struct json_write_stats js;
	struct text_write_stats ts;
	struct image_header h;
	struct crit_error err;
	struct buf again;

	buf_init(&again, -1);
	if (image_read_header(img->data, img->len, NULL, &h, &err))
		fail("a reader wrote an image without a header", &err);
	if (text ? write_text(&again, &h, img->data, img->len, 0, &ts, &err)
		 : write_json(&again, &h, img->data, img->len, 0, &js, &err))
		fail("a writer refused the image its reader wrote", &err);
	if (again.len != doc->len || (doc->len && memcmp(again.data, doc->data, doc->len)))
		fail(what, NULL);
	buf_free(&again);
}

/* image -> crit's JSON -> image. Any image that frames is written or
 * refused with a message; a canonical one comes back unchanged; from any
 * other that protobuf-c reads, the image read back from its JSON is a fixed
 * point. (Not from those protobuf-c refuses: a pagemap entry without
 * compat_nr_pages is shown as crit 3.17 showed it, and read back so.) */
static void json_round_trip(const struct image_header *h, const uint8_t *img, size_t len,
			    int pretty, enum shape s)
{
	struct json_write_stats st;
	struct crit_error err;
	struct buf json, again;

	buf_init(&json, -1);
	buf_init(&again, -1);
	if (write_json(&json, h, img, len, pretty, &st, &err)) {
		if (!err.msg[0])
			fail("json_write failed without a message", &err);
		if (s == CANONICAL)
			fail("json_write refused a canonical image", &err);
	} else if (s == UNFRAMED) {
		fail("json_write took an image that does not frame", NULL);
	} else if (s == CANONICAL && !st.unknown_fields) {
		if (read_json(&json, &again, &err))
			fail(pretty ? "json_read refused json_write --pretty's JSON"
				    : "json_read refused json_write's JSON", &err);
		same_image(pretty ? "image changed through pretty JSON" : "image changed through JSON",
			   &again, img, len);
	} else if (s >= UNUSUAL && !pretty && !read_json(&json, &again, &err)) {
		check_fixed_point("JSON changed through the image read from it", &json, &again, 0);
	}
	buf_free(&json);
	buf_free(&again);
}

/* image -> protobuf text format -> image, as json_round_trip; the text
 * keeps unknown fields (by number), and a missing required field. */
static void text_round_trip(const struct image_header *h, const uint8_t *img, size_t len,
			    int nice, enum shape s)
{
	struct text_write_stats st;
	struct text_read_result res;
	struct crit_error err;
	struct buf text, again;
	int rc;

	buf_init(&text, -1);
	buf_init(&again, -1);
	if (write_text(&text, h, img, len, nice, &st, &err)) {
		if (!err.msg[0])
			fail("text_write failed without a message", &err);
		if (s == CANONICAL)
			fail("text_write refused a canonical image", &err);
	} else if (s == UNFRAMED) {
		fail("text_write took an image that does not frame", NULL);
	} else if (s == CANONICAL || !nice) {
		rc = text_read_image(text.data ? text.data : (const uint8_t *)"", text.len, &again,
				     &res, &err);
		if (rc && s == CANONICAL)
			fail(nice ? "text_read refused text_write --nice's text"
				  : "text_read refused text_write's text", &err);
		if (s == CANONICAL)
			same_image(nice ? "image changed through nice text" : "image changed through text",
				   &again, img, len);
		else if (!rc)
			check_fixed_point("text changed through the image read from it", &text, &again, 1);
	}
	buf_free(&text);
	buf_free(&again);
}

/* The image the input stands for: the header of the type the first byte
 * picks (raw types have no entries: PAGEMAP instead), then the rest. */
static void build_image(const uint8_t *data, size_t size, struct buf *img)
{
	const struct image_type *t;
	uint8_t header[8];
	size_t types = 0;

	while (schema_type_at(types))
		types++;
	if (data[0] != WHOLE_FILE) {
		t = schema_type_at(data[0] % types);
		if (t->layout == LAYOUT_RAW)
			t = schema_by_name("PAGEMAP");
		if (buf_put(img, header, image_header_bytes(t, header)))
			abort();
	}
	if (buf_put(img, data + 1, size - 1))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_header h;
	struct crit_error err;
	struct buf img;
	enum shape s;
	int mode;

	if (size < 1)
		return 0;
	buf_init(&img, -1);
	build_image(data, size, &img);
	if (!image_read_header(img.data, img.len, NULL, &h, &err)) {
		s = image_shape(&h, img.data, img.len);
		for (mode = 0; mode < (img.len <= ALL_LAYOUTS_UP_TO ? 2 : 1); mode++) {
			json_round_trip(&h, img.data, img.len, mode,
					usual_header(&h, img.data) ? s : worse(s, UNUSUAL));
			text_round_trip(&h, img.data, img.len, mode, s);
		}
	}
	buf_free(&img);
	return 0;
}
