/* CRIU images as protobuf text format, written from the wire bytes and
 * driven by the protobuf-c descriptors: no unpacking, no Lua, no floating
 * point. The layout (text_read.c reads both):
 *
 *   #CORE                  the image: its magic by name ("nice") or number
 *                          ("raw", "#0x54564319"); " v1.0" when the image
 *                          has the v1.0 header, not the one new images get
 *   #0 core_entry          each entry: its index, and in "nice" its type
 *   mtype: X86_64          its fields, in wire order, as protoc prints them
 *   #extra "\001\002..."   the payload after the entry (pipe data, queues,
 *                          ...) as it lies in the image, padding included,
 *                          on as many lines as it takes
 *
 * Nothing is lost: every field is written as it lies on the wire, so that
 * the reader writes the same bytes back.
 *  - A packed repeated field is one list, "vmas: [1, 2]"; the same values
 *    unpacked are one line each, "vmas: 1".
 *  - A field the schema does not know, or whose wire value its type cannot
 *    hold (a uint32 over 32 bits, a bool of 2, the wrong wire type), is
 *    written by number as protoc --decode writes unknown fields: a varint
 *    in decimal, a fixed32 as 0x and 8 hex digits, a fixed64 as 0x and 16,
 *    length-delimited data as a string.
 *  - Strings and bytes are escaped as protobuf's CEscape does (\n \r \t
 *    \" \' \\, other bytes outside ' '..'~' in octal); "nice" leaves valid
 *    UTF-8 in string fields as it is.
 * Malformed wire data (a field that does not read, a message field that
 * is not a message, nesting deeper than TEXT_MAX_DEPTH) is an error with
 * its field path and byte offset. A varint written in more bytes than it
 * needs (protobuf-c never does) comes back in its shortest form. */
#include "text_write.h"

#include <stdio.h>
#include <string.h>

#include "schema.h"
#include "wire.h"

#define OPT_CACHE_SIZE 256  /* fields whose (criu).hex is remembered */
#define EXTRA_LINE 64	    /* payload bytes per #extra line, at most */
#define CONSUMED_STEP (2u << 20)

struct tw {
	struct buf *out;
	int nice;
	struct text_write_stats *st;
	struct crit_error *err;
	struct {
		const ProtobufCFieldDescriptor *f;
		int hex;
	} opts[OPT_CACHE_SIZE];
};

/* A message's bytes and the image offset of its first byte. */
struct view {
	const uint8_t *p;
	size_t len;
	uint64_t off;
};

static int fail_at(struct tw *w, const struct view *v, const uint8_t *at, const char *what)
{
	w->err->offset = v->off + (uint64_t)(at - v->p);
	return crit_fail(w->err, "%s", what);
}

/* ------------------------------------------------------------------ */
/* Layout                                                               */

static void put_indent(struct tw *w, int depth)
{
	int n = 2 * (depth + (w->nice ? 1 : 0));

	while (n-- > 0)
		buf_putc(w->out, ' ');
}

static void put_hex(struct tw *w, uint64_t v, int min_digits)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[18];
	int i = sizeof(tmp), n = 0;

	while (v || n < min_digits || n == 0) {
		tmp[--i] = digits[v & 15];
		v >>= 4;
		n++;
	}
	tmp[--i] = 'x';
	tmp[--i] = '0';
	buf_put(w->out, tmp + i, sizeof(tmp) - (size_t)i);
}

/* The length of the valid UTF-8 sequence of two bytes or more at p, or 0:
 * overlong forms, surrogates and values past U+10FFFF are not valid. */
static size_t utf8_length(const uint8_t *p, const uint8_t *end)
{
	size_t n, i;
	uint32_t v, min;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	if (p[0] < 0xe0)
		n = 2, v = p[0] & 0x1fu, min = 0x80;
	else if (p[0] < 0xf0)
		n = 3, v = p[0] & 0x0fu, min = 0x800;
	else
		n = 4, v = p[0] & 0x07u, min = 0x10000;
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3fu);
	}
	return v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ? 0 : n;
}

/* A quoted string, escaped as CEscape escapes; `utf8`: valid multibyte
 * sequences are written as they are. */
static void put_string(struct tw *w, const uint8_t *p, size_t len, int utf8)
{
	const uint8_t *end = len ? p + len : p;

	buf_putc(w->out, '"');
	while (p < end) {
		uint8_t c = *p;
		size_t n;
		char esc[4];

		if (c >= ' ' && c <= '~' && c != '"' && c != '\'' && c != '\\') {
			buf_putc(w->out, c);
		} else if (c == '\n' || c == '\r' || c == '\t' || c == '"' || c == '\'' ||
			   c == '\\') {
			esc[0] = '\\';
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : (char)c;
			buf_put(w->out, esc, 2);
		} else if (utf8 && (n = utf8_length(p, end))) {
			buf_put(w->out, p, n);
			p += n;
			continue;
		} else {
			esc[0] = '\\';
			esc[1] = (char)('0' + (c >> 6));
			esc[2] = (char)('0' + (c >> 3 & 7));
			esc[3] = (char)('0' + (c & 7));
			buf_put(w->out, esc, 4);
		}
		p++;
	}
	buf_putc(w->out, '"');
}

/* ------------------------------------------------------------------ */
/* Values                                                               */

/* Whether the field is printed in hex: (criu).hex on it or on a message
 * around it, in "nice" only, for unsigned types. */
static int field_hex(struct tw *w, const ProtobufCMessageDescriptor *d,
		     const ProtobufCFieldDescriptor *f, int inherited)
{
	size_t slot = ((uintptr_t)f >> 4) % OPT_CACHE_SIZE;
	const struct criu_field_opt *opt;

	if (!w->nice)
		return 0;
	if (inherited)
		return 1;
	if (w->opts[slot].f != f) {
		opt = schema_field_opt(d, f);
		w->opts[slot].f = f;
		w->opts[slot].hex = opt && (opt->bits & CRIU_OPT_HEX);
	}
	return w->opts[slot].hex;
}

/* Whether `bits`, read as a field of type t is read, is a value of t
 * that writing it back gives the same bits. */
static int value_fits(ProtobufCType t, uint64_t bits)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_ENUM:
		return (int64_t)bits >= INT32_MIN && (int64_t)bits <= INT32_MAX;
	case PROTOBUF_C_TYPE_SINT32:
		return wire_unzigzag(bits) >= INT32_MIN && wire_unzigzag(bits) <= INT32_MAX;
	case PROTOBUF_C_TYPE_UINT32:
		return bits <= UINT32_MAX;
	case PROTOBUF_C_TYPE_BOOL:
		return bits <= 1;
	default:
		return 1;
	}
}

static void put_scalar(struct tw *w, const ProtobufCFieldDescriptor *f, uint64_t bits, int hex)
{
	const ProtobufCEnumValue *ev;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		buf_put_i64(w->out, (int64_t)bits);
		break;
	case PROTOBUF_C_TYPE_SFIXED32:
		buf_put_i64(w->out, (int32_t)(uint32_t)bits);
		break;
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SINT64:
		buf_put_i64(w->out, wire_unzigzag(bits));
		break;
	case PROTOBUF_C_TYPE_BOOL:
		buf_put_str(w->out, bits ? "true" : "false");
		break;
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(f->descriptor, (int)(int64_t)bits);
		if (ev)
			buf_put_str(w->out, ev->name);
		else
			buf_put_i64(w->out, (int64_t)bits);
		break;
	default: /* UINT32, UINT64, FIXED32, FIXED64 */
		if (hex)
			put_hex(w, bits, 1);
		else
			buf_put_u64(w->out, bits);
		break;
	}
}

/* The next element of a packed list at *p; 0 at the end, -1 if it does
 * not read. */
static int next_packed(ProtobufCType t, const uint8_t **p, const uint8_t *end, uint64_t *bits)
{
	size_t n;

	if (*p == end)
		return 0;
	switch (wire_type_of(t)) {
	case WIRE_I32:
		if (end - *p < 4)
			return -1;
		*bits = wire_le32(*p);
		n = 4;
		break;
	case WIRE_I64:
		if (end - *p < 8)
			return -1;
		*bits = wire_le64(*p);
		n = 8;
		break;
	default:
		n = wire_read_varint(*p, end, bits);
		if (!n)
			return -1;
		break;
	}
	*p += n;
	return 1;
}

/* A packed record whose every element reads and fits its type. */
static int packed_fits(const ProtobufCFieldDescriptor *f, const struct wire_field *wf)
{
	const uint8_t *p = wf->data, *end = wf->data + wf->len;
	uint64_t bits;
	int r;

	while ((r = next_packed(f->type, &p, end, &bits)) > 0)
		if (!value_fits(f->type, bits))
			return 0;
	return r == 0;
}

static void put_packed(struct tw *w, const ProtobufCFieldDescriptor *f,
		       const struct wire_field *wf, int hex)
{
	const uint8_t *p = wf->data, *end = wf->data + wf->len;
	uint64_t bits;
	int first = 1;

	buf_putc(w->out, '[');
	while (next_packed(f->type, &p, end, &bits) > 0) {
		if (!first)
			buf_put(w->out, ", ", 2);
		first = 0;
		put_scalar(w, f, bits, hex);
	}
	buf_putc(w->out, ']');
}

/* A field by number, as protoc --decode writes what it does not know. */
static void put_numbered(struct tw *w, const struct wire_field *wf, int depth)
{
	put_indent(w, depth);
	buf_put_u64(w->out, wf->number);
	buf_put(w->out, ": ", 2);
	switch (wf->type) {
	case WIRE_I32:
		put_hex(w, wf->value, 8);
		break;
	case WIRE_I64:
		put_hex(w, wf->value, 16);
		break;
	case WIRE_LEN:
		put_string(w, wf->data, wf->len, 0);
		break;
	default:
		buf_put_u64(w->out, wf->value);
		break;
	}
	buf_putc(w->out, '\n');
}

/* ------------------------------------------------------------------ */
/* Messages                                                             */

static int write_fields(struct tw *w, const struct view *v, const ProtobufCMessageDescriptor *d,
			int hex, int depth);

static int write_message_field(struct tw *w, const struct view *v,
			       const ProtobufCFieldDescriptor *f, const struct wire_field *wf,
			       int hex, int depth)
{
	struct view sub = { wf->data, wf->len, v->off + (uint64_t)(wf->data - v->p) };

	put_indent(w, depth);
	buf_put_str(w->out, f->name);
	buf_put(w->out, " {\n", 3);
	if (write_fields(w, &sub, f->descriptor, hex, depth + 1))
		return -1;
	put_indent(w, depth);
	buf_put(w->out, "}\n", 2);
	return 0;
}

/* One field as it lies on the wire: by name when its type holds it, by
 * number otherwise. */
static int write_field(struct tw *w, const struct view *v, const ProtobufCMessageDescriptor *d,
		       const struct wire_field *wf, int hex, int depth)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, wf->number);
	enum wire_type wt;
	int packed;

	if (!f) {
		w->st->unknown_fields++;
		put_numbered(w, wf, depth);
		return 0;
	}
	wt = wire_type_of(f->type);
	packed = f->label == PROTOBUF_C_LABEL_REPEATED && wire_packable(f->type) &&
		 wf->type == WIRE_LEN;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE && wf->type == WIRE_LEN) {
		if (write_message_field(w, v, f, wf, hex || field_hex(w, d, f, 0), depth)) {
			crit_error_push_path(w->err, f->name, -1);
			return -1;
		}
		return 0;
	}
	if (packed ? !packed_fits(f, wf) : wf->type != wt || !value_fits(f->type, wf->value)) {
		put_numbered(w, wf, depth);
		return 0;
	}
	put_indent(w, depth);
	buf_put_str(w->out, f->name);
	buf_put(w->out, ": ", 2);
	if (packed)
		put_packed(w, f, wf, field_hex(w, d, f, hex));
	else if (wt == WIRE_LEN)
		put_string(w, wf->data, wf->len, w->nice && f->type == PROTOBUF_C_TYPE_STRING);
	else
		put_scalar(w, f, wf->value, field_hex(w, d, f, hex));
	buf_putc(w->out, '\n');
	return 0;
}

static int write_fields(struct tw *w, const struct view *v, const ProtobufCMessageDescriptor *d,
			int hex, int depth)
{
	const uint8_t *p = v->p, *end = v->p + v->len;

	if (depth > TEXT_MAX_DEPTH)
		return fail_at(w, v, p, "nesting too deep");
	while (p < end) {
		struct wire_field wf;
		size_t n = wire_read_field(p, end, &wf);

		if (!n) {
			uint32_t number = wire_field_number(p, end);
			const ProtobufCFieldDescriptor *f =
				number ? protobuf_c_message_descriptor_get_field(d, number) : NULL;

			fail_at(w, v, p, wire_field_error(p, end));
			if (f) /* a value that does not read: say whose */
				crit_error_push_path(w->err, f->name, -1);
			return -1;
		}
		if (write_field(w, v, d, &wf, hex, depth))
			return -1;
		p += n;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Entries and images                                                   */

/* The payload as it lies after the message, EXTRA_LINE bytes a line at
 * most, and a line ends after each newline byte, so that text reads as
 * text. */
static void write_payload(struct tw *w, const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len;

	while (p < end) {
		size_t n = (size_t)(end - p) < EXTRA_LINE ? (size_t)(end - p) : EXTRA_LINE;
		const uint8_t *nl = memchr(p, '\n', n);

		if (nl)
			n = (size_t)(nl - p) + 1;
		buf_put_str(w->out, TEXT_EXTRA " ");
		put_string(w, p, n, 0);
		buf_putc(w->out, '\n');
		p += n;
	}
}

static int write_entry(struct tw *w, const struct image_header *h, const uint8_t *data,
		       size_t index, const struct entry_loc *loc)
{
	const ProtobufCMessageDescriptor *d = schema_entry_desc(h->type, index);
	struct view msg = { data + loc->start + 4, loc->msg_len, loc->start + 4 };

	w->err->entry = (long)index;
	buf_putc(w->out, '#');
	buf_put_u64(w->out, index);
	if (w->nice) {
		buf_putc(w->out, ' ');
		buf_put_str(w->out, d->name);
	}
	buf_putc(w->out, '\n');
	if (write_fields(w, &msg, d, 0, 0))
		return -1;
	write_payload(w, msg.p + msg.len, (size_t)loc->payload_len);
	if (w->out->failed)
		return crit_fail(w->err, "cannot write the text: %s", strerror(w->out->saved_errno));
	return 0;
}

/* "#CORE" or "#0x54564319", and the header's version when it is not the
 * one image_header_bytes gives new images of the type. */
static void write_header(struct tw *w, const struct image_header *h, const uint8_t *data)
{
	uint8_t usual[8];
	size_t n = image_header_bytes(h->type, usual);

	buf_putc(w->out, '#');
	if (w->nice)
		buf_put_str(w->out, h->type->name);
	else
		put_hex(w, h->type->magic, 8);
	if (h->header_len != n || memcmp(data, usual, n) != 0) {
		buf_put_str(w->out, h->header_len == 4 ? " v1.0" : " v1.1");
		if (h->header_len == 8 && memcmp(data, usual, 4) != 0) {
			buf_putc(w->out, ' ');
			put_hex(w, h->first_magic, 8);
		}
	}
	buf_putc(w->out, '\n');
}

int text_write_image(struct buf *out, const struct image_header *h, const uint8_t *data,
		     size_t len, const struct text_write_opts *o, struct text_write_stats *st,
		     struct crit_error *err)
{
	struct tw w;
	struct image_cursor c;
	struct entry_loc loc;
	uint64_t reported = 0;
	int r;

	memset(&w, 0, sizeof(w));
	memset(st, 0, sizeof(*st));
	w.out = out;
	w.nice = o->nice;
	w.st = st;
	w.err = err;
	if (h->type->layout == LAYOUT_RAW)
		return crit_fail(err, "a raw image has no entries to write as text");
	write_header(&w, h, data);
	image_cursor_init(&c, h, data, len);
	c.need = o->need;
	c.need_unit = o->need_unit;
	c.need_ctx = o->ctx;
	while ((r = image_cursor_next(&c, &loc, err)) > 0) {
		if (write_entry(&w, h, data, c.index - 1, &loc))
			return -1;
		st->entries++;
		if (o->consumed && c.pos - reported >= CONSUMED_STEP) {
			o->consumed(o->ctx, c.pos);
			reported = c.pos;
		}
	}
	if (r < 0)
		return -1;
	if (out->failed)
		return crit_fail(err, "cannot write the text: %s", strerror(out->saved_errno));
	return 0;
}
