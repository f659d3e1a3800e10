/* Protobuf text format, as text_write.c writes it (raw or nice), back to a
 * CRIU image. Fields are written in the order they come, each as the text
 * gives it: a list "f: [1, 2]" is one packed record, "f: 1" lines are one
 * record each, a field by number ("12: 5", "12: 0x0000abcd" for a fixed32,
 * 16 hex digits for a fixed64, "12: \"...\"" or "12 { ... }") is written as
 * protoc would read it. So a decoded image is encoded to the same bytes.
 *
 * Beyond what text_write.c writes, the reader takes what the text format
 * allows: fields in any order, "name: {" or "name <...>", ',' or ';'
 * after a field, adjacent strings concatenated, '...' strings, \x and \a
 * escapes, hex and octal integers, True/False/t/f for bools, comments (a
 * '#' line that is not a directive). Integers are exact to 64 bits.
 *
 * What it refuses, naming the line, column and field path: an unknown field
 * or enum name, a missing required field, a value out of its type's range, a list for a field that is
 * not repeated, a payload whose size disagrees with its entry's size fields
 * (lua-crit does not guess), an entry of the wrong type ("#0 core_entry" in
 * a pagemap). */
#include "text_read.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "conv.h"
#include "image.h"
#include "text_write.h"
#include "wire.h"

#define NAME_MAX_LEN 128
#define REQUIRED_MAX 256 /* fields checked for presence; CRIU's messages have fewer */

struct tr {
	const uint8_t *p, *end;
	const uint8_t *line_start;
	long line;
	struct crit_error *err;
	struct buf entry; /* the entry being built: size, message, payload */
	const struct image_type *type;
	size_t index;	  /* of the entry being built */
	int chunked;	  /* ghost file: the first entry has chunks */
};

/* ------------------------------------------------------------------ */
/* Characters, blanks and errors                                        */

static int fail(struct tr *r, const char *fmt, const char *arg)
{
	r->err->line = r->line;
	r->err->column = (long)(r->p - r->line_start) + 1;
	return crit_fail(r->err, fmt, arg);
}

static int out_of_memory(struct tr *r)
{
	return fail(r, "%s", "out of memory");
}

static int at_end(const struct tr *r)
{
	return r->p >= r->end;
}

static int peek(const struct tr *r)
{
	return r->p < r->end ? *r->p : -1;
}

static int is_ident_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident(int c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int starts(const struct tr *r, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(r->end - r->p) >= n && memcmp(r->p, s, n) == 0;
}

/* "#extra" or "#N": the lines that frame entries; any other '#' starts a
 * comment. */
static int at_extra(const struct tr *r)
{
	size_t n = strlen(TEXT_EXTRA);

	return starts(r, TEXT_EXTRA) && r->p + n < r->end &&
	       (r->p[n] == ' ' || r->p[n] == '\t' || r->p[n] == '"' || r->p[n] == '\'');
}

static int at_entry(const struct tr *r)
{
	return starts(r, "#") && r->p + 1 < r->end && is_digit(r->p[1]);
}

static int at_directive(const struct tr *r)
{
	return at_entry(r) || at_extra(r);
}

static void newline(struct tr *r)
{
	r->line++;
	r->line_start = r->p;
}

static void skip_to_eol(struct tr *r)
{
	while (r->p < r->end && *r->p != '\n')
		r->p++;
}

/* Spaces within a line. */
static void skip_spaces(struct tr *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\r'))
		r->p++;
}

/* White space, newlines and comments, up to a token or a directive. */
static void skip_blank(struct tr *r)
{
	while (r->p < r->end) {
		if (*r->p == '\n') {
			r->p++;
			newline(r);
		} else if (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\f' ||
			   *r->p == '\v') {
			r->p++;
		} else if (*r->p == '#' && !at_directive(r)) {
			skip_to_eol(r);
		} else {
			break;
		}
	}
}

/* The rest of a directive's line must be empty. */
static int end_of_line(struct tr *r)
{
	skip_spaces(r);
	if (starts(r, "#") && !at_directive(r))
		skip_to_eol(r); /* a comment */
	if (r->p < r->end && *r->p != '\n')
		return fail(r, "%s", "unexpected text at the end of the line");
	return 0;
}

/* An identifier into name; 0 if there is none here. */
static size_t read_ident(struct tr *r, char name[NAME_MAX_LEN])
{
	size_t n = 0;

	if (!is_ident_start(peek(r)))
		return 0;
	while (r->p + n < r->end && is_ident(r->p[n]))
		n++;
	if (n >= NAME_MAX_LEN)
		return 0;
	memcpy(name, r->p, n);
	name[n] = 0;
	r->p += n;
	return n;
}

/* ------------------------------------------------------------------ */
/* Numbers                                                              */

struct number {
	int negative;
	uint64_t magnitude;
	size_t hex_digits; /* 0 when not written in hex */
};

/* An integer: decimal, 0x hex or 0 octal, with an optional '-'. */
static int read_number(struct tr *r, struct number *n)
{
	unsigned base = 10;
	size_t digits = 0;

	memset(n, 0, sizeof(*n));
	if (peek(r) == '-') {
		n->negative = 1;
		r->p++;
	}
	if (!is_digit(peek(r)))
		return fail(r, "%s", "a number expected");
	if (starts(r, "0x") || starts(r, "0X")) {
		base = 16;
		r->p += 2;
	} else if (starts(r, "0") && r->p + 1 < r->end && is_digit(r->p[1])) {
		base = 8;
		r->p++;
	}
	while (r->p < r->end && conv_digit_value(*r->p) < (int)base) {
		unsigned d = (unsigned)conv_digit_value(*r->p);

		if (n->magnitude > (UINT64_MAX - d) / base)
			return fail(r, "%s", "number out of range");
		n->magnitude = n->magnitude * base + d;
		r->p++;
		digits++;
	}
	if (!digits || is_ident(peek(r)) || peek(r) == '.')
		return fail(r, "%s", "not an integer");
	if (base == 16)
		n->hex_digits = digits;
	return 0;
}

/* The number as the bits of a field of type t, checked against its range. */
static int number_bits(struct tr *r, const struct number *n, ProtobufCType t, uint64_t *bits)
{
	int is_signed = t == PROTOBUF_C_TYPE_INT32 || t == PROTOBUF_C_TYPE_SINT32 ||
			t == PROTOBUF_C_TYPE_SFIXED32 || t == PROTOBUF_C_TYPE_ENUM ||
			t == PROTOBUF_C_TYPE_INT64 || t == PROTOBUF_C_TYPE_SINT64 ||
			t == PROTOBUF_C_TYPE_SFIXED64;
	int wide = t == PROTOBUF_C_TYPE_INT64 || t == PROTOBUF_C_TYPE_SINT64 ||
		   t == PROTOBUF_C_TYPE_SFIXED64 || t == PROTOBUF_C_TYPE_UINT64 ||
		   t == PROTOBUF_C_TYPE_FIXED64;
	uint64_t max = wide ? (is_signed ? INT64_MAX : UINT64_MAX)
			    : (is_signed ? INT32_MAX : UINT32_MAX);
	int64_t v;

	if (n->negative && n->magnitude) {
		if (!is_signed || n->magnitude > max + 1)
			return fail(r, "value out of range for a %s", wire_type_name(t));
		v = (int64_t)(0 - n->magnitude);
	} else {
		if (n->magnitude > max)
			return fail(r, "value out of range for a %s", wire_type_name(t));
		v = (int64_t)n->magnitude;
	}
	if (t == PROTOBUF_C_TYPE_SINT32 || t == PROTOBUF_C_TYPE_SINT64)
		*bits = wire_zigzag(v);
	else if (t == PROTOBUF_C_TYPE_SFIXED32)
		*bits = (uint32_t)v;
	else
		*bits = (uint64_t)v;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Strings                                                              */

static int read_escape(struct tr *r, struct buf *dst)
{
	static const char simple_from[] = "abfnrtv\\'\"?";
	static const char simple_to[] = "\a\b\f\n\r\t\v\\'\"?";
	const char *s;
	unsigned v = 0, i;
	int c;

	r->p++; /* the backslash */
	if (at_end(r))
		return fail(r, "%s", "unterminated string");
	c = *r->p;
	if (c && (s = strchr(simple_from, c))) {
		r->p++;
		return buf_putc(dst, (uint8_t)simple_to[s - simple_from]);
	}
	if (c >= '0' && c <= '7') {
		for (i = 0; i < 3 && r->p < r->end && *r->p >= '0' && *r->p <= '7'; i++)
			v = v * 8 + (unsigned)(*r->p++ - '0');
		if (v > 255)
			return fail(r, "%s", "octal escape over \\377");
		return buf_putc(dst, (uint8_t)v);
	}
	if (c == 'x' || c == 'X') {
		r->p++;
		for (i = 0; i < 2 && r->p < r->end && conv_digit_value(*r->p) < 16; i++)
			v = v * 16 + (unsigned)conv_digit_value(*r->p++);
		if (!i)
			return fail(r, "%s", "\\x without hex digits");
		return buf_putc(dst, (uint8_t)v);
	}
	return fail(r, "%s", "unknown escape in string");
}

/* One quoted string, appended to dst. */
static int read_quoted(struct tr *r, struct buf *dst)
{
	uint8_t quote = *r->p++;

	for (;;) {
		const uint8_t *start = r->p;

		while (r->p < r->end && *r->p != quote && *r->p != '\\' && *r->p != '\n')
			r->p++;
		if (buf_put(dst, start, (size_t)(r->p - start)))
			return out_of_memory(r);
		if (at_end(r) || *r->p == '\n')
			return fail(r, "%s", "unterminated string");
		if (*r->p == quote) {
			r->p++;
			return 0;
		}
		if (read_escape(r, dst))
			return -1;
	}
}

static int at_quote(const struct tr *r)
{
	return peek(r) == '"' || peek(r) == '\'';
}

/* Adjacent strings, concatenated (a field value; blanks between). */
static int read_strings(struct tr *r, struct buf *dst)
{
	if (!at_quote(r))
		return fail(r, "%s", "a string expected");
	do {
		if (read_quoted(r, dst))
			return -1;
		skip_blank(r);
	} while (at_quote(r));
	return dst->failed ? out_of_memory(r) : 0;
}

/* ------------------------------------------------------------------ */
/* Fields                                                               */

static int read_fields(struct tr *r, const ProtobufCMessageDescriptor *d, int closer, int depth);

/* A scalar value of field f, written without its key. */
static int put_value(struct tr *r, const ProtobufCFieldDescriptor *f)
{
	struct buf *b = &r->entry;
	char name[NAME_MAX_LEN];
	const ProtobufCEnumValue *ev;
	struct number n;
	uint64_t bits = 0;

	if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES) {
		struct buf s;
		int rc;

		/* The length comes first: the string is read aside. */
		buf_init(&s, -1);
		rc = read_strings(r, &s);
		if (!rc && (wire_put_varint(b, s.len) || buf_put(b, s.data, s.len)))
			rc = out_of_memory(r);
		buf_free(&s);
		return rc;
	}
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return fail(r, "%s", "'{' expected: a message");
	if (is_ident_start(peek(r))) {
		const uint8_t *at = r->p;

		if (!read_ident(r, name))
			return fail(r, "%s", "name too long");
		if (f->type == PROTOBUF_C_TYPE_BOOL) {
			if (!strcmp(name, "true") || !strcmp(name, "True") || !strcmp(name, "t"))
				bits = 1;
			else if (!strcmp(name, "false") || !strcmp(name, "False") || !strcmp(name, "f"))
				bits = 0;
			else
				return r->p = at, fail(r, "%s", "true or false expected");
		} else if (f->type == PROTOBUF_C_TYPE_ENUM) {
			ev = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, name);
			if (!ev)
				return r->p = at, fail(r, "unknown value of enum %s", f->descriptor ?
					((const ProtobufCEnumDescriptor *)f->descriptor)->name : "?");
			bits = (uint64_t)(int64_t)ev->value;
		} else {
			return r->p = at, fail(r, "%s", "a number expected");
		}
	} else {
		const uint8_t *at = r->p, *after;

		if (read_number(r, &n))
			return -1;
		after = r->p;
		r->p = at; /* a value out of range: say where it starts */
		if (f->type == PROTOBUF_C_TYPE_BOOL) {
			if (n.negative || n.magnitude > 1)
				return fail(r, "%s", "true or false expected");
			bits = n.magnitude;
		} else if (number_bits(r, &n, f->type, &bits)) {
			return -1;
		}
		r->p = after;
	}
	return wire_put_scalar(b, f->type, bits) ? out_of_memory(r) : 0;
}

static int put_key(struct tr *r, uint32_t number, enum wire_type t)
{
	return wire_put_key(&r->entry, number, t) ? out_of_memory(r) : 0;
}

/* "name { ... }" or "12 { ... }": a message, or unknown fields by number
 * when d is NULL. The '{' or '<' is next. */
static int read_message(struct tr *r, uint32_t number, const ProtobufCMessageDescriptor *d,
			int depth)
{
	int closer = *r->p == '<' ? '>' : '}';
	size_t mark;

	if (depth >= TEXT_MAX_DEPTH)
		return fail(r, "%s", "nesting too deep");
	r->p++;
	if (put_key(r, number, WIRE_LEN))
		return -1;
	mark = r->entry.len;
	if (buf_putc(&r->entry, 0))
		return out_of_memory(r);
	if (read_fields(r, d, closer, depth + 1))
		return -1;
	return wire_close_length(&r->entry, mark) ? out_of_memory(r) : 0;
}

/* "name: [a, b, c]": one packed record for a packable field, else a
 * record per element. */
static int read_list(struct tr *r, const ProtobufCFieldDescriptor *f, int depth)
{
	int packed = wire_packable(f->type), first = 1;
	size_t mark = 0;

	if (f->label != PROTOBUF_C_LABEL_REPEATED)
		return fail(r, "%s", "a list for a field that is not repeated");
	r->p++;
	if (packed) {
		if (put_key(r, f->id, WIRE_LEN))
			return -1;
		mark = r->entry.len;
		if (buf_putc(&r->entry, 0))
			return out_of_memory(r);
	}
	for (;;) {
		skip_blank(r);
		if (peek(r) == ']') {
			r->p++;
			break;
		}
		if (!first) {
			if (peek(r) != ',')
				return fail(r, "%s", "',' or ']' expected");
			r->p++;
			skip_blank(r);
		}
		first = 0;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (peek(r) != '{' && peek(r) != '<')
				return fail(r, "%s", "'{' expected: a message");
			if (read_message(r, f->id, f->descriptor, depth))
				return -1;
			continue;
		}
		if (!packed && put_key(r, f->id, wire_type_of(f->type)))
			return -1;
		if (put_value(r, f))
			return -1;
	}
	if (packed && wire_close_length(&r->entry, mark))
		return out_of_memory(r);
	return 0;
}

/* Whether bytes read as the fields of message d, nested messages
 * included, within the writer's depth and with every required field: a
 * field by number must not make an image that text_write refuses, or text
 * that this reader refuses once written by name. */
static int valid_message(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t len,
			 int depth)
{
	const uint8_t *end = p + len;
	uint8_t seen[REQUIRED_MAX];
	unsigned i;

	if (depth > TEXT_MAX_DEPTH)
		return 0;
	memset(seen, 0, sizeof(seen));
	while (p < end) {
		const ProtobufCFieldDescriptor *f;
		struct wire_field wf;
		size_t n = wire_read_field(p, end, &wf);

		if (!n)
			return 0;
		f = protobuf_c_message_descriptor_get_field(d, wf.number);
		if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && wf.type == WIRE_LEN &&
		    !valid_message(f->descriptor, wf.data, wf.len, depth + 1))
			return 0;
		if (f && (size_t)(f - d->fields) < REQUIRED_MAX)
			seen[f - d->fields] = 1;
		p += n;
	}
	for (i = 0; i < d->n_fields && i < REQUIRED_MAX; i++)
		if (d->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !seen[i])
			return 0;
	return 1;
}

/* "12: value": a field by number, as protoc --decode shows unknown ones;
 * d is the message it is in (NULL inside a block by number). */
static int read_numbered_value(struct tr *r, const ProtobufCMessageDescriptor *d, uint32_t number,
			       int depth)
{
	const ProtobufCFieldDescriptor *f = d ? protobuf_c_message_descriptor_get_field(d, number)
					      : NULL;
	struct number n;
	struct buf s;
	int rc;

	if (at_quote(r)) {
		struct tr at = *r;

		buf_init(&s, -1);
		rc = read_strings(r, &s);
		if (!rc && f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
		    !valid_message(f->descriptor, s.data ? s.data : (const uint8_t *)"", s.len,
				   depth + 1))
			rc = fail(&at, "%s", "these bytes are not a (complete) message of the field's type");
		if (!rc && (put_key(r, number, WIRE_LEN) || wire_put_varint(&r->entry, s.len) ||
			    buf_put(&r->entry, s.data, s.len)))
			rc = out_of_memory(r);
		buf_free(&s);
		return rc;
	}
	if (read_number(r, &n))
		return -1;
	if (n.hex_digits == 8 && !n.negative)
		rc = put_key(r, number, WIRE_I32) || buf_put_u32le(&r->entry, (uint32_t)n.magnitude);
	else if (n.hex_digits == 16 && !n.negative)
		rc = put_key(r, number, WIRE_I64) || wire_put_le64(&r->entry, n.magnitude);
	else if (n.negative && n.magnitude > (uint64_t)INT64_MAX + 1)
		return fail(r, "%s", "number out of range");
	else
		rc = put_key(r, number, WIRE_VARINT) ||
		     wire_put_varint(&r->entry, n.negative ? 0 - n.magnitude : n.magnitude);
	return rc || r->entry.failed ? out_of_memory(r) : 0;
}

/* The field name or number at r->p: *f for a name, *number either way. */
static int read_field_name(struct tr *r, const ProtobufCMessageDescriptor *d,
			   const ProtobufCFieldDescriptor **f, uint32_t *number)
{
	char name[NAME_MAX_LEN];
	struct number n;

	*f = NULL;
	if (is_digit(peek(r))) {
		if (read_number(r, &n))
			return -1;
		if (n.negative || n.magnitude == 0 || n.magnitude > 0x1fffffff)
			return fail(r, "%s", "not a field number");
		*number = (uint32_t)n.magnitude;
		return 0;
	}
	if (!read_ident(r, name))
		return fail(r, "%s", "a field name expected");
	if (d)
		*f = protobuf_c_message_descriptor_get_field_by_name(d, name);
	if (!*f) {
		r->p -= strlen(name);
		return fail(r, d ? "unknown field '%s'" : "a field number expected, not '%s'", name);
	}
	*number = (*f)->id;
	return 0;
}

static int read_field_value(struct tr *r, const ProtobufCMessageDescriptor *d,
			    const ProtobufCFieldDescriptor *f, uint32_t number, int depth)
{
	int colon = 0;

	skip_blank(r);
	if (peek(r) == ':') {
		colon = 1;
		r->p++;
		skip_blank(r);
	}
	if (peek(r) == '{' || peek(r) == '<') {
		const ProtobufCFieldDescriptor *known = f;

		if (f && f->type != PROTOBUF_C_TYPE_MESSAGE)
			return fail(r, "%s", "a value expected: not a message");
		/* "2 { ... }" for a message field the schema knows is that message */
		if (!known && d)
			known = protobuf_c_message_descriptor_get_field(d, number);
		if (known && known->type != PROTOBUF_C_TYPE_MESSAGE)
			known = NULL;
		return read_message(r, number, known ? known->descriptor : NULL, depth);
	}
	if (!colon)
		return fail(r, "%s", "':' expected");
	if (!f)
		return read_numbered_value(r, d, number, depth);
	if (peek(r) == '[')
		return read_list(r, f, depth);
	if (f->type != PROTOBUF_C_TYPE_MESSAGE && put_key(r, number, wire_type_of(f->type)))
		return -1;
	return put_value(r, f);
}

/* One field; on an error, its name goes on the path. *number: its number. */
static int read_field(struct tr *r, const ProtobufCMessageDescriptor *d, int depth,
		      uint32_t *number)
{
	const ProtobufCFieldDescriptor *f;
	char num[16];

	*number = 0;
	if (read_field_name(r, d, &f, number))
		return -1;
	if (!read_field_value(r, d, f, *number, depth))
		return 0;
	snprintf(num, sizeof(num), "%" PRIu32, *number);
	crit_error_push_path(r->err, f ? f->name : num, -1);
	return -1;
}

/* Every required field of d was given (by name or number), as protobuf
 * and the JSON reader require: criu cannot read a message without them. */
static int check_required(struct tr *r, const ProtobufCMessageDescriptor *d,
			  const uint8_t *seen)
{
	unsigned i;

	for (i = 0; i < d->n_fields && i < REQUIRED_MAX; i++)
		if (d->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !seen[i])
			return fail(r, "missing required field '%s'", d->fields[i].name);
	return 0;
}

/* Fields up to the closer ('}' or '>'), or with closer 0 up to the next
 * directive or the end. d NULL: fields by number only. */
static int read_fields(struct tr *r, const ProtobufCMessageDescriptor *d, int closer, int depth)
{
	uint8_t seen[REQUIRED_MAX];

	memset(seen, 0, sizeof(seen));
	for (;;) {
		uint32_t number;
		const ProtobufCFieldDescriptor *f;

		skip_blank(r);
		if (at_end(r) || at_directive(r)) {
			if (closer)
				return fail(r, "'%s' expected before the end of the entry",
					    closer == '}' ? "}" : ">");
			return d ? check_required(r, d, seen) : 0;
		}
		if (peek(r) == closer) {
			if (d && check_required(r, d, seen))
				return -1;
			r->p++;
			return 0;
		}
		if (read_field(r, d, depth, &number))
			return -1;
		f = d ? protobuf_c_message_descriptor_get_field(d, number) : NULL;
		if (f && (size_t)(f - d->fields) < REQUIRED_MAX)
			seen[f - d->fields] = 1;
		skip_spaces(r);
		if (peek(r) == ',' || peek(r) == ';')
			r->p++;
	}
}

/* ------------------------------------------------------------------ */
/* Header, entries, payloads                                            */

/* "#CORE" or "#0x54564319", then " v1.0" or " v1.1 [0xFIRST]". */
static int read_header(struct tr *r, struct buf *out)
{
	char name[NAME_MAX_LEN];
	uint8_t header[8];
	size_t n;
	struct number num;

	/* Blank lines and comments ("# ...") may come first. */
	for (;;) {
		while (!at_end(r) && (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n'))
			if (*r->p++ == '\n')
				newline(r);
		if (!starts(r, "#") || (r->p + 1 < r->end && (is_ident(r->p[1]))))
			break;
		skip_to_eol(r);
	}
	if (peek(r) != '#')
		return fail(r, "%s", "'#' and the image's magic expected, as \"#CORE\"");
	r->p++;
	if (is_digit(peek(r))) {
		if (read_number(r, &num))
			return -1;
		r->type = num.magnitude <= UINT32_MAX ? schema_by_magic((uint32_t)num.magnitude) : NULL;
		if (!r->type)
			return fail(r, "%s", "unknown magic");
	} else {
		if (!read_ident(r, name))
			return fail(r, "%s", "the image's magic expected, as \"#CORE\"");
		r->type = schema_by_name(name);
		if (!r->type)
			return r->p -= strlen(name), fail(r, "unknown magic '%s'", name);
	}
	if (r->type->layout == LAYOUT_RAW)
		return fail(r, "%s", "a raw image has no text form");
	n = image_header_bytes(r->type, header);
	skip_spaces(r);
	if (starts(r, "v1.0")) {
		r->p += 4;
		buf_put_u32le(out, r->type->magic);
	} else if (starts(r, "v1.1")) {
		r->p += 4;
		skip_spaces(r);
		num.magnitude = r->type->service ? MAGIC_IMG_SERVICE : MAGIC_IMG_COMMON;
		if (is_digit(peek(r)) && read_number(r, &num))
			return -1;
		if (num.magnitude != MAGIC_IMG_COMMON && num.magnitude != MAGIC_IMG_SERVICE)
			return fail(r, "%s", "the first magic of a v1.1 header is IMG_COMMON or IMG_SERVICE");
		buf_put_u32le(out, (uint32_t)num.magnitude);
		buf_put_u32le(out, r->type->magic);
	} else {
		buf_put(out, header, n);
	}
	return end_of_line(r);
}

/* "#N [type]": the start of entry r->index. */
static int read_entry_line(struct tr *r, const ProtobufCMessageDescriptor *d)
{
	char name[NAME_MAX_LEN];
	struct number n;

	if (!at_entry(r))
		return fail(r, "%s", "'#N' expected: the start of an entry");
	r->p++;
	if (read_number(r, &n))
		return -1;
	skip_spaces(r);
	if (is_ident_start(peek(r))) {
		if (!read_ident(r, name))
			return fail(r, "%s", "name too long");
		if (strcmp(name, d->name) != 0) {
			r->p -= strlen(name);
			return fail(r, "this entry is a %s", d->name);
		}
	}
	return end_of_line(r);
}

/* "#extra" lines, their strings appended to the entry. */
static int read_payload(struct tr *r)
{
	while (at_extra(r)) {
		r->p += strlen(TEXT_EXTRA);
		skip_spaces(r);
		if (!at_quote(r))
			return fail(r, "%s", "a string expected");
		while (at_quote(r)) {
			if (read_quoted(r, &r->entry))
				return -1;
			skip_spaces(r);
		}
		if (end_of_line(r))
			return -1;
		skip_blank(r);
	}
	if (!at_end(r) && !at_entry(r))
		return fail(r, "%s", "'#N' or the end expected after a payload");
	return 0;
}

static void put_u32le_at(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The entry read, checked as the image reader will walk it: the payload
 * must be the size the message's fields give. */
static int check_entry(struct tr *r, size_t msg_len, const uint8_t *at, long line)
{
	struct image_header h = { r->type, 0, 0 };
	struct crit_error e;
	struct image_cursor c;
	struct entry_loc loc;
	size_t payload = r->entry.len - 4 - msg_len;
	char what[sizeof(e.msg) + 100];

	crit_error_clear(&e);
	image_cursor_init(&c, &h, r->entry.data, r->entry.len);
	c.index = r->index;
	c.chunked = r->chunked;
	if (image_cursor_next(&c, &loc, &e) < 0 || c.pos != r->entry.len) {
		r->p = at;
		r->line = line;
		r->line_start = at;
		if (e.msg[0])
			snprintf(what, sizeof(what), "#extra: %zu bytes, fewer than the entry's "
				 "fields give (%s)", payload, e.msg);
		else
			snprintf(what, sizeof(what), "#extra: %zu bytes, where the entry's fields "
				 "give %" PRIu64, payload, loc.payload_len);
		return fail(r, "%s", what);
	}
	r->chunked = c.chunked;
	return 0;
}

static int read_entry(struct tr *r, struct buf *out)
{
	const ProtobufCMessageDescriptor *d = schema_entry_desc(r->type, r->index);
	const uint8_t *start = r->p;
	long line = r->line;
	size_t msg_len;

	if (r->type->layout == LAYOUT_GHOST && r->index > 0 && !r->chunked)
		return fail(r, "%s", "a ghost file without chunks has one entry: its data follows it");
	if (read_entry_line(r, d))
		return -1;
	r->entry.len = 0;
	buf_put(&r->entry, "\0\0\0\0", 4);
	if (read_fields(r, d, 0, 0))
		return -1;
	msg_len = r->entry.len - 4;
	if (r->entry.failed)
		return out_of_memory(r);
	if (msg_len > UINT32_MAX)
		return fail(r, "%s", "entry larger than 4 GiB");
	put_u32le_at(r->entry.data, (uint32_t)msg_len);
	if (read_payload(r) || check_entry(r, msg_len, start, line))
		return -1;
	buf_put(out, r->entry.data, r->entry.len);
	if (out->failed)
		return fail(r, "cannot write the image: %s", strerror(out->saved_errno));
	return 0;
}

int text_read_detect(const uint8_t *text, size_t len)
{
	size_t i = 0;

	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	return i < len && text[i] == '#';
}

int text_read_image(const uint8_t *text, size_t len, struct buf *out,
		    struct text_read_result *res, struct crit_error *err)
{
	struct tr r;
	char where[32];
	int rc = 0;

	memset(&r, 0, sizeof(r));
	memset(res, 0, sizeof(*res));
	crit_error_clear(err);
	r.p = r.line_start = text;
	r.end = text + len;
	r.line = 1;
	r.err = err;
	buf_init(&r.entry, -1);
	if (read_header(&r, out)) {
		rc = -1;
		goto done;
	}
	res->type = r.type;
	for (;;) {
		skip_blank(&r);
		if (at_end(&r))
			break;
		if (read_entry(&r, out)) {
			snprintf(where, sizeof(where), "#%zu", r.index);
			crit_error_push_path(err, where, -1);
			rc = -1;
			break;
		}
		r.index++;
		res->entries++;
	}
done:
	if (!rc && (err->msg[0] || out->failed))
		rc = -1;
	if (!err->msg[0] && out->failed)
		crit_fail(err, "cannot write the image: %s", strerror(out->saved_errno));
	buf_free(&r.entry);
	return rc;
}
