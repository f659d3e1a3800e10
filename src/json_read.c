/* crit encode: crit's JSON (crit 4.2's decode and show, Debian crit 3.17's)
 * to a CRIU image. The document is read in chunks; each entry becomes a
 * small tree, so that its keys may come in any order, and the tree is then
 * written in field-number order, byte for byte as protobuf-c writes it.
 * Integers are exact to 64 bits: no value ever goes through a double.
 *
 * Where this is stricter than crit, on purpose: losing data without a word
 * is worse than an error.
 *  - An unknown key is an error that names it (crit ignores it), and so is
 *    a duplicate key (Python's json keeps the last one).
 *  - A payload must have the size its entry's length fields give (crit
 *    writes whatever it is given).
 *  - Integer fields take integers: 1.0 and 1e3 are refused (crit truncates).
 *  - Base64 data after the closing '=' is refused: CPython 3.11 drops it,
 *    3.13 decodes it.
 *  - An IP address list holds one string (crit reads the first); a device
 *    is exactly "major:minor".
 *  - "entries" before "magic" (crit always writes "magic" first) works for
 *    a document in memory; a stream, read once, must have "magic" first.
 *  - Python's int() also takes non-ASCII digits and spaces; we take ASCII.
 */
#include "json_read.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "image.h"
#include "maps.h"
#include "wire.h"

#define JSON_CHUNK (64 * 1024)	/* a stream is read this much at a time */
#define ARENA_BLOCK (64 * 1024) /* an entry's tree grows by this much */
#define EXTRA_KEY "extra"	/* an entry's payload, as crit names it */
#define OPT_CACHE_SIZE 1024	/* fields whose (criu) options are remembered */

/* src_peek's answers besides a byte. */
#define SRC_END (-1)
#define SRC_ERROR (-2)

/* crit 3.17's pagemap_entry had nr_pages where compat_nr_pages is now. */
#define PAGEMAP_COMPAT_NR_PAGES 2
#define PAGEMAP_NR_PAGES 5

/* ------------------------------------------------------------------ */
/* The reader                                                           */

enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

/* A place in the input: its line in the high 32 bits, its column (in
 * characters) in the low 32, so that moving along a line is one addition
 * and a place is copied in one register. (A line longer than 2^32
 * characters would misplace an error message, nothing else.) */
typedef uint64_t jpos_t;
#define JPOS(line, column) ((uint64_t)(line) << 32 | (uint64_t)(column))
#define JPOS_LINE(p) ((long)((p) >> 32))
#define JPOS_COLUMN(p) ((long)((p) & 0xffffffffu))

/* A JSON value of the entry being read. */
struct jnode {
	enum jtype type;
	jpos_t at;	    /* where the value starts */
	jpos_t key_at; /* where its key starts, in an object */
	const char *key;    /* its key (NUL-terminated), or NULL in an array */
	size_t key_len;
	const char *text;   /* a string's bytes or a number's text, NUL-terminated */
	size_t len;	    /* bytes of text, or the number of children */
	struct jnode *first, *next; /* children; next sibling */
};

/* Bump allocation for one entry's tree, emptied between entries. */
struct arena_block {
	struct arena_block *next;
	size_t used, size;
	uint64_t data[]; /* 8-byte aligned: enough for nodes */
};

struct arena {
	struct arena_block *head; /* filled first; big strings sit behind it */
};

/* For each message being encoded, innermost last, a frame of slots: the
 * member given for each of its fields. Frames are addressed by offset, as
 * v moves when it grows. */
struct slot_stack {
	const struct jnode **v;
	size_t len, cap;
};

struct json_reader {
	const uint8_t *p, *end; /* unread input: the document, or the chunk */
	jpos_t pos;	/* of *p */
	json_read_fn read;	/* NULL: the document is in memory */
	void *ctx;
	uint8_t *chunk;
	int eof, read_errno;

	struct buf scratch; /* the string or number being lexed, NUL-terminated */
	struct buf msg;	    /* the entry's message */
	struct arena arena; /* the entry's tree */
	struct slot_stack slots;

	struct buf *out;
	const struct image_type *type;
	uint64_t count;	/* entries written */
	int chunked;	/* ghost file: the first entry has chunks */
	struct crit_error *err;
	/* The (criu) options of the fields seen, by descriptor address:
	 * schema_field_opt compares names, for every field of every entry. */
	struct {
		const ProtobufCFieldDescriptor *f;
		const struct criu_field_opt *opt;
	} opts[OPT_CACHE_SIZE];
};

/* ------------------------------------------------------------------ */
/* Memory                                                               */

static void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	int dedicated;

	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + 7) & ~(size_t)7;
	if (b && b->size - b->used >= n) {
		void *p = (uint8_t *)b->data + b->used;
		b->used += n;
		return p;
	}
	dedicated = n > ARENA_BLOCK / 4;
	b = malloc(sizeof(*b) + (dedicated ? n : ARENA_BLOCK));
	if (!b)
		return NULL;
	b->size = dedicated ? n : ARENA_BLOCK;
	b->used = n;
	if (dedicated && a->head) {
		b->next = a->head->next;
		a->head->next = b;
	} else {
		b->next = a->head;
		a->head = b;
	}
	return b->data;
}

/* Free the tree; keep one ordinary block, so that small entries, one after
 * another, allocate nothing. */
static void arena_reset(struct arena *a)
{
	struct arena_block *b, *next, *keep = NULL;

	for (b = a->head; b; b = next) {
		next = b->next;
		if (!keep && b->size == ARENA_BLOCK) {
			keep = b;
			keep->used = 0;
			keep->next = NULL;
		} else {
			free(b);
		}
	}
	a->head = keep;
}

static void arena_free(struct arena *a)
{
	arena_reset(a);
	free(a->head);
	a->head = NULL;
}

/* A frame of n empty slots; its offset in *base. */
static int slots_push(struct slot_stack *s, size_t n, size_t *base)
{
	if (s->cap - s->len < n) {
		size_t cap = s->cap ? s->cap : 256;
		const struct jnode **v;

		while (cap - s->len < n)
			cap *= 2;
		v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -1;
		s->v = v;
		s->cap = cap;
	}
	*base = s->len;
	memset(s->v + s->len, 0, n * sizeof(*s->v));
	s->len += n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Errors                                                               */

static struct crit_error *at(struct crit_error *err, jpos_t pos)
{
	err->line = JPOS_LINE(pos);
	err->column = JPOS_COLUMN(pos);
	return err;
}

static int out_of_memory(struct json_reader *r)
{
	return crit_fail(at(r->err, r->pos), "out of memory");
}

/* Text from the input in a message: quoted, cut at 40 bytes, and every
 * byte that is not printable ASCII as \xNN, so that it cannot garble a
 * terminal. */
struct shown {
	char s[200];
};

static const char *show(struct shown *sh, const char *p, size_t len)
{
	size_t i, n = 0;

	sh->s[n++] = '"';
	for (i = 0; i < len && i < 40; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			sh->s[n++] = (char)c;
		else
			n += (size_t)snprintf(sh->s + n, 5, "\\x%02x", c);
	}
	sh->s[n++] = '"';
	sh->s[n] = 0;
	if (len > 40)
		strcat(sh->s, "...");
	return sh->s;
}

/* A key as a path component: printable ASCII, cut to fit. */
static void push_key(struct crit_error *err, const char *key, size_t len)
{
	char name[64];
	size_t i;

	for (i = 0; i < len && i < sizeof(name) - 1; i++)
		name[i] = key[i] > 0x20 && key[i] < 0x7f ? key[i] : '?';
	name[i] = 0;
	crit_error_push_path(err, name, -1);
}

static const char *json_kind(const struct jnode *n)
{
	static const char *const kinds[] = {
		"null", "false", "true", "a number", "a string", "an array", "an object",
	};
	return kinds[n->type];
}

static int type_error(struct crit_error *err, const struct jnode *n, const char *wanted)
{
	return crit_fail(at(err, n->at), "expected %s, got %s", wanted, json_kind(n));
}

/* ------------------------------------------------------------------ */
/* Input: a document in memory, or chunks of a stream                   */

static int src_refill(struct json_reader *r)
{
	ssize_t n;

	if (!r->read || r->eof)
		return r->read_errno ? SRC_ERROR : SRC_END;
	n = r->read(r->ctx, r->chunk, JSON_CHUNK);
	if (n <= 0) {
		r->eof = 1;
		if (n == 0)
			return SRC_END;
		r->read_errno = errno ? errno : EIO;
		return SRC_ERROR;
	}
	r->p = r->chunk;
	r->end = r->chunk + n;
	return *r->p;
}

/* The next byte, without taking it; SRC_END or SRC_ERROR. */
static inline int src_peek(struct json_reader *r)
{
	return r->p < r->end ? *r->p : src_refill(r);
}

/* Take the byte src_peek returned. Columns count characters: a UTF-8
 * continuation byte does not move them. */
static inline void src_next(struct json_reader *r)
{
	uint8_t c = *r->p++;

	if (c == '\n') {
		r->pos = JPOS(JPOS_LINE(r->pos) + 1, 1);
	} else if ((c & 0xc0) != 0x80) {
		r->pos++;
	}
}

/* Skip whitespace; the next byte. Spaces, all crit's compact JSON has
 * between tokens, are skipped without a byte-by-byte column count. */
static int peek_token(struct json_reader *r)
{
	const uint8_t *p = r->p;
	int c;

	while (p < r->end && *p == ' ')
		p++;
	r->pos += (uint64_t)(p - r->p);
	r->p = p;
	while ((c = src_peek(r)) == ' ' || c == '\n' || c == '\t' || c == '\r')
		src_next(r);
	return c;
}

static int syntax_error(struct json_reader *r, int c, const char *expected)
{
	at(r->err, r->pos);
	if (c < 0) /* a read error is reported by json_read_image */
		return crit_fail(r->err, "unexpected end of the input, expected %s", expected);
	if (c > 0x20 && c < 0x7f)
		return crit_fail(r->err, "unexpected '%c', expected %s", c, expected);
	return crit_fail(r->err, "unexpected byte 0x%02x, expected %s", (unsigned)c, expected);
}

/* ------------------------------------------------------------------ */
/* Lexing: strings and numbers go to r->scratch                         */

static int scratch_done(struct json_reader *r)
{
	if (buf_putc(&r->scratch, 0))
		return out_of_memory(r);
	r->scratch.len--;
	return 0;
}

static void take(struct json_reader *r)
{
	buf_putc(&r->scratch, *r->p);
	src_next(r);
}

/* The run of bytes that stand for themselves in a string, at once. */
static void take_plain_run(struct json_reader *r)
{
	const uint8_t *p = r->p;

	while (p < r->end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
		p++;
	buf_put(&r->scratch, r->p, (size_t)(p - r->p));
	r->pos += (uint64_t)(p - r->p);
	r->p = p;
}

static void put_utf8(struct buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		buf_putc(b, (uint8_t)cp);
	} else if (cp < 0x800) {
		buf_putc(b, (uint8_t)(0xc0 | cp >> 6));
		buf_putc(b, (uint8_t)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		buf_putc(b, (uint8_t)(0xe0 | cp >> 12));
		buf_putc(b, (uint8_t)(0x80 | (cp >> 6 & 0x3f)));
		buf_putc(b, (uint8_t)(0x80 | (cp & 0x3f)));
	} else {
		buf_putc(b, (uint8_t)(0xf0 | cp >> 18));
		buf_putc(b, (uint8_t)(0x80 | (cp >> 12 & 0x3f)));
		buf_putc(b, (uint8_t)(0x80 | (cp >> 6 & 0x3f)));
		buf_putc(b, (uint8_t)(0x80 | (cp & 0x3f)));
	}
}

/* The four hex digits after "\u". */
static int lex_hex4(struct json_reader *r, jpos_t escape, uint32_t *cp)
{
	int i, d;

	*cp = 0;
	for (i = 0; i < 4; i++) {
		d = conv_hex_digit(src_peek(r));
		if (d < 0)
			return crit_fail(at(r->err, escape), "invalid \\u escape: four hex digits expected");
		*cp = *cp << 4 | (uint32_t)d;
		src_next(r);
	}
	return 0;
}

/* \uXXXX: surrogate pairs combine; a lone \udc80..\udcff is the raw byte
 * 0x80..0xff (Python's surrogateescape, which is how our writer keeps
 * strings that are not UTF-8); any other lone surrogate is an error. */
static int lex_unicode(struct json_reader *r, jpos_t escape)
{
	uint32_t cp, low;

	if (lex_hex4(r, escape, &cp))
		return -1;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (src_peek(r) != '\\')
			goto lone;
		src_next(r);
		if (src_peek(r) != 'u')
			goto lone;
		src_next(r);
		if (lex_hex4(r, escape, &low))
			return -1;
		if (low < 0xdc00 || low > 0xdfff)
			goto lone;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		if (cp < 0xdc80 || cp > 0xdcff)
			goto lone;
		buf_putc(&r->scratch, (uint8_t)(cp - 0xdc00));
		return 0;
	}
	put_utf8(&r->scratch, cp);
	return 0;
lone:
	return crit_fail(at(r->err, escape), "lone surrogate \\u%04" PRIx32 ": only \\udc80 to "
			 "\\udcff may stand alone (for raw bytes)", cp);
}

static int lex_escape(struct json_reader *r)
{
	jpos_t escape = r->pos;
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k;
	int c;

	src_next(r); /* the backslash */
	c = src_peek(r);
	if (c == 'u') {
		src_next(r);
		return lex_unicode(r, escape);
	}
	k = c > 0 ? strchr(from, c) : NULL;
	if (!k || !*k)
		return crit_fail(at(r->err, escape), "invalid escape in a string");
	buf_putc(&r->scratch, (uint8_t)to[k - from]);
	src_next(r);
	return 0;
}

/* One multi-byte UTF-8 character, checked (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), as Python's json requires. */
static int lex_utf8(struct json_reader *r)
{
	jpos_t start = r->pos;
	int c = src_peek(r), lo = 0x80, hi = 0xbf, more, i;

	if (c >= 0xc2 && c <= 0xdf)
		more = 1;
	else if (c >= 0xe0 && c <= 0xef)
		more = 2;
	else if (c >= 0xf0 && c <= 0xf4)
		more = 3;
	else
		return crit_fail(at(r->err, start), "invalid UTF-8 byte 0x%02x", (unsigned)c);
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	take(r);
	for (i = 0; i < more; i++) {
		c = src_peek(r);
		if (c < lo || c > hi)
			return crit_fail(at(r->err, start), "invalid UTF-8 sequence");
		take(r);
		lo = 0x80;
		hi = 0xbf;
	}
	return 0;
}

/* A string, unescaped, into scratch; r is at its opening quote. */
static int lex_string(struct json_reader *r)
{
	jpos_t start = r->pos;
	int c;

	r->scratch.len = 0;
	src_next(r);
	for (;;) {
		take_plain_run(r);
		c = src_peek(r);
		if (c == '"')
			break;
		if (c == '\\') {
			if (lex_escape(r))
				return -1;
		} else if (c < 0) {
			return crit_fail(at(r->err, start), "unterminated string");
		} else if (c < 0x20) {
			return crit_fail(at(r->err, r->pos), "control character 0x%02x in a string "
					 "(write it as \\u%04x)", (unsigned)c, (unsigned)c);
		} else if (c >= 0x80 && lex_utf8(r)) {
			return -1;
		} /* else a plain byte of the next chunk: the next run takes it */
	}
	src_next(r);
	return scratch_done(r);
}

/* A run of digits, a chunk's worth at a time: numbers are most of what
 * crit's JSON holds. */
static int take_digits(struct json_reader *r)
{
	int c, n = 0;

	while ((c = src_peek(r)) >= '0' && c <= '9') {
		const uint8_t *p = r->p;

		while (p < r->end && *p >= '0' && *p <= '9')
			p++;
		buf_put(&r->scratch, r->p, (size_t)(p - r->p));
		r->pos += (uint64_t)(p - r->p);
		n += (int)(p - r->p);
		r->p = p;
	}
	return n;
}

/* A number as JSON writes it, its text into scratch. */
static int lex_number(struct json_reader *r)
{
	jpos_t start = r->pos;
	int c;

	r->scratch.len = 0;
	if (src_peek(r) == '-')
		take(r);
	if (src_peek(r) == '0')
		take(r);
	else if (!take_digits(r))
		goto bad;
	if (src_peek(r) == '.') {
		take(r);
		if (!take_digits(r))
			goto bad;
	}
	c = src_peek(r);
	if (c == 'e' || c == 'E') {
		take(r);
		c = src_peek(r);
		if (c == '+' || c == '-')
			take(r);
		if (!take_digits(r))
			goto bad;
	}
	return scratch_done(r);
bad:
	return crit_fail(at(r->err, start), "invalid number");
}

static int lex_word(struct json_reader *r, const char *word)
{
	jpos_t start = r->pos;

	for (; *word; word++) {
		if (src_peek(r) != (unsigned char)*word)
			return crit_fail(at(r->err, start), "invalid word: expected a value");
		src_next(r);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parsing one value into a tree, or skipping it (out == NULL)          */

static struct jnode *new_node(struct json_reader *r, enum jtype type, jpos_t pos)
{
	struct jnode *n = arena_alloc(&r->arena, sizeof(*n));

	if (n) { /* field by field: a memset here was a fifth of the parse */
		n->type = type;
		n->at = pos;
		n->key_at = 0;
		n->key = NULL;
		n->key_len = 0;
		n->text = NULL;
		n->len = 0;
		n->first = n->next = NULL;
	}
	return n;
}

/* A copy of scratch in the tree. */
static const char *keep_text(struct json_reader *r, size_t *len)
{
	char *s = arena_alloc(&r->arena, r->scratch.len + 1);

	if (s) {
		memcpy(s, r->scratch.data, r->scratch.len + 1);
		*len = r->scratch.len;
	}
	return s;
}

static int parse_value(struct json_reader *r, int depth, struct jnode **out);

static void append_child(struct jnode *parent, struct jnode ***tail, struct jnode *child)
{
	**tail = child;
	*tail = &child->next;
	parent->len++;
}

/* Members of an object, after its '{'. */
static int parse_members(struct json_reader *r, int depth, struct jnode *obj)
{
	struct jnode **tail = obj ? &obj->first : NULL;
	int c = peek_token(r);

	if (c == '}') {
		src_next(r);
		return 0;
	}
	for (;;) {
		jpos_t key_at = r->pos;
		struct jnode *child = NULL;
		const char *key = NULL;
		size_t key_len = 0;
		char name[64]; /* the key for an error's path, when skipping */

		if (c != '"')
			return syntax_error(r, c, "a key string");
		if (lex_string(r))
			return -1;
		if (obj) {
			if (!(key = keep_text(r, &key_len)))
				return out_of_memory(r);
		} else { /* scratch is reused by the value: keep what a path shows */
			key_len = r->scratch.len < sizeof(name) - 1 ? r->scratch.len : sizeof(name) - 1;
			memcpy(name, r->scratch.data, key_len);
			name[key_len] = 0;
		}
		if ((c = peek_token(r)) != ':')
			return syntax_error(r, c, "':' after the key");
		src_next(r);
		if (parse_value(r, depth, obj ? &child : NULL)) {
			push_key(r->err, key ? key : name, strlen(key ? key : name));
			return -1;
		}
		if (child) {
			child->key = key;
			child->key_len = key_len;
			child->key_at = key_at;
			append_child(obj, &tail, child);
		}
		c = peek_token(r);
		if (c == ',') {
			src_next(r);
			c = peek_token(r);
		} else if (c == '}') {
			src_next(r);
			return 0;
		} else {
			return syntax_error(r, c, "',' or '}'");
		}
	}
}

/* Elements of an array, after its '['. */
static int parse_elements(struct json_reader *r, int depth, struct jnode *arr)
{
	struct jnode **tail = arr ? &arr->first : NULL;
	long k;
	int c = peek_token(r);

	if (c == ']') {
		src_next(r);
		return 0;
	}
	for (k = 0;; k++) {
		struct jnode *child = NULL;

		if (parse_value(r, depth, arr ? &child : NULL)) {
			crit_error_push_path(r->err, NULL, k);
			return -1;
		}
		if (child)
			append_child(arr, &tail, child);
		c = peek_token(r);
		if (c == ',') {
			src_next(r);
		} else if (c == ']') {
			src_next(r);
			return 0;
		} else {
			return syntax_error(r, c, "',' or ']'");
		}
	}
}

/* `depth` arrays and objects are open around the value. */
static int parse_value(struct json_reader *r, int depth, struct jnode **out)
{
	int c = peek_token(r);
	jpos_t start = r->pos;
	struct jnode *n = NULL;
	enum jtype type;

	switch (c) {
	case '{':
	case '[':
		if (depth >= JSON_READ_MAX_DEPTH)
			return crit_fail(at(r->err, start), "nested deeper than %d arrays and objects",
					 JSON_READ_MAX_DEPTH);
		if (out && !(n = *out = new_node(r, c == '{' ? J_OBJECT : J_ARRAY, start)))
			return out_of_memory(r);
		src_next(r);
		return c == '{' ? parse_members(r, depth + 1, n) : parse_elements(r, depth + 1, n);
	case '"':
		type = J_STRING;
		if (lex_string(r))
			return -1;
		break;
	case 't':
		type = J_TRUE;
		if (lex_word(r, "true"))
			return -1;
		break;
	case 'f':
		type = J_FALSE;
		if (lex_word(r, "false"))
			return -1;
		break;
	case 'n':
		type = J_NULL;
		if (lex_word(r, "null"))
			return -1;
		break;
	default:
		if (c != '-' && (c < '0' || c > '9'))
			return syntax_error(r, c, "a value");
		type = J_NUMBER;
		if (lex_number(r))
			return -1;
		break;
	}
	if (!out)
		return 0;
	n = *out = new_node(r, type, start);
	if (!n || ((type == J_STRING || type == J_NUMBER) && !(n->text = keep_text(r, &n->len))))
		return out_of_memory(r);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Integers: JSON numbers, and strings as Python's int() reads them     */

/* a += b; -1 past 64 bits of magnitude. */
static int int_add(struct conv_int *a, const struct conv_int *b)
{
	if (a->neg == b->neg) {
		if (b->mag > UINT64_MAX - a->mag)
			return -1;
		a->mag += b->mag;
	} else if (a->mag >= b->mag) {
		a->mag -= b->mag;
	} else {
		a->mag = b->mag - a->mag;
		a->neg = b->neg;
	}
	if (!a->mag)
		a->neg = 0;
	return 0;
}

static int range_error(struct crit_error *err, const struct jnode *n, const char *type)
{
	struct shown sh;

	return crit_fail(at(err, n->at), "%s is out of range for %s", show(&sh, n->text, n->len),
			 type);
}

/* The wire bits of v as field type t, if v is in its range. */
static int fit_integer(struct crit_error *err, ProtobufCType t, const struct jnode *n,
		       const struct conv_int *v, uint64_t *bits)
{
	uint64_t neg_max, pos_max, s;

	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		neg_max = (uint64_t)1 << 31;
		pos_max = INT32_MAX;
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		neg_max = 0;
		pos_max = UINT32_MAX;
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		neg_max = (uint64_t)1 << 63;
		pos_max = INT64_MAX;
		break;
	default:
		neg_max = 0;
		pos_max = UINT64_MAX;
		break;
	}
	if (v->mag > (v->neg ? neg_max : pos_max))
		return range_error(err, n, wire_type_name(t));
	s = v->neg ? 0 - v->mag : v->mag; /* two's complement */
	switch (t) {
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SINT64:
		*bits = wire_zigzag((int64_t)s);
		break;
	case PROTOBUF_C_TYPE_SFIXED32:
		*bits = (uint32_t)s;
		break;
	default: /* negative int32 and enums: ten-byte varints, as protobuf-c */
		*bits = s;
		break;
	}
	return 0;
}

/* A JSON number that must be an integer. */
static int number_value(struct crit_error *err, ProtobufCType t, const struct jnode *n,
			struct conv_int *v)
{
	struct shown sh;
	const char *p = n->text, *end = n->text + n->len;

	/* The common case, a plain integer of up to 19 digits, without
	 * conv_py_int's generality (the lexer has checked the syntax). */
	v->neg = p < end && *p == '-';
	p += v->neg;
	if (end - p <= 19) {
		for (v->mag = 0; p < end && *p >= '0' && *p <= '9'; p++)
			v->mag = v->mag * 10 + (uint64_t)(*p - '0');
		if (p == end) {
			if (!v->mag)
				v->neg = 0;
			return 0;
		}
	}
	switch (conv_py_int(n->text, n->len, 0, v)) {
	case CONV_INT_OK:
		return 0;
	case CONV_INT_TOO_BIG:
		return range_error(err, n, wire_type_name(t));
	default:
		return crit_fail(at(err, n->at), "%s field needs an integer, got %s",
				 wire_type_name(t), show(&sh, n->text, n->len));
	}
}

/* ------------------------------------------------------------------ */
/* crit's strings for integers: int(s, 0), flags, devices, dict names   */

/* [p, p+len) by Python's int(s, 0) or int(s); `what` names the field
 * type for range errors. */
static int string_int(struct crit_error *err, const struct jnode *n, const char *p, size_t len,
		      int base0, const char *what, struct conv_int *v)
{
	struct shown sh;

	switch (conv_py_int(p, len, base0, v)) {
	case CONV_INT_OK:
		return 0;
	case CONV_INT_TOO_BIG:
		return crit_fail(at(err, n->at), "%s is out of range for %s", show(&sh, p, len), what);
	default:
		return crit_fail(at(err, n->at), "invalid integer %s (strings are read as Python's "
				 "int(s, %d))", show(&sh, p, len), base0 ? 0 : 10);
	}
}

static void strip_py_space(const char **p, const char **end)
{
	while (*p < *end && conv_py_space((unsigned char)**p))
		(*p)++;
	while (*end > *p && conv_py_space((unsigned char)(*end)[-1]))
		(*end)--;
}

/* "A | B | 0x40": names of the field's flags map or integers, summed as
 * crit sums them; "" is 0. */
static int flags_value(struct crit_error *err, const struct flag_map *fm, const struct jnode *n,
		       const char *type, struct conv_int *v)
{
	const char *p = n->text, *end = n->text + n->len;

	v->mag = 0;
	v->neg = 0;
	if (n->len == 0)
		return 0;
	for (;;) {
		const char *bar = memchr(p, '|', (size_t)(end - p)), *q = p, *qe = bar ? bar : end;
		struct conv_int part;
		size_t i;

		strip_py_space(&q, &qe);
		for (i = 0; i < fm->n; i++)
			if (strlen(fm->bits[i].name) == (size_t)(qe - q) &&
			    memcmp(fm->bits[i].name, q, (size_t)(qe - q)) == 0)
				break;
		if (i < fm->n) {
			part.mag = fm->bits[i].value;
			part.neg = 0;
		} else {
			enum conv_int_status ip = conv_py_int(q, (size_t)(qe - q), 1, &part);
			struct shown sh;

			if (ip == CONV_INT_TOO_BIG)
				return range_error(err, n, type);
			if (ip != CONV_INT_OK)
				return crit_fail(at(err, n->at), "unknown %s flag %s", fm->name,
						 show(&sh, q, (size_t)(qe - q)));
		}
		if (int_add(v, &part))
			return range_error(err, n, type);
		if (!bar)
			return 0;
		p = bar + 1;
	}
}

/* "major:minor", as the kernel's dev_t (minor in the low 20 bits) or, for
 * (criu).odev, glibc's makedev(). */
static int dev_value(struct crit_error *err, const struct criu_field_opt *opt,
		     const struct jnode *n, const char *type, struct conv_int *v)
{
	const char *colon = memchr(n->text, ':', n->len), *end = n->text + n->len;
	struct conv_int major, minor;
	struct shown sh;

	if (!colon || memchr(colon + 1, ':', (size_t)(end - colon - 1)))
		return crit_fail(at(err, n->at), "expected \"major:minor\", got %s",
				 show(&sh, n->text, n->len));
	if (string_int(err, n, n->text, (size_t)(colon - n->text), 0, "a major number", &major) ||
	    string_int(err, n, colon + 1, (size_t)(end - colon - 1), 0, "a minor number", &minor))
		return -1;
	if (major.neg || minor.neg)
		return range_error(err, n, type);
	v->neg = 0;
	if (conv_dev_join(major.mag, minor.mag, (opt->bits & CRIU_OPT_ODEV) != 0, &v->mag))
		return range_error(err, n, type);
	return 0;
}

/* An integer field given as a string, read as crit's _dict2pb_cast does:
 * a device, flags, a dict name, or int(s, 0). */
static int string_value(struct crit_error *err, const ProtobufCFieldDescriptor *f,
			const struct criu_field_opt *opt, const struct jnode *n,
			struct conv_int *v)
{
	const char *type = wire_type_name(f->type);
	const struct flag_map *fm;
	int64_t dv;

	if (opt && (opt->bits & CRIU_OPT_DEV))
		return dev_value(err, opt, n, type, v);
	if (opt && opt->flags && (fm = maps_flags(opt->flags)))
		return flags_value(err, fm, n, type, v);
	if (opt && opt->dict && strlen(n->text) == n->len &&
	    maps_dict_value(opt->dict, f->name, n->text, &dv)) {
		v->neg = dv < 0;
		v->mag = dv < 0 ? 0 - (uint64_t)dv : (uint64_t)dv;
		return 0;
	}
	return string_int(err, n, n->text, n->len, 1, type, v);
}

/* ------------------------------------------------------------------ */
/* crit's strings for bytes: base64, quoted-printable, IP addresses     */

static int decode_base64(struct crit_error *err, const struct jnode *n, struct buf *out,
			 uint64_t *count)
{
	const char *why = conv_base64_decode((const uint8_t *)n->text, n->len, out, count);

	return why ? crit_fail(at(err, n->at), "%s", why) : 0;
}

static int decode_quoted_printable(struct crit_error *err, const struct jnode *n,
				   struct buf *out)
{
	size_t bad;

	if (conv_quopri_decode((const uint8_t *)n->text, n->len, out, &bad))
		return crit_fail(at(err, n->at), "quoted-printable text must be ASCII, got byte "
				 "0x%02x", (unsigned char)n->text[bad]);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Messages                                                             */

struct encoder {
	struct json_reader *r;
	struct buf *msg;
	struct crit_error *err;
	int old_pagemap; /* crit 3.17's pagemap_entry: nr_pages is field 2 */
};

static size_t open_length(struct buf *out, uint32_t number)
{
	size_t mark;

	wire_put_key(out, number, WIRE_LEN);
	mark = out->len;
	buf_putc(out, 0);
	return mark;
}

static int scalar_bits(struct encoder *e, const ProtobufCFieldDescriptor *f,
		       const struct criu_field_opt *opt, const struct jnode *n, uint64_t *bits)
{
	struct conv_int v;
	struct shown sh;

	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		if (n->type != J_TRUE && n->type != J_FALSE)
			return type_error(e->err, n, "true or false");
		*bits = n->type == J_TRUE;
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		if (n->type == J_STRING) {
			const ProtobufCEnumDescriptor *ed = f->descriptor;
			const ProtobufCEnumValue *ev = strlen(n->text) == n->len ?
				protobuf_c_enum_descriptor_get_value_by_name(ed, n->text) : NULL;
			if (!ev)
				return crit_fail(at(e->err, n->at), "unknown %s value %s", ed->name,
						 show(&sh, n->text, n->len));
			*bits = (uint64_t)(int64_t)ev->value;
			return 0;
		}
		if (n->type != J_NUMBER)
			return type_error(e->err, n, "an enum name or number");
		break;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE: /* CRIU's schema has none */
		return crit_fail(at(e->err, n->at), "%s fields are not supported",
				 wire_type_name(f->type));
	default:
		if (n->type == J_STRING) {
			if (string_value(e->err, f, opt, n, &v))
				return -1;
			return fit_integer(e->err, f->type, n, &v, bits);
		}
		if (n->type != J_NUMBER)
			return type_error(e->err, n, "an integer");
		break;
	}
	if (number_value(e->err, f->type, n, &v))
		return -1;
	return fit_integer(e->err, f->type, n, &v, bits);
}

static int encode_message(struct encoder *e, const ProtobufCMessageDescriptor *d,
			  const struct jnode *obj, int top);

static const struct criu_field_opt *field_opt(struct json_reader *r,
					     const ProtobufCMessageDescriptor *d,
					     const ProtobufCFieldDescriptor *f)
{
	size_t slot = (size_t)(((uintptr_t)f / sizeof(*f)) * 0x9e3779b97f4a7c15u >> 40) % OPT_CACHE_SIZE;

	if (r->opts[slot].f != f) {
		r->opts[slot].f = f;
		r->opts[slot].opt = schema_field_opt(d, f);
	}
	return r->opts[slot].opt;
}

/* One value of field f, key included. */
static int encode_value(struct encoder *e, const ProtobufCFieldDescriptor *f,
			const struct criu_field_opt *opt, const struct jnode *n)
{
	struct buf *m = e->msg;
	uint64_t bits, count;
	size_t mark;
	int r;

	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		if (n->type != J_STRING)
			return type_error(e->err, n, "a string");
		wire_put_key(m, f->id, WIRE_LEN);
		wire_put_varint(m, n->len);
		buf_put(m, n->text, n->len);
		return 0;
	case PROTOBUF_C_TYPE_BYTES:
		if (n->type != J_STRING)
			return type_error(e->err, n, opt && opt->conv ? "a quoted-printable string"
							      : "a base64 string");
		if (opt && opt->conv && strcmp(opt->conv, "unix_name") != 0)
			return crit_fail(at(e->err, n->at), "unknown (criu).conv \"%s\"", opt->conv);
		mark = open_length(m, f->id);
		r = opt && opt->conv ? decode_quoted_printable(e->err, n, m)
				     : decode_base64(e->err, n, m, &count);
		wire_close_length(m, mark);
		return r;
	case PROTOBUF_C_TYPE_MESSAGE:
		mark = open_length(m, f->id);
		r = encode_message(e, f->descriptor, n, 0);
		wire_close_length(m, mark);
		return r;
	default:
		if (scalar_bits(e, f, opt, n, &bits))
			return -1;
		wire_put_key(m, f->id, wire_type_of(f->type));
		wire_put_scalar(m, f->type, bits);
		return 0;
	}
}

/* Repeated scalars: a key each, or one length-delimited run if packed. */
static size_t begin_repeated(struct buf *m, const ProtobufCFieldDescriptor *f)
{
	return (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED) ? open_length(m, f->id) : 0;
}

static void put_element(struct buf *m, const ProtobufCFieldDescriptor *f, uint64_t bits)
{
	if (!(f->flags & PROTOBUF_C_FIELD_FLAG_PACKED))
		wire_put_key(m, f->id, wire_type_of(f->type));
	wire_put_scalar(m, f->type, bits);
}

static void end_repeated(struct buf *m, const ProtobufCFieldDescriptor *f, size_t mark)
{
	if (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED)
		wire_close_length(m, mark);
}

/* (criu).ipadd given as ["10.0.0.1"] or ["fe80::1"]: one word or four. */
static int encode_address(struct encoder *e, const ProtobufCFieldDescriptor *f,
			  const struct jnode *arr)
{
	const struct jnode *n = arr->first;
	uint32_t words[4];
	size_t count, i, mark;
	struct shown sh;

	if (arr->len != 1)
		return crit_fail(at(e->err, n->next->at), "an address is a list of one string, "
				 "like [\"10.0.0.1\"]");
	count = conv_ip_parse(n->text, n->len, words);
	if (!count) {
		crit_error_push_path(e->err, NULL, 0);
		return crit_fail(at(e->err, n->at), "%s is not an IPv4 or IPv6 address",
				 show(&sh, n->text, n->len));
	}
	mark = begin_repeated(e->msg, f);
	for (i = 0; i < count; i++)
		put_element(e->msg, f, words[i]);
	end_repeated(e->msg, f, mark);
	return 0;
}

static int encode_repeated(struct encoder *e, const ProtobufCFieldDescriptor *f,
			   const struct criu_field_opt *opt, const struct jnode *arr)
{
	const struct jnode *c;
	size_t mark;
	long k;
	uint64_t bits;

	if (arr->type != J_ARRAY)
		return type_error(e->err, arr, "an array");
	if (!arr->first)
		return 0;
	if (opt && (opt->bits & CRIU_OPT_IPADD) && arr->first->type == J_STRING)
		return encode_address(e, f, arr);
	if (wire_type_of(f->type) == WIRE_LEN) {
		for (c = arr->first, k = 0; c; c = c->next, k++) {
			if (encode_value(e, f, opt, c)) {
				crit_error_push_path(e->err, NULL, k);
				return -1;
			}
		}
		return 0;
	}
	mark = begin_repeated(e->msg, f);
	for (c = arr->first, k = 0; c; c = c->next, k++) {
		if (scalar_bits(e, f, opt, c, &bits)) {
			crit_error_push_path(e->err, NULL, k);
			return -1;
		}
		put_element(e->msg, f, bits);
	}
	end_repeated(e->msg, f, mark);
	return 0;
}

static int key_is(const struct jnode *n, const char *key)
{
	return n->key_len == strlen(key) && memcmp(n->key, key, n->key_len) == 0;
}

/* The field a member stands for, or NULL. */
static const ProtobufCFieldDescriptor *field_of(const struct encoder *e,
						const ProtobufCMessageDescriptor *d,
						const struct jnode *c, int top, unsigned *hint)
{
	const ProtobufCFieldDescriptor *f;
	unsigned i;

	if (strlen(c->key) != c->key_len) /* a NUL inside: no field has one */
		return NULL;
	/* crit writes keys in field-number order, leaving out fields that are
	 * not set: look from the field after the last one found, then by a
	 * binary search of the names. */
	for (f = NULL, i = *hint; i < d->n_fields; i++) {
		const char *name = d->fields[i].name;

		if (name[0] == c->key[0] && strncmp(name, c->key, c->key_len) == 0 &&
		    name[c->key_len] == 0) {
			f = &d->fields[i];
			break;
		}
	}
	if (!f)
		f = protobuf_c_message_descriptor_get_field_by_name(d, c->key);
	if (f)
		*hint = (unsigned)(f - d->fields) + 1;
	if (f && top && e->old_pagemap && f->id == PAGEMAP_NR_PAGES)
		f = protobuf_c_message_descriptor_get_field(d, PAGEMAP_COMPAT_NR_PAGES);
	return f;
}

/* Sort the members of obj into slots by field; refuse unknown and
 * duplicate keys. `top`: the entry itself, whose payload is "extra". */
static int sort_members(struct encoder *e, const ProtobufCMessageDescriptor *d,
			const struct jnode *obj, int top, size_t base)
{
	const struct jnode *c;
	unsigned hint = 0;

	for (c = obj->first; c; c = c->next) {
		const ProtobufCFieldDescriptor *f;
		const struct jnode **slot;

		if (top && key_is(c, EXTRA_KEY))
			continue;
		f = field_of(e, d, c, top, &hint);
		if (!f) {
			push_key(e->err, c->key, c->key_len);
			return crit_fail(at(e->err, c->key_at), "unknown key: %s has no such field",
					 d->name);
		}
		slot = &e->r->slots.v[base + (size_t)(f - d->fields)];
		if (*slot) {
			push_key(e->err, c->key, c->key_len);
			return crit_fail(at(e->err, c->key_at), "duplicate key (first on line %ld)",
					 JPOS_LINE((*slot)->key_at));
		}
		*slot = c;
	}
	return 0;
}

/* The fields of message d from the object obj, in field-number order. */
static int encode_message(struct encoder *e, const ProtobufCMessageDescriptor *d,
			  const struct jnode *obj, int top)
{
	struct slot_stack *s = &e->r->slots;
	size_t base, i;
	int rc = -1;

	if (obj->type != J_OBJECT)
		return type_error(e->err, obj, "an object");
	if (slots_push(s, d->n_fields, &base))
		return crit_fail(at(e->err, obj->at), "out of memory");
	if (sort_members(e, d, obj, top, base))
		goto out;
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const struct criu_field_opt *opt;
		const struct jnode *c = s->v[base + i];
		int r;

		if (!c) {
			if (f->label != PROTOBUF_C_LABEL_REQUIRED)
				continue;
			crit_error_push_path(e->err, f->name, -1);
			crit_fail(at(e->err, obj->at), "missing required field");
			goto out;
		}
		opt = field_opt(e->r, d, f);
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			r = encode_repeated(e, f, opt, c);
		else
			r = encode_value(e, f, opt, c);
		if (r) {
			push_key(e->err, c->key, c->key_len);
			goto out;
		}
	}
	rc = 0;
out:
	s->len = base;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Payloads: the raw data after an entry, from its "extra"              */

static uint64_t msg_varint(const struct buf *msg, uint32_t number)
{
	return wire_varint_or_zero(msg->data, msg->len, number);
}

/* Base64 data x (of the member `owner` when x is absent) that must decode
 * to exactly `want` bytes, as `what` says. */
static int put_sized(struct encoder *e, const struct jnode *x, const struct jnode *owner,
		     uint64_t want, const char *what)
{
	uint64_t got;

	if (!x) {
		if (!want)
			return 0;
		return crit_fail(at(e->err, owner->at), "missing: %s says %" PRIu64 " bytes", what,
				 want);
	}
	if (x->type != J_STRING)
		return type_error(e->err, x, "a base64 string");
	if (decode_base64(e->err, x, e->r->out, &got))
		return -1;
	if (got != want)
		return crit_fail(at(e->err, x->at), "%" PRIu64 " bytes of data, but %s says %" PRIu64,
				 got, what, want);
	return 0;
}

/* {"inq": base64, "outq": base64} */
static int encode_tcp_queues(struct encoder *e, const struct payload_desc *pd,
			     const struct jnode *x, const struct jnode *entry)
{
	static const char *const queues[2] = { "inq", "outq" };
	const struct jnode *given[2] = { NULL, NULL }, *c;
	uint64_t want[2];
	int k;

	for (k = 0; k < 2; k++)
		want[k] = msg_varint(e->msg, pd->size[k]);
	if (!x && (want[0] || want[1]))
		return crit_fail(at(e->err, entry->at), "missing: %s and %s say %" PRIu64
				 " and %" PRIu64 " bytes", pd->size_name[0], pd->size_name[1],
				 want[0], want[1]);
	if (!x)
		return 0;
	if (x->type != J_OBJECT)
		return type_error(e->err, x, "an object {\"inq\": ..., \"outq\": ...}");
	for (c = x->first; c; c = c->next) {
		const struct jnode **slot = key_is(c, queues[0]) ? &given[0] :
					    key_is(c, queues[1]) ? &given[1] : NULL;

		if (!slot || *slot) {
			push_key(e->err, c->key, c->key_len);
			return crit_fail(at(e->err, c->key_at), slot ? "duplicate key" :
					 "unknown key: the queues are \"inq\" and \"outq\"");
		}
		*slot = c;
	}
	for (k = 0; k < 2; k++) {
		if (put_sized(e, given[k], x, want[k], pd->size_name[k])) {
			crit_error_push_path(e->err, queues[k], -1);
			return -1;
		}
	}
	return 0;
}

/* nsems values, each a u16, little-endian, padded. */
static int encode_semaphores(struct encoder *e, const struct payload_desc *pd,
			     const struct jnode *x, const struct jnode *entry)
{
	uint64_t nsems = msg_varint(e->msg, pd->size[0]);
	const struct jnode *c;
	long k;

	if (!x)
		return nsems ? crit_fail(at(e->err, entry->at), "missing: %s says %" PRIu64
					 " semaphores", pd->size_name[0], nsems) : 0;
	if (x->type != J_ARRAY)
		return type_error(e->err, x, "an array of semaphore values");
	if (x->len != nsems)
		return crit_fail(at(e->err, x->at), "%zu semaphore values, but %s says %" PRIu64,
				 x->len, pd->size_name[0], nsems);
	for (c = x->first, k = 0; c; c = c->next, k++) {
		struct conv_int v;

		if (c->type != J_NUMBER || conv_py_int(c->text, c->len, 0, &v) != CONV_INT_OK ||
		    v.neg || v.mag > 0xffff) {
			crit_error_push_path(e->err, NULL, k);
			return crit_fail(at(e->err, c->at), "a semaphore value is an integer "
					 "from 0 to 65535");
		}
		buf_putc(e->r->out, (uint8_t)v.mag);
		buf_putc(e->r->out, (uint8_t)(v.mag >> 8));
	}
	image_put_padding(e->r->out, pd, nsems * pd->unit);
	return 0;
}

/* [item message, base64 data, ...], as the queue's layout has them. */
static int encode_queue(struct encoder *e, const struct payload_desc *pd, const struct jnode *x,
			const struct jnode *entry)
{
	uint64_t count = msg_varint(e->msg, pd->size[0]);
	struct buf *out = e->r->out;
	const struct jnode *c;
	long k;

	if (!x)
		return count ? crit_fail(at(e->err, entry->at), "missing: %s says %" PRIu64
					 " messages", pd->size_name[0], count) : 0;
	if (x->type != J_ARRAY)
		return type_error(e->err, x, "an array of messages and their data");
	if (x->len % 2 || x->len / 2 != count)
		return crit_fail(at(e->err, x->at), "%zu items, but %s says %" PRIu64 " messages "
				 "(each an ipc_msg object, then its data)", x->len,
				 pd->size_name[0], count);
	for (c = x->first, k = 0; c; c = c->next->next, k += 2) {
		uint64_t data_len;

		e->msg->len = 0; /* the entry's message is written already */
		if (encode_message(e, pd->item, c, 0)) {
			crit_error_push_path(e->err, NULL, k);
			return -1;
		}
		data_len = image_queue_put_item(out, pd, e->msg->data, e->msg->len);
		if (put_sized(e, c->next, c, data_len, pd->item_size_name)) {
			crit_error_push_path(e->err, NULL, k + 1);
			return -1;
		}
		image_put_padding(out, pd, data_len);
	}
	return 0;
}

/* An entry whose payload is skipped may say "extra": "" (crit 4.2 and
 * 3.17 write that for an ipc shm segment in_pagemaps): no data is no data. */
static int encode_skipped(struct encoder *e, const struct payload_desc *pd, const struct jnode *x)
{
	if (!x || (x->type == J_STRING && x->len == 0))
		return 0;
	return crit_fail(at(e->err, x->key_at), "%s is set: the data is in the pages, not in extra",
			 pd->skip_name);
}

/* The payload of the entry just written, whose message is in e->msg. */
static int encode_payload(struct encoder *e, const struct payload_desc *pd, const struct jnode *x,
			  const struct jnode *entry)
{
	const struct buf *m = e->msg;
	uint64_t n;

	if (pd->kind == PAYLOAD_NONE)
		return x ? crit_fail(at(e->err, x->key_at), "this entry has no payload") : 0;
	if (image_payload_skipped(pd, m->data, m->len))
		return encode_skipped(e, pd, x);
	if (pd->rest) { /* the rest of the file: any size */
		if (x && x->type != J_STRING)
			return type_error(e->err, x, "a base64 string");
		return x ? decode_base64(e->err, x, e->r->out, &n) : 0;
	}
	if (pd->item)
		return encode_queue(e, pd, x, entry);
	if (pd->kind == PAYLOAD_TCP)
		return encode_tcp_queues(e, pd, x, entry);
	if (pd->kind == PAYLOAD_IPC_SEM)
		return encode_semaphores(e, pd, x, entry);
	if (image_payload_data_len(pd, m->data, m->len, &n))
		return crit_fail(at(e->err, entry->at), "%s is too large", pd->what);
	if (put_sized(e, x, entry, n, pd->what))
		return -1;
	image_put_padding(e->r->out, pd, n);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Entries and the document                                             */

static const struct jnode *member(const struct jnode *obj, const char *key)
{
	const struct jnode *c;

	for (c = obj->first; c; c = c->next)
		if (key_is(c, key))
			return c;
	return NULL;
}

/* An entry's "extra", if any; it may appear once. */
static int find_extra(struct encoder *e, const struct jnode *entry, const struct jnode **extra)
{
	const struct jnode *c;

	*extra = NULL;
	for (c = entry->first; c; c = c->next) {
		if (!key_is(c, EXTRA_KEY))
			continue;
		if (*extra) {
			crit_error_push_path(e->err, EXTRA_KEY, -1);
			return crit_fail(at(e->err, c->key_at), "duplicate key");
		}
		*extra = c;
	}
	return 0;
}

/* Write entry r->count from its tree: size, message, payload. */
static int encode_entry(struct json_reader *r, const struct jnode *entry)
{
	struct encoder e = { r, &r->msg, r->err, 0 };
	const struct image_type *t = r->type;
	const struct jnode *extra;
	const struct payload_desc *pd;

	if (entry->type != J_OBJECT)
		return type_error(r->err, entry, "an object");
	if (t->layout == LAYOUT_GHOST && r->count > 0 && !r->chunked)
		return crit_fail(at(r->err, entry->at), "a ghost file without chunks has one entry: "
				 "its data is that entry's extra");
	if (find_extra(&e, entry, &extra))
		return -1;
	e.old_pagemap = t->layout == LAYOUT_PAGEMAP && r->count > 0 &&
			!member(entry, "compat_nr_pages") && member(entry, "nr_pages");
	r->msg.len = 0;
	if (encode_message(&e, schema_entry_desc(t, (size_t)r->count), entry, 1))
		return -1;
	if (r->msg.failed)
		return crit_fail(at(r->err, entry->at), "out of memory");
	if (r->msg.len > INT32_MAX)
		return crit_fail(at(r->err, entry->at), "entry of %zu bytes is too large", r->msg.len);
	if (r->count == 0)
		r->chunked = r->msg.len && image_first_chunked(t, r->msg.data, r->msg.len);
	pd = schema_entry_payload(t, (size_t)r->count, r->chunked);
	buf_put_u32le(r->out, (uint32_t)r->msg.len);
	buf_put(r->out, r->msg.data, r->msg.len);
	if (encode_payload(&e, pd, extra, entry)) {
		crit_error_push_path(r->err, EXTRA_KEY, -1);
		return -1;
	}
	return 0;
}

/* The "entries" array, one entry at a time. */
static int read_entries(struct json_reader *r)
{
	int c = peek_token(r);

	if (c != '[')
		return c < 0 ? syntax_error(r, c, "an array")
			     : crit_fail(at(r->err, r->pos), "\"entries\" must be an array");
	src_next(r);
	if (peek_token(r) == ']') {
		src_next(r);
		return 0;
	}
	for (;;) {
		struct jnode *entry = NULL;
		int rc = parse_value(r, 2, &entry) || encode_entry(r, entry);

		arena_reset(&r->arena);
		if (rc) {
			crit_error_push_path(r->err, NULL, (long)r->count);
			return -1;
		}
		r->count++;
		if (r->out->failed)
			return crit_fail(at(r->err, r->pos), "cannot write the image");
		c = peek_token(r);
		if (c == ',')
			src_next(r);
		else if (c == ']')
			break;
		else
			return syntax_error(r, c, "',' or ']'");
	}
	src_next(r);
	return 0;
}

/* "magic": the image type; its header goes out at once. */
static int read_magic(struct json_reader *r)
{
	jpos_t start;
	const struct image_type *t;
	struct shown sh;
	uint8_t header[8];
	int c = peek_token(r);

	start = r->pos;
	if (c != '"')
		return c < 0 ? syntax_error(r, c, "a string")
			     : crit_fail(at(r->err, start), "expected a string such as \"CORE\"");
	if (lex_string(r))
		return -1;
	t = strlen((const char *)r->scratch.data) == r->scratch.len ?
		    schema_by_name((const char *)r->scratch.data) : NULL;
	if (!t)
		return crit_fail(at(r->err, start), "unknown magic %s",
				 show(&sh, (const char *)r->scratch.data, r->scratch.len));
	if (t->layout == LAYOUT_RAW)
		return crit_fail(at(r->err, start), "%s images are raw data, which crit's JSON "
				 "does not hold", t->name);
	r->type = t;
	buf_put(r->out, header, image_header_bytes(t, header));
	return 0;
}

static int scratch_is(const struct json_reader *r, const char *s)
{
	return r->scratch.len == strlen(s) && memcmp(r->scratch.data, s, r->scratch.len) == 0;
}

/* Where "entries" starts, to come back to once "magic" is known. */
struct mark {
	const uint8_t *p;
	jpos_t pos;
};

/* The entries, with their path in errors. */
static int read_entries_at(struct json_reader *r, const struct mark *from)
{
	if (from) {
		r->p = from->p;
		r->pos = from->pos;
	}
	if (read_entries(r)) {
		crit_error_push_path(r->err, "entries", -1);
		return -1;
	}
	return 0;
}

/* The value of "entries": written now if magic is known, else checked and
 * marked, to be written once it is (memory only). */
static int read_entries_member(struct json_reader *r, jpos_t key_at, struct mark *later)
{
	if (r->type)
		return read_entries_at(r, NULL);
	if (r->read)
		return crit_fail(at(r->err, key_at), "\"entries\" before \"magic\": a stream is read "
				 "once, so \"magic\" must come first (as crit writes it)");
	peek_token(r);
	later->p = r->p;
	later->pos = r->pos;
	if (parse_value(r, 1, NULL)) {
		crit_error_push_path(r->err, "entries", -1);
		return -1;
	}
	return 0;
}

/* One member of the top object, r being after its key (in scratch). */
static int read_member(struct json_reader *r, jpos_t key_at, int *seen_entries,
		       struct mark *later)
{
	struct shown sh;

	if (scratch_is(r, "magic")) {
		if (r->type)
			return crit_fail(at(r->err, key_at), "duplicate key \"magic\"");
		if (read_magic(r)) {
			crit_error_push_path(r->err, "magic", -1);
			return -1;
		}
		return 0;
	}
	if (scratch_is(r, "entries")) {
		if ((*seen_entries)++)
			return crit_fail(at(r->err, key_at), "duplicate key \"entries\"");
		return read_entries_member(r, key_at, later);
	}
	return crit_fail(at(r->err, key_at), "unknown key %s: crit's JSON has \"magic\" and "
			 "\"entries\"", show(&sh, (const char *)r->scratch.data, r->scratch.len));
}

/* {"magic": "CORE", "entries": [...]} and nothing after it. */
static int read_document(struct json_reader *r)
{
	struct mark later = { NULL, 0 };
	jpos_t open_at;
	int seen_entries = 0, c = peek_token(r);

	open_at = r->pos;
	if (c != '{')
		return syntax_error(r, c, "'{' (crit's JSON is {\"magic\": ..., \"entries\": [...]})");
	src_next(r);
	c = peek_token(r);
	while (c != '}') {
		jpos_t key_at = r->pos;

		if (c != '"')
			return syntax_error(r, c, "a key string");
		if (lex_string(r))
			return -1;
		if ((c = peek_token(r)) != ':')
			return syntax_error(r, c, "':' after the key");
		src_next(r);
		if (read_member(r, key_at, &seen_entries, &later))
			return -1;
		c = peek_token(r);
		if (c == ',') {
			src_next(r);
			if ((c = peek_token(r)) == '}')
				return syntax_error(r, c, "a key string");
		} else if (c != '}') {
			return syntax_error(r, c, "',' or '}'");
		}
	}
	src_next(r);
	if (!r->type || !seen_entries)
		return crit_fail(at(r->err, open_at), "missing \"%s\"", r->type ? "entries" : "magic");
	if ((c = peek_token(r)) != SRC_END)
		return syntax_error(r, c, "nothing after the document");
	return later.p ? read_entries_at(r, &later) : 0;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                         */

static struct json_reader *reader_new(void)
{
	struct json_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->pos = JPOS(1, 1);
	buf_init(&r->scratch, -1);
	buf_init(&r->msg, -1);
	return r;
}

struct json_reader *json_reader_new_memory(const uint8_t *data, size_t len)
{
	struct json_reader *r = reader_new();

	if (r) {
		r->p = data;
		r->end = data + len;
	}
	return r;
}

struct json_reader *json_reader_new_stream(json_read_fn read, void *ctx)
{
	struct json_reader *r = reader_new();

	if (!r)
		return NULL;
	r->chunk = malloc(JSON_CHUNK);
	if (!r->chunk) {
		free(r);
		return NULL;
	}
	r->read = read;
	r->ctx = ctx;
	r->p = r->end = r->chunk;
	return r;
}

void json_reader_free(struct json_reader *r)
{
	if (!r)
		return;
	buf_free(&r->scratch);
	buf_free(&r->msg);
	arena_free(&r->arena);
	free(r->slots.v);
	free(r->chunk);
	free(r);
}

int json_read_image(struct json_reader *r, struct buf *out, struct json_read_result *res,
		    struct crit_error *err)
{
	int rc;

	crit_error_clear(err);
	r->out = out;
	r->err = err;
	rc = read_document(r);
	arena_reset(&r->arena);
	if (rc && r->read_errno) /* whatever the parser made of the input cut short */
		crit_fail(at(err, r->pos), "cannot read the input: %s", strerror(r->read_errno));
	else if (!rc && out->failed)
		rc = crit_fail(err, "cannot write the image");
	res->type = r->type;
	res->entries = r->count;
	return rc;
}
