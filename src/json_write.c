/* crit 4.2's JSON for CRIU images, written from the wire bytes and driven
 * by the protobuf-c descriptors and the (criu) field options: no unpacking,
 * no Lua, no floating point. The reference is crit's own code
 * (lib/pycriu/images/pb2dict.py, images.py, crit/__main__.py).
 *
 * As crit does:
 * - Keys come in field-number order (protobuf's ListFields): the fields
 *   present on the wire, repeated ones only when not empty, then "extra",
 *   the payload. Fields the schema does not know are skipped and counted,
 *   so that the caller can warn.
 * - Strings are escaped as json.dumps(ensure_ascii=True) escapes them:
 *   everything outside ' '..'~' is escaped, 0x7f included.
 * - Bytes are base64 as base64.encodebytes has it (a newline after every
 *   76 characters and at the end), except unix socket names ((criu).conv =
 *   "unix_name"), which are quoted-printable as quopri.encodestring has it.
 * - Pretty output indents by 4 and applies the (criu) options: hex
 *   (inherited by every field inside a hex sub-message), then dev, flags
 *   and dict; ipadd prints a list of one address.
 * - --nopl prints each payload as '... <size>' with the size each of
 *   crit's handlers reports (tcp: inq_len + outq_len, sem: 2 * nsems,
 *   msg: the message and data sizes, shm: size); ghost file data gets no
 *   "extra" at all.
 *
 * Where we part from crit, on purpose:
 * - A string that is not valid UTF-8 is written as Python's
 *   "surrogateescape" decodes it: each byte of an invalid sequence becomes
 *   the lone surrogate \udc80..\udcff, which the JSON reader turns back
 *   into that byte. crit prints the repr of the bytes instead: b'...'.
 * - task_state (dict "gen") gets compel's names, ALIVE DEAD STOPPED
 *   ZOMBIE: crit's are crossed (3 "Zombie", 6 "Stopped") and lack 2.
 * - An IPCNS_SHM entry with in_pagemaps has no payload and no "extra":
 *   crit reads `size` bytes of the following entries as its data.
 * - An enum number the schema does not know prints as a number (crit
 *   drops the field); an ipadd field of other than one or four words
 *   prints its numbers (crit fails, or drops the words past four).
 * - Every entry of a TCP_STREAM image is written with --nopl (crit stops
 *   after the first), and an empty GHOST_FILE image has no entries (crit
 *   fails).
 * - --nopl on BPFMAP_DATA prints keys_bytes + values_bytes, where crit
 *   fails asking for a `bytes` field that does not exist.
 * - Malformed wire data (a wrong wire type, a value out of range for its
 *   type, truncation, nesting deeper than JSON_WRITE_MAX_DEPTH) is an error
 *   with its field path and byte offset, as in msg.c. */
#include "json_write.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conv.h"
#include "maps.h"
#include "schema.h"
#include "wire.h"

/* ------------------------------------------------------------------ */
/* The writer and where it reads                                        */

#define OPT_CACHE_SIZE 1024

struct jw {
	struct buf *out;
	int pretty; /* indent by 4 */
	int human;  /* apply the (criu) options: pretty, but not in ipc_msg payloads */
	int nopl;
	int depth; /* of JSON nesting, for the indent */
	struct json_write_stats *st;
	struct crit_error *err;
	/* Scratch for merging the occurrences of a singular message field,
	 * one per message depth: never needed on images CRIU writes. */
	struct buf merged[JSON_WRITE_MAX_DEPTH + 1];
	struct buf text; /* scratch for a string built before it is quoted */
	/* The (criu) options of the fields seen, by descriptor address:
	 * schema_field_opt compares names. */
	struct {
		const ProtobufCFieldDescriptor *f;
		const struct criu_field_opt *opt;
		const struct flag_map *flags; /* its flags map, found by name once */
	} opts[OPT_CACHE_SIZE];
};

/* A message's bytes and the image offset of its first byte. A merged
 * message is a copy: errors inside it point at the field it came from. */
struct view {
	const uint8_t *p;
	size_t len;
	uint64_t off;
	int copy;
};

static void jw_init(struct jw *w, struct buf *out, const struct json_write_opts *o,
		    struct json_write_stats *st, struct crit_error *err)
{
	size_t i;

	memset(w, 0, sizeof(*w));
	w->out = out;
	w->pretty = o->pretty;
	w->human = o->pretty;
	w->nopl = o->nopl;
	w->st = st;
	w->err = err;
	for (i = 0; i <= JSON_WRITE_MAX_DEPTH; i++)
		buf_init(&w->merged[i], -1);
	buf_init(&w->text, -1);
	memset(st, 0, sizeof(*st));
}

static void jw_free(struct jw *w)
{
	size_t i;

	for (i = 0; i <= JSON_WRITE_MAX_DEPTH; i++)
		buf_free(&w->merged[i]);
	buf_free(&w->text);
}

static uint64_t offset_of(const struct view *v, const uint8_t *at)
{
	return v->copy ? v->off : v->off + (uint64_t)(at - v->p);
}

static int fail_at(struct jw *w, const struct view *v, const uint8_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail_at(struct jw *w, const struct view *v, const uint8_t *at, const char *fmt, ...)
{
	va_list ap;

	w->err->offset = offset_of(v, at);
	va_start(ap, fmt);
	crit_vfail(w->err, fmt, ap);
	va_end(ap);
	return -1;
}

static int output_failed(struct jw *w)
{
	return crit_fail(w->err, "cannot write the JSON: %s", strerror(w->out->saved_errno));
}

/* ------------------------------------------------------------------ */
/* JSON layout, as json.dumps: separators ", " and ": ", or with indent=4
 * "," and ": " with each item on its own line; "[]" and "{}" when empty. */

/* Room for n more bytes at the end of the output, or NULL once writing
 * has failed (the failure is sticky, and checked after each entry). */
static uint8_t *room(struct jw *w, size_t n)
{
	struct buf *b = w->out;

	if (b->failed || (b->cap - b->len < n && buf_reserve(b, n)))
		return NULL;
	return b->data + b->len;
}

static void put_newline_indent(struct jw *w)
{
	size_t n = (size_t)w->depth * 4;
	uint8_t *q = room(w, n + 1);

	if (!q)
		return;
	*q = '\n';
	memset(q + 1, ' ', n);
	w->out->len += n + 1;
}

/* Before each item of a list or an object; *count counts them. */
static void put_sep(struct jw *w, size_t *count)
{
	if ((*count)++)
		buf_put(w->out, ", ", w->pretty ? 1 : 2);
	if (w->pretty)
		put_newline_indent(w);
}

static void put_open(struct jw *w, char c)
{
	buf_putc(w->out, (uint8_t)c);
	w->depth++;
}

static void put_close(struct jw *w, char c, size_t count)
{
	w->depth--;
	if (w->pretty && count)
		put_newline_indent(w);
	buf_putc(w->out, (uint8_t)c);
}

/* Text with nothing to escape: field, enum and map names, crit's words. */
static void put_quoted(struct jw *w, const char *s)
{
	size_t n = strlen(s);
	uint8_t *q = room(w, n + 2);

	if (!q)
		return;
	q[0] = '"';
	memcpy(q + 1, s, n);
	q[n + 1] = '"';
	w->out->len += n + 2;
}

static void put_key(struct jw *w, size_t *count, const char *key)
{
	size_t n = strlen(key);
	uint8_t *q;

	put_sep(w, count);
	if (!(q = room(w, n + 4)))
		return;
	q[0] = '"';
	memcpy(q + 1, key, n);
	memcpy(q + 1 + n, "\": ", 3);
	w->out->len += n + 4;
}

/* ------------------------------------------------------------------ */
/* Strings                                                              */

static const char hex_lower[] = "0123456789abcdef";

static uint8_t *put_u_escape(uint8_t *q, uint32_t u)
{
	q[0] = '\\';
	q[1] = 'u';
	q[2] = (uint8_t)hex_lower[u >> 12 & 15];
	q[3] = (uint8_t)hex_lower[u >> 8 & 15];
	q[4] = (uint8_t)hex_lower[u >> 4 & 15];
	q[5] = (uint8_t)hex_lower[u & 15];
	return q + 6;
}

/* One ASCII byte as json.dumps(ensure_ascii=True) writes it: at most 6. */
static uint8_t *escape_ascii(uint8_t *q, uint8_t c)
{
	static const char short_escape[32] = {
		['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
	};

	if (c >= ' ' && c <= '~' && c != '"' && c != '\\') {
		*q++ = c;
	} else if (c == '"' || c == '\\') {
		*q++ = '\\';
		*q++ = c;
	} else if (c < 32 && short_escape[c]) {
		*q++ = '\\';
		*q++ = (uint8_t)short_escape[c];
	} else {
		q = put_u_escape(q, c);
	}
	return q;
}

/* The length of the valid UTF-8 sequence at p and its code point, or 0 if
 * none starts there: overlong forms, surrogates and values past U+10FFFF
 * are invalid, as they are to Python's decoder. */
static size_t utf8_sequence(const uint8_t *p, const uint8_t *end, uint32_t *cp)
{
	size_t n, i;
	uint32_t v, min;

	if (p[0] < 0xc2 || p[0] > 0xf4) /* continuation bytes, C0 and C1 included */
		return 0;
	if (p[0] < 0xe0) {
		n = 2, v = p[0] & 0x1f, min = 0x80;
	} else if (p[0] < 0xf0) {
		n = 3, v = p[0] & 0x0f, min = 0x800;
	} else {
		n = 4, v = p[0] & 0x07, min = 0x10000;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

#define STRING_CHUNK 4096

/* A JSON string of the bytes. A byte that starts no valid UTF-8 sequence
 * becomes \udcXX, as Python's surrogateescape makes it: crit's readers and
 * ours get the same bytes back, and valid text stays as Python has it. */
static void put_string(struct jw *w, const uint8_t *p, size_t len)
{
	/* p is NULL for an empty scratch buffer (an empty unix socket name):
	 * NULL + 0 is undefined behaviour in C, found by fuzz_json_write. */
	const uint8_t *end = len ? p + len : p;
	struct buf *out = w->out;

	buf_putc(out, '"');
	while (p < end) {
		size_t chunk = (size_t)(end - p) < STRING_CHUNK ? (size_t)(end - p) : STRING_CHUNK;
		const uint8_t *stop = p + chunk;
		/* A step reads 1 to 4 bytes (at most 3 past stop) and writes
		 * at most 6 bytes per byte read. */
		uint8_t *q = room(w, 6 * (chunk + 3));

		if (!q)
			return;
		while (p < stop) {
			uint32_t cp;
			size_t n;

			if (*p < 0x80) {
				q = escape_ascii(q, *p++);
			} else if (!(n = utf8_sequence(p, end, &cp))) {
				q = put_u_escape(q, 0xdc00u | *p++);
			} else if (cp < 0x10000) {
				q = put_u_escape(q, cp);
				p += n;
			} else {
				q = put_u_escape(q, 0xd800u | (cp - 0x10000) >> 10);
				q = put_u_escape(q, 0xdc00u | (cp & 0x3ff));
				p += n;
			}
		}
		out->len = (size_t)(q - out->data);
	}
	buf_putc(out, '"');
}

/* ------------------------------------------------------------------ */
/* Bytes: base64 and quoted-printable                                   */

/* base64.encodebytes, its newlines written as JSON's \n. */
static void put_base64(struct jw *w, const uint8_t *p, size_t len)
{
	buf_putc(w->out, '"');
	conv_base64_encode(w->out, p, len, "\\n");
	buf_putc(w->out, '"');
}

static void put_quopri(struct jw *w, const uint8_t *p, size_t len)
{
	w->text.len = 0;
	conv_quopri_encode(&w->text, p, len);
	put_string(w, w->text.data, w->text.len);
}

/* ------------------------------------------------------------------ */
/* Integers as crit prints them                                         */

/* A value as Python holds it: its bits, and whether they are signed. */
struct pyint {
	uint64_t bits;
	int is_signed;
};

static int pyint_negative(const struct pyint *n)
{
	return n->is_signed && (int64_t)n->bits < 0;
}

static void put_pyint(struct jw *w, const struct pyint *n)
{
	if (n->is_signed)
		buf_put_i64(w->out, (int64_t)n->bits);
	else
		buf_put_u64(w->out, n->bits);
}

/* Python's "0x%x": a minus sign, then the magnitude. */
static void put_py_hex(struct jw *w, uint64_t bits, int negative)
{
	uint8_t *q = room(w, CONV_HEX_TEXT);

	if (q)
		w->out->len += conv_py_hex((char *)q, bits, negative);
}

/* pb2dict's decode_dev: "major:minor". */
static void put_dev(struct jw *w, const struct criu_field_opt *opt, const struct pyint *n)
{
	struct conv_dev d;

	conv_dev_split(n->bits, pyint_negative(n), (opt->bits & CRIU_OPT_ODEV) != 0, &d);
	buf_putc(w->out, '"');
	if (d.major.neg)
		buf_putc(w->out, '-');
	buf_put_u64(w->out, d.major.mag);
	buf_putc(w->out, ':');
	buf_put_u64(w->out, d.minor);
	buf_putc(w->out, '"');
}

/* pb2dict's map_flags: the names of the bits set, in the map's order, then
 * what is left in hex, joined by " | "; "" for 0. */
static void put_flags(struct jw *w, const struct flag_map *m, const struct pyint *n)
{
	uint64_t known = 0, rest;
	size_t i, parts = 0;

	buf_putc(w->out, '"');
	for (i = 0; i < m->n; i++) {
		known += m->bits[i].value; /* crit clears the sum of the map's values */
		if (!(n->bits & m->bits[i].value))
			continue;
		if (parts++)
			buf_put(w->out, " | ", 3);
		buf_put_str(w->out, m->bits[i].name);
	}
	rest = n->bits & ~known;
	if (rest) {
		if (parts)
			buf_put(w->out, " | ", 3);
		put_py_hex(w, rest, n->is_signed && (int64_t)rest < 0);
	}
	buf_putc(w->out, '"');
}

/* How to print one field's values. */
struct field_fmt {
	const struct criu_field_opt *opt; /* NULL when none or not looked up */
	const struct flag_map *flags;	  /* opt's flags map, if any */
	int hex; /* print integers as hex: its own option or an enclosing one */
};

static struct field_fmt field_fmt(struct jw *w, const ProtobufCMessageDescriptor *d,
				  const ProtobufCFieldDescriptor *f, int hex)
{
	struct field_fmt fmt = { NULL, NULL, 0 };
	/* Hashed: descriptors' fields lie side by side, and a plain modulo
	 * made the fields of different messages evict each other. */
	size_t slot = (size_t)(((uintptr_t)f / sizeof(*f)) * 0x9e3779b97f4a7c15u >> 40) % OPT_CACHE_SIZE;

	/* Compact output needs the options of bytes fields only (conv). */
	if (w->human || f->type == PROTOBUF_C_TYPE_BYTES) {
		if (w->opts[slot].f != f) {
			const struct criu_field_opt *opt = schema_field_opt(d, f);

			w->opts[slot].f = f;
			w->opts[slot].opt = opt;
			w->opts[slot].flags = opt && opt->flags && opt->flags[0] ?
				maps_flags(opt->flags) : NULL;
		}
		fmt.opt = w->opts[slot].opt;
		fmt.flags = w->opts[slot].flags;
	}
	fmt.hex = w->human && (hex || (fmt.opt && (fmt.opt->bits & CRIU_OPT_HEX)));
	return fmt;
}

/* An integer field, in pb2dict's order of precedence: hex, dev, flags, dict. */
static void put_integer(struct jw *w, const ProtobufCFieldDescriptor *f,
			const struct field_fmt *fmt, const struct pyint *n)
{
	const struct criu_field_opt *opt = fmt->opt;
	const char *name;

	if (!w->human || (!fmt->hex && !opt)) {
		put_pyint(w, n);
	} else if (fmt->hex) {
		buf_putc(w->out, '"');
		put_py_hex(w, n->bits, pyint_negative(n));
		buf_putc(w->out, '"');
	} else if (opt->bits & CRIU_OPT_DEV) {
		put_dev(w, opt, n);
	} else if (opt->flags && opt->flags[0]) {
		if (fmt->flags) {
			put_flags(w, fmt->flags, n);
		} else { /* crit: "flags are better seen as hex anyway" */
			buf_putc(w->out, '"');
			put_py_hex(w, n->bits, pyint_negative(n));
			buf_putc(w->out, '"');
		}
	} else if (opt->dict && opt->dict[0] &&
		   (name = maps_dict_name(opt->dict, f->name, (int64_t)n->bits))) {
		put_quoted(w, name);
	} else {
		put_pyint(w, n);
	}
}

/* ------------------------------------------------------------------ */
/* Scalars                                                              */

static int check_wire_type(struct jw *w, const struct view *v,
			   const ProtobufCFieldDescriptor *f, const struct wire_field *wf)
{
	if (wf->type == wire_type_of(f->type))
		return 0;
	return fail_at(w, v, wf->start, "wrong wire type for a %s field", wire_type_name(f->type));
}

static int in_int32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* The value of an integer, bool or enum field from its wire bits `raw`,
 * checked for range as msg.c checks it. */
static int read_integer(struct jw *w, const struct view *v, const ProtobufCFieldDescriptor *f,
			uint64_t raw, const uint8_t *at, struct pyint *n)
{
	n->bits = raw;
	n->is_signed = 1;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_ENUM:
		if (!in_int32((int64_t)raw))
			return fail_at(w, v, at, "value out of range for %s", wire_type_name(f->type));
		break;
	case PROTOBUF_C_TYPE_SINT32:
		n->bits = (uint64_t)wire_unzigzag(raw);
		if (!in_int32((int64_t)n->bits))
			return fail_at(w, v, at, "value out of range for %s", "sint32");
		break;
	case PROTOBUF_C_TYPE_SFIXED32:
		n->bits = (uint64_t)(int64_t)(int32_t)(uint32_t)raw;
		break;
	case PROTOBUF_C_TYPE_SINT64:
		n->bits = (uint64_t)wire_unzigzag(raw);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		break;
	case PROTOBUF_C_TYPE_UINT32:
		if (raw > UINT32_MAX)
			return fail_at(w, v, at, "value out of range for %s", "uint32");
		n->is_signed = 0;
		break;
	case PROTOBUF_C_TYPE_BOOL:
		if (raw > 1)
			return fail_at(w, v, at, "value out of range for %s", "bool");
		n->is_signed = 0;
		break;
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		n->is_signed = 0;
		break;
	default: /* float and double: crit cannot print them either */
		return fail_at(w, v, at, "%s fields are not supported", wire_type_name(f->type));
	}
	return 0;
}

static int put_scalar(struct jw *w, const struct view *v, const ProtobufCFieldDescriptor *f,
		      const struct field_fmt *fmt, uint64_t raw, const uint8_t *at)
{
	const ProtobufCEnumValue *ev;
	struct pyint n;

	if (read_integer(w, v, f, raw, at, &n))
		return -1;
	if (f->type == PROTOBUF_C_TYPE_BOOL) {
		buf_put_str(w->out, n.bits ? "true" : "false");
	} else if (f->type == PROTOBUF_C_TYPE_ENUM) {
		ev = protobuf_c_enum_descriptor_get_value(f->descriptor, (int)(int64_t)n.bits);
		if (ev)
			put_quoted(w, ev->name);
		else
			put_pyint(w, &n);
	} else {
		put_integer(w, f, fmt, &n);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Fields                                                               */

/* The occurrences of one field number in a scanned message (every field
 * in it reads). `run`: only those at the start, in wire order; the field
 * that ends a run stays read ahead, for the caller to go on from. */
struct occurrences {
	const uint8_t *p, *end;
	uint32_t number;
	int run;
	struct wire_field ahead; /* the field at p, when ahead_len > 0 */
	size_t ahead_len;
};

/* The field at it->p, read once; 0 at the end (or if it does not read). */
static size_t peek_field(struct occurrences *it)
{
	if (!it->ahead_len && it->p < it->end)
		it->ahead_len = wire_read_field(it->p, it->end, &it->ahead);
	return it->ahead_len;
}

static void skip_field(struct occurrences *it)
{
	it->p += it->ahead_len;
	it->ahead_len = 0;
}

static int next_occurrence(struct occurrences *it, struct wire_field *wf)
{
	while (peek_field(it)) {
		if (it->ahead.number == it->number) {
			*wf = it->ahead;
			skip_field(it);
			return 1;
		}
		if (it->run)
			return 0;
		skip_field(it);
	}
	return 0;
}

/* The elements of a repeated scalar field, packed or not. */
struct elements {
	struct occurrences occ;
	const uint8_t *p, *end; /* what is left of the packed run */
};

static size_t read_packed_value(ProtobufCType t, const uint8_t *p, const uint8_t *end,
				uint64_t *raw)
{
	switch (wire_type_of(t)) {
	case WIRE_I64:
		if (end - p < 8)
			return 0;
		*raw = wire_le64(p);
		return 8;
	case WIRE_I32:
		if (end - p < 4)
			return 0;
		*raw = wire_le32(p);
		return 4;
	default:
		return wire_read_varint(p, end, raw);
	}
}

/* 1: the next element is *raw, found at *at; 0: no more; -1: error. */
static int next_element(struct jw *w, const struct view *v, const ProtobufCFieldDescriptor *f,
			struct elements *e, uint64_t *raw, const uint8_t **at)
{
	struct wire_field wf;
	size_t n;

	while (e->p == e->end) {
		if (!next_occurrence(&e->occ, &wf))
			return 0;
		if (wf.type == WIRE_LEN) {
			e->p = wf.data;
			e->end = wf.data + wf.len;
			continue;
		}
		if (check_wire_type(w, v, f, &wf))
			return -1;
		*raw = wf.value;
		*at = wf.start;
		return 1;
	}
	n = read_packed_value(f->type, e->p, e->end, raw);
	if (!n)
		return fail_at(w, v, e->p, "%s", "truncated packed value");
	*at = e->p;
	e->p += n;
	return 1;
}

static int write_message(struct jw *w, const struct view *v, const ProtobufCMessageDescriptor *d,
			 int hex, int depth);

/* The value of one occurrence, its wire type checked. */
static int put_value(struct jw *w, const struct view *v, const ProtobufCFieldDescriptor *f,
		     const struct field_fmt *fmt, const struct wire_field *wf, int depth)
{
	struct view sub;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		put_string(w, wf->data, wf->len);
		return 0;
	case PROTOBUF_C_TYPE_BYTES:
		if (fmt->opt && fmt->opt->conv && strcmp(fmt->opt->conv, "unix_name") == 0)
			put_quopri(w, wf->data, wf->len);
		else
			put_base64(w, wf->data, wf->len);
		return 0;
	case PROTOBUF_C_TYPE_MESSAGE:
		sub.p = wf->data;
		sub.len = wf->len;
		sub.off = offset_of(v, wf->data);
		sub.copy = v->copy;
		return write_message(w, &sub, f->descriptor, fmt->hex, depth + 1);
	default:
		return put_scalar(w, v, f, fmt, wf->value, wf->start);
	}
}

/* The key and "[" before the first item of a repeated field, so that a
 * field whose occurrences hold no item (an empty packed run) has no key. */
static void put_item(struct jw *w, const ProtobufCFieldDescriptor *f, size_t *items,
		     size_t *count)
{
	if (*items == 0) {
		put_key(w, count, f->name);
		put_open(w, '[');
	}
	put_sep(w, items);
}

/* The address an ipadd field holds, as Python's ipaddress prints it. */
static void put_ip_address(struct jw *w, const uint32_t *words, size_t n)
{
	char text[CONV_IP_TEXT];

	conv_ip_format(text, words, n);
	put_quoted(w, text);
}

/* crit prints an ipadd field, in pretty output, as a list of one address.
 * 1: written; 0: the field holds neither one word nor four (the caller
 * prints its numbers); -1: error. */
static int write_ip_address(struct jw *w, const struct view *v, const ProtobufCFieldDescriptor *f,
			    struct occurrences *it, size_t *count)
{
	struct elements e = { *it, NULL, NULL };
	uint32_t words[4];
	size_t n = 0, items = 0;
	const uint8_t *at;
	uint64_t raw;
	struct pyint word;
	int r;

	while ((r = next_element(w, v, f, &e, &raw, &at)) > 0) {
		if (read_integer(w, v, f, raw, at, &word))
			return -1;
		if (n < 4)
			words[n] = (uint32_t)word.bits;
		n++;
	}
	if (r < 0)
		return -1;
	if (n != 1 && n != 4)
		return 0;
	put_item(w, f, &items, count);
	put_ip_address(w, words, n);
	put_close(w, ']', items);
	*it = e.occ;
	return 1;
}

static int write_repeated(struct jw *w, const struct view *v, const ProtobufCMessageDescriptor *d,
			  const ProtobufCFieldDescriptor *f, struct occurrences *it, int hex,
			  int depth, size_t *count)
{
	struct field_fmt fmt = field_fmt(w, d, f, hex);
	struct elements e;
	struct wire_field wf;
	const uint8_t *at;
	uint64_t raw;
	size_t items = 0;
	int r;

	if (w->human && fmt.opt && (fmt.opt->bits & CRIU_OPT_IPADD) &&
	    f->type == PROTOBUF_C_TYPE_UINT32 && (r = write_ip_address(w, v, f, it, count)))
		return r < 0 ? -1 : 0;
	if (wire_packable(f->type)) {
		e.occ = *it;
		e.p = e.end = NULL;
		while ((r = next_element(w, v, f, &e, &raw, &at)) > 0) {
			put_item(w, f, &items, count);
			if (put_scalar(w, v, f, &fmt, raw, at))
				return -1;
		}
		if (r < 0)
			return -1;
		*it = e.occ;
	} else {
		while (next_occurrence(it, &wf)) {
			if (check_wire_type(w, v, f, &wf))
				return -1;
			put_item(w, f, &items, count);
			if (put_value(w, v, f, &fmt, &wf, depth)) {
				crit_error_push_path(w->err, NULL, (long)items - 1);
				return -1;
			}
		}
	}
	if (items)
		put_close(w, ']', items);
	return 0;
}

/* Protobuf merges the occurrences of a singular message field: the
 * message is their concatenation. CRIU never writes that; a copy will do. */
static int write_merged(struct jw *w, const struct view *v, const ProtobufCFieldDescriptor *f,
			struct occurrences *all, int hex, int depth)
{
	const uint8_t *first = NULL;
	struct wire_field wf;
	struct view sub;
	struct buf *m;

	if (depth > JSON_WRITE_MAX_DEPTH)
		return fail_at(w, v, all->p, "%s", "nesting too deep");
	m = &w->merged[depth];
	m->len = 0;
	while (next_occurrence(all, &wf)) {
		if (!first)
			first = wf.start;
		buf_put(m, wf.data, wf.len);
	}
	if (m->failed)
		return crit_fail(w->err, "out of memory");
	/* Occurrences that are all empty leave m->data NULL, and NULL + 0 is
	 * undefined behaviour further on: point at an empty string instead. */
	sub.p = m->data ? m->data : (const uint8_t *)"";
	sub.len = m->len;
	sub.off = offset_of(v, first);
	sub.copy = 1;
	return write_message(w, &sub, f->descriptor, hex, depth);
}

/* A singular field: its last occurrence, as protobuf keeps it; all of
 * them merged for a message. */
static int write_singular(struct jw *w, const struct view *v, const ProtobufCMessageDescriptor *d,
			  const ProtobufCFieldDescriptor *f, struct occurrences *it, int hex,
			  int depth, size_t *count)
{
	struct occurrences all = *it;
	struct wire_field wf, last;
	struct field_fmt fmt;
	size_t seen = 0;

	while (next_occurrence(it, &wf)) {
		if (check_wire_type(w, v, f, &wf))
			return -1;
		last = wf;
		seen++;
	}
	if (!seen)
		return 0;
	fmt = field_fmt(w, d, f, hex);
	put_key(w, count, f->name);
	if (f->type == PROTOBUF_C_TYPE_MESSAGE && seen > 1)
		return write_merged(w, v, f, &all, fmt.hex, depth + 1);
	return put_value(w, v, f, &fmt, &last, depth);
}

static int write_field(struct jw *w, const struct view *v, const ProtobufCMessageDescriptor *d,
		       const ProtobufCFieldDescriptor *f, struct occurrences *it, int hex,
		       int depth, size_t *count)
{
	int r;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		r = write_repeated(w, v, d, f, it, hex, depth, count);
	else
		r = write_singular(w, v, d, f, it, hex, depth, count);
	if (r)
		crit_error_push_path(w->err, f->name, -1);
	return r;
}

/* Finds fields by number, in constant time when the numbers come in
 * increasing order, as they do in CRIU's images: protobuf-c sorts a
 * descriptor's fields by number, so a cursor walks them. */
struct field_cursor {
	const ProtobufCMessageDescriptor *d;
	unsigned i; /* fields before i have numbers below the last asked */
};

static const ProtobufCFieldDescriptor *find_field(struct field_cursor *c, uint32_t number)
{
	const ProtobufCMessageDescriptor *d = c->d;

	if (c->i > 0 && number <= d->fields[c->i - 1].id)
		return protobuf_c_message_descriptor_get_field(d, number);
	while (c->i < d->n_fields && d->fields[c->i].id < number)
		c->i++;
	return c->i < d->n_fields && d->fields[c->i].id == number ? &d->fields[c->i] : NULL;
}

/* Check that every field of the message reads, count those the schema
 * does not know, and tell whether the fields come in field-number order
 * with no singular field twice: then one pass in wire order writes them
 * in crit's order. CRIU's images always do. */
static int scan_fields(struct jw *w, const struct view *v, const ProtobufCMessageDescriptor *d,
		       int *in_order)
{
	const uint8_t *p = v->p, *end = v->p + v->len;
	struct field_cursor fc = { d, 0 };
	uint32_t last = 0;
	int last_singular = 0;

	*in_order = 1;
	while (p < end) {
		const ProtobufCFieldDescriptor *f;
		struct wire_field wf;
		size_t n = wire_read_field(p, end, &wf);

		if (!n) {
			uint32_t number = wire_field_number(p, end);

			fail_at(w, v, p, "%s", wire_field_error(p, end));
			f = number ? protobuf_c_message_descriptor_get_field(d, number) : NULL;
			if (f) /* a value that does not read: say whose */
				crit_error_push_path(w->err, f->name, -1);
			return -1;
		}
		f = find_field(&fc, wf.number);
		if (!f)
			w->st->unknown_fields++;
		if (wf.number < last || (wf.number == last && last_singular))
			*in_order = 0;
		last = wf.number;
		last_singular = f && f->label != PROTOBUF_C_LABEL_REPEATED;
		p += n;
	}
	return 0;
}

/* One pass in wire order, which is crit's when the fields come in number
 * order with no singular field twice, as CRIU writes them: 1 if they do
 * not (the caller takes back what was written), 0 done, -1 error. */
static int write_in_wire_order(struct jw *w, const struct view *v,
			       const ProtobufCMessageDescriptor *d, int hex, int depth,
			       size_t *count)
{
	struct occurrences it = { v->p, v->p + v->len, 0, 1, { 0 }, 0 };
	struct field_cursor fc = { d, 0 };
	uint32_t last = 0;
	int last_singular = 0;

	while (it.p < it.end) {
		const ProtobufCFieldDescriptor *f;

		if (!peek_field(&it)) {
			uint32_t number = wire_field_number(it.p, it.end);

			fail_at(w, v, it.p, "%s", wire_field_error(it.p, it.end));
			f = number ? protobuf_c_message_descriptor_get_field(d, number) : NULL;
			if (f) /* a value that does not read: say whose */
				crit_error_push_path(w->err, f->name, -1);
			return -1;
		}
		if (it.ahead.number < last || (it.ahead.number == last && last_singular))
			return 1;
		f = find_field(&fc, it.ahead.number);
		last = it.ahead.number;
		last_singular = f && f->label != PROTOBUF_C_LABEL_REPEATED;
		if (!f) {
			w->st->unknown_fields++;
			skip_field(&it);
			continue;
		}
		it.number = it.ahead.number;
		if (write_field(w, v, d, f, &it, hex, depth, count))
			return -1;
	}
	return 0;
}

static int write_in_number_order(struct jw *w, const struct view *v,
				 const ProtobufCMessageDescriptor *d, int hex, int depth,
				 size_t *count)
{
	unsigned i;

	for (i = 0; i < d->n_fields; i++) {
		struct occurrences it = { v->p, v->p + v->len, d->fields[i].id, 0, { 0 }, 0 };

		if (write_field(w, v, d, &d->fields[i], &it, hex, depth, count))
			return -1;
	}
	return 0;
}

/* The fields of a message into an open object; `hex` is inherited. */
static int write_fields(struct jw *w, const struct view *v, const ProtobufCMessageDescriptor *d,
			int hex, int depth, size_t *count)
{
	int in_order;

	size_t mark = w->out->len, count_before = *count;
	uint64_t unknown_before = w->st->unknown_fields;
	int r;

	if (depth > JSON_WRITE_MAX_DEPTH)
		return fail_at(w, v, v->p, "%s", "nesting too deep");
	/* The message is read once when in order (a pass to check the order
	 * first was a tenth of a show); out of order, what was written is
	 * taken back (the output drains between entries only). */
	r = write_in_wire_order(w, v, d, hex, depth, count);
	if (r <= 0)
		return r;
	w->out->len = mark;
	*count = count_before;
	w->st->unknown_fields = unknown_before; /* nested messages' too */
	if (scan_fields(w, v, d, &in_order))
		return -1;
	return write_in_number_order(w, v, d, hex, depth, count);
}

static int write_message(struct jw *w, const struct view *v, const ProtobufCMessageDescriptor *d,
			 int hex, int depth)
{
	size_t count = 0;

	put_open(w, '{');
	if (write_fields(w, v, d, hex, depth, &count))
		return -1;
	put_close(w, '}', count);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Payloads                                                             */

/* crit's human_readable(): "%d%sB" when the size is a whole number of its
 * unit, else "%.1f%sB". Python divides floats by 1024, which is exact for
 * integers below 2^53 (payloads are never that large: they lie in the
 * image), and %.1f rounds the exact quotient half to even. */
static void put_human_size(struct jw *w, uint64_t n)
{
	static const char *const units[] = { "", "K", "M", "G", "T", "P", "E" };
	unsigned k = 0, shift;
	uint64_t whole, rest, tenths, below, half;

	while (k < 6 && n >> (10 * (k + 1))) /* below 2^64, "E" is the last unit */
		k++;
	shift = 10 * k;
	whole = n >> shift;
	rest = n - (whole << shift);
	buf_put(w->out, "\"... <", 6);
	if (rest) {
		tenths = (rest * 10) >> shift; /* rest < 2^60 */
		below = rest * 10 - (tenths << shift);
		half = (uint64_t)1 << (shift - 1);
		if (below > half || (below == half && (tenths & 1)))
			tenths++;
		if (tenths == 10) {
			whole++;
			tenths = 0;
		}
		buf_put_u64(w->out, whole);
		buf_putc(w->out, '.');
		buf_putc(w->out, (uint8_t)('0' + tenths));
	} else {
		buf_put_u64(w->out, whole);
	}
	buf_put_str(w->out, units[k]);
	buf_put(w->out, "B>\"", 3);
}

/* The size crit's --nopl prints for a queue: message and data sizes. */
static uint64_t queue_size(const struct payload_desc *pd, const struct view *msg,
			   const struct view *pl, struct crit_error *err)
{
	struct image_queue q;
	struct image_queue_item it;
	uint64_t size = 0;

	image_queue_init(&q, pd, msg->p, msg->len, pl->p, pl->len);
	while (image_queue_next(&q, &it, err) > 0) /* the image cursor walked it */
		size += it.msg_len + it.data_len;
	return size;
}

/* [ipc_msg, data, ipc_msg, data, ...]: crit converts the messages without
 * its pretty options, so they stay numbers even in `crit show`. */
static int write_queue(struct jw *w, const struct payload_desc *pd, const struct view *msg,
		       const struct view *pl)
{
	struct image_queue q;
	struct image_queue_item it;
	int human = w->human, r = 0;
	size_t items = 0;
	long k = 0;

	put_open(w, '[');
	w->human = 0;
	image_queue_init(&q, pd, msg->p, msg->len, pl->p, pl->len);
	while ((r = image_queue_next(&q, &it, w->err)) > 0) {
		struct view m = { it.msg, it.msg_len, offset_of(pl, it.msg), pl->copy };

		put_sep(w, &items);
		r = write_message(w, &m, pd->item, 0, 0);
		if (r) {
			crit_error_push_path(w->err, NULL, k);
			break;
		}
		put_sep(w, &items);
		put_base64(w, it.data, (size_t)it.data_len);
		k += 2;
	}
	w->human = human;
	if (r)
		return -1;
	put_close(w, ']', items);
	return 0;
}

static int write_tcp_queues(struct jw *w, const struct payload_desc *pd, const struct view *msg,
			    const struct view *pl)
{
	uint64_t inq = wire_varint_or_zero(msg->p, msg->len, pd->size[0]);
	size_t items = 0;

	if (inq > pl->len)
		return fail_at(w, pl, pl->p, "%s", "inq_len past the end of the payload");
	put_open(w, '{');
	put_key(w, &items, "inq");
	put_base64(w, pl->p, (size_t)inq);
	put_key(w, &items, "outq");
	put_base64(w, pl->p + inq, pl->len - (size_t)inq);
	put_close(w, '}', items);
	return 0;
}

static void write_semaphores(struct jw *w, const uint8_t *p, uint64_t nsems)
{
	size_t items = 0;
	uint64_t i;

	put_open(w, '[');
	for (i = 0; i < nsems; i++) {
		put_sep(w, &items);
		buf_put_u64(w->out, (uint64_t)p[2 * i] | (uint64_t)p[2 * i + 1] << 8);
	}
	put_close(w, ']', items);
}

/* "extra": the payload of an entry, by kind, as crit's handlers load it. */
static int write_extra(struct jw *w, const struct payload_desc *pd, const struct view *msg,
		       const struct view *pl, size_t *count)
{
	uint64_t size = pl->len; /* the bytes to show; padding excluded */

	if (pd->kind == PAYLOAD_NONE || image_payload_skipped(pd, msg->p, msg->len))
		return 0;
	if (pd->kind == PAYLOAD_GHOST || pd->kind == PAYLOAD_GHOST_CHUNK) {
		if (w->nopl) /* crit skips ghost data without a word */
			return 0;
	} else if (pd->item) {
		if (w->nopl)
			size = queue_size(pd, msg, pl, w->err);
	} else {
		image_payload_data_len(pd, msg->p, msg->len, &size);
	}
	if (size > pl->len)
		return fail_at(w, pl, pl->p, "%s", "payload size past the end of the payload");
	put_key(w, count, "extra");
	if (w->nopl) {
		put_human_size(w, size);
		return 0;
	}
	switch (pd->kind) {
	case PAYLOAD_TCP:
		return write_tcp_queues(w, pd, msg, pl);
	case PAYLOAD_IPC_SEM:
		write_semaphores(w, pl->p, size / pd->unit);
		return 0;
	case PAYLOAD_IPC_MSG:
		return write_queue(w, pd, msg, pl);
	default:
		put_base64(w, pl->p, (size_t)size);
		return 0;
	}
}

/* ------------------------------------------------------------------ */
/* Entries and images                                                   */

static int write_entry(struct jw *w, const struct image_header *h, const uint8_t *data,
		       size_t index, int chunked, const struct entry_loc *loc)
{
	struct view msg = { data + loc->start + 4, loc->msg_len, loc->start + 4, 0 };
	struct view pl = { msg.p + msg.len, (size_t)loc->payload_len, msg.off + msg.len, 0 };
	size_t count = 0;

	w->err->entry = (long)index;
	put_open(w, '{');
	if (write_fields(w, &msg, schema_entry_desc(h->type, index), 0, 0, &count))
		return -1;
	if (write_extra(w, schema_entry_payload(h->type, index, chunked), &msg, &pl, &count)) {
		crit_error_push_path(w->err, "extra", -1);
		return -1;
	}
	put_close(w, '}', count);
	return w->out->failed ? output_failed(w) : 0;
}

#define CONSUMED_STEP (2u << 20) /* how often the writer reports its progress */

int json_write_image(struct buf *out, const struct image_header *h, const uint8_t *data,
		     size_t len, const struct json_write_opts *o, struct json_write_stats *st,
		     struct crit_error *err)
{
	struct jw w;
	struct image_cursor c;
	struct entry_loc loc;
	size_t top = 0, items = 0;
	uint64_t reported = 0;
	int r;

	jw_init(&w, out, o, st, err);
	if (h->type->layout == LAYOUT_RAW)
		return crit_fail(err, "%s", JSON_WRITE_RAW_MSG);
	put_open(&w, '{');
	put_key(&w, &top, "magic");
	put_quoted(&w, h->type->name);
	put_key(&w, &top, "entries");
	put_open(&w, '[');
	image_cursor_init(&c, h, data, len);
	c.need = o->need;
	c.need_unit = o->need_unit;
	c.need_ctx = o->ctx;
	while ((r = image_cursor_next(&c, &loc, err)) > 0) {
		put_sep(&w, &items);
		if (write_entry(&w, h, data, c.index - 1, c.chunked, &loc)) {
			r = -1;
			break;
		}
		st->entries++;
		if (o->consumed && c.pos - reported >= CONSUMED_STEP) {
			o->consumed(o->ctx, c.pos);
			reported = c.pos;
		}
	}
	jw_free(&w);
	if (r < 0)
		return -1;
	put_close(&w, ']', items);
	put_close(&w, '}', top);
	if (o->newline)
		buf_putc(out, '\n');
	return out->failed ? output_failed(&w) : 0;
}

int json_write_entry(struct buf *out, const struct image_header *h, const uint8_t *data,
		     size_t index, int chunked, const struct entry_loc *loc,
		     const struct json_write_opts *o, struct json_write_stats *st,
		     struct crit_error *err)
{
	struct jw w;
	int r;

	jw_init(&w, out, o, st, err);
	if (h->type->layout == LAYOUT_RAW)
		return crit_fail(err, "%s", JSON_WRITE_RAW_MSG);
	r = write_entry(&w, h, data, index, chunked, loc);
	jw_free(&w);
	if (r)
		return -1;
	st->entries = 1;
	if (o->newline)
		buf_putc(out, '\n');
	return out->failed ? output_failed(&w) : 0;
}
