/* crit's text forms of values, written and read back: each conversion has
 * both of its directions here, next to each other, so that they agree. */
#include "conv.h"

#include <stdio.h>
#include <string.h>

static const char hex_lower[] = "0123456789abcdef";

int conv_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ------------------------------------------------------------------ */
/* base64                                                               */

static const char base64_digits[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int conv_base64_encode(struct buf *out, const uint8_t *p, size_t len, const char *eol)
{
	size_t eol_len = strlen(eol);

	while (len) {
		size_t n = len < 57 ? len : 57, i;
		uint32_t v;
		uint8_t *q;

		if (buf_reserve(out, 76 + eol_len))
			return -1;
		q = out->data + out->len;
		for (i = 0; i + 3 <= n; i += 3) {
			v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
			*q++ = (uint8_t)base64_digits[v >> 18];
			*q++ = (uint8_t)base64_digits[v >> 12 & 63];
			*q++ = (uint8_t)base64_digits[v >> 6 & 63];
			*q++ = (uint8_t)base64_digits[v & 63];
		}
		if (i < n) {
			v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
			*q++ = (uint8_t)base64_digits[v >> 18];
			*q++ = (uint8_t)base64_digits[v >> 12 & 63];
			*q++ = i + 1 < n ? (uint8_t)base64_digits[v >> 6 & 63] : '=';
			*q++ = '=';
		}
		memcpy(q, eol, eol_len);
		out->len = (size_t)(q + eol_len - out->data);
		p += n;
		len -= n;
	}
	return out->failed ? -1 : 0;
}

static int base64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	return c == '/' ? 63 : -1;
}

/* An '=' counts only once two characters of a quad are in. Data after the
 * closing pads is refused: CPython 3.11 drops it, 3.13 decodes it. */
const char *conv_base64_decode(const uint8_t *p, size_t len, struct buf *out, uint64_t *count)
{
	const uint8_t *end;
	unsigned quad = 0, pads = 0, left = 0;
	int closed = 0;
	uint64_t total = 0;

	*count = 0;
	if (!len) /* p may be NULL */
		return NULL;
	for (end = p + len; p < end; p++) {
		int v;

		if (*p == '=') {
			if (!closed && quad >= 2 && quad + ++pads >= 4)
				closed = 1;
			continue;
		}
		if ((v = base64_value(*p)) < 0)
			continue;
		if (closed)
			return "invalid base64: data after the closing '='";
		pads = 0;
		switch (quad) {
		case 0:
			left = (unsigned)v;
			break;
		case 1:
			buf_putc(out, (uint8_t)(left << 2 | (unsigned)v >> 4));
			left = (unsigned)v & 0xf;
			break;
		case 2:
			buf_putc(out, (uint8_t)(left << 4 | (unsigned)v >> 2));
			left = (unsigned)v & 0x3;
			break;
		default:
			buf_putc(out, (uint8_t)(left << 6 | (unsigned)v));
			break;
		}
		total += quad != 0;
		quad = (quad + 1) % 4;
	}
	if (!closed && quad == 1)
		return "invalid base64: the number of data characters cannot be 1 more than a "
		       "multiple of 4";
	if (!closed && quad)
		return "invalid base64: incorrect padding";
	*count = total;
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Quoted-printable                                                     */

#define QP_LINE 76 /* binascii's MAXLINESIZE */

/* quopri.encodestring is binascii.b2a_qp(data, quotetabs=False,
 * istext=True, header=False). */
struct qp {
	struct buf *out;
	unsigned linelen;
	int crlf;    /* the first line end is CRLF: every line end written is */
	int pending; /* a space or tab not written yet, or -1: it becomes =XX
		      * if a line end follows it */
};

static void qp_quoted(struct qp *q, uint8_t c)
{
	static const char hex_upper[] = "0123456789ABCDEF";
	uint8_t tmp[3] = { '=', (uint8_t)hex_upper[c >> 4], (uint8_t)hex_upper[c & 15] };

	buf_put(q->out, tmp, 3);
}

static void qp_flush(struct qp *q)
{
	if (q->pending >= 0)
		buf_putc(q->out, (uint8_t)q->pending);
	q->pending = -1;
}

/* A line end: soft ("=" and a newline) or the text's own. */
static void qp_line_end(struct qp *q, int soft)
{
	if (soft)
		buf_putc(q->out, '=');
	if (q->crlf)
		buf_putc(q->out, '\r');
	buf_putc(q->out, '\n');
	q->linelen = 0;
}

static int qp_must_quote(uint8_t c, int last, uint8_t next, unsigned linelen)
{
	if (c > '~' || c == '=')
		return 1;
	if (c == '.' && linelen == 0 && (last || next == '\n' || next == '\r' || next == 0))
		return 1;
	if (c == ' ' || c == '\t')
		return last;
	return c < '!' && c != '\r' && c != '\n';
}

int conv_quopri_encode(struct buf *out, const uint8_t *p, size_t len)
{
	const uint8_t *nl = len ? memchr(p, '\n', len) : NULL;
	struct qp q = { out, 0, nl && nl > p && nl[-1] == '\r', -1 };
	size_t i = 0;

	while (i < len) {
		uint8_t c = p[i], next = i + 1 < len ? p[i + 1] : 0;
		int last = i + 1 == len;

		if (qp_must_quote(c, last, next, q.linelen)) {
			qp_flush(&q);
			if (q.linelen + 3 >= QP_LINE)
				qp_line_end(&q, 1);
			qp_quoted(&q, c);
			q.linelen += 3;
			i++;
		} else if (c == '\n' || (c == '\r' && next == '\n' && !last)) {
			if (q.pending >= 0)
				qp_quoted(&q, (uint8_t)q.pending);
			q.pending = -1;
			qp_line_end(&q, 0);
			i += c == '\r' ? 2 : 1;
		} else {
			qp_flush(&q);
			if (!last && next != '\n' && q.linelen + 1 >= QP_LINE)
				qp_line_end(&q, 1);
			q.linelen++;
			if (c == ' ' || c == '\t')
				q.pending = c;
			else
				buf_putc(out, c);
			i++;
		}
	}
	qp_flush(&q);
	return out->failed ? -1 : 0;
}

/* Not in header mode. An '=' that starts no escape stays; "=\n" (or
 * "=\r...\n") is a soft line break. */
int conv_quopri_decode(const uint8_t *p, size_t len, struct buf *out, size_t *bad)
{
	const uint8_t *start = p, *end = len ? p + len : p, *q;

	for (q = p; q < end; q++) {
		if (*q >= 0x80) {
			*bad = (size_t)(q - start);
			return -1;
		}
	}
	while (p < end) {
		if (*p != '=') {
			buf_putc(out, *p++);
			continue;
		}
		if (++p == end)
			break;
		if (*p == '\n' || *p == '\r') {
			while (p < end && *p != '\n')
				p++;
			if (p < end)
				p++;
		} else if (*p == '=') {
			buf_putc(out, '=');
			p++;
		} else if (end - p >= 2 && conv_hex_digit(p[0]) >= 0 && conv_hex_digit(p[1]) >= 0) {
			buf_putc(out, (uint8_t)(conv_hex_digit(p[0]) << 4 | conv_hex_digit(p[1])));
			p += 2;
		} else {
			buf_putc(out, '=');
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* IP addresses                                                         */

/* IPv6: the first longest run of two or more zero groups is "::". */
size_t conv_ip_format(char out[CONV_IP_TEXT], const uint32_t *words, size_t n)
{
	char *q = out;
	uint8_t b[16];
	unsigned groups[8];
	int i, best = -1, best_len = 0, run = 0;

	for (i = 0; i < 4 * (int)n; i++)
		b[i] = (uint8_t)(words[i / 4] >> (8 * (i % 4)));
	if (n == 1)
		return (size_t)snprintf(out, CONV_IP_TEXT, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	for (i = 0; i < 8; i++) {
		groups[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
		run = groups[i] ? 0 : run + 1;
		if (run > best_len) {
			best_len = run;
			best = i - run + 1;
		}
	}
	if (best_len < 2)
		best = -1, best_len = 0;
	for (i = 0; i < 8; i++) {
		if (i == best) {
			*q++ = ':';
			*q++ = ':';
			i += best_len - 1;
			continue;
		}
		if (i > 0 && i != best + best_len)
			*q++ = ':';
		q += snprintf(q, CONV_IP_TEXT - (size_t)(q - out), "%x", groups[i]);
	}
	*q = 0;
	return (size_t)(q - out);
}

/* Python's IPv4Address: four decimal octets, no leading zeros. */
static int parse_ipv4(const char *s, size_t len, uint32_t *addr)
{
	const char *end = s + len;
	int octets = 0;

	*addr = 0;
	while (octets < 4) {
		unsigned v = 0;
		size_t digits = 0;

		while (s < end && *s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (!digits || digits > 3 || v > 255 || (digits > 1 && s[-(long)digits] == '0'))
			return -1;
		*addr = *addr << 8 | v;
		if (++octets < 4 && (s == end || *s++ != '.'))
			return -1;
	}
	return s == end ? 0 : -1;
}

/* Python's IPv6Address (RFC 4291 text: hextets, one "::", a dotted IPv4
 * tail) into eight hextets. */
static int parse_ipv6(const char *s, size_t len, uint16_t h[8])
{
	const char *end = s + len, *part = s;
	uint32_t v4;
	uint16_t parts[10];
	int empty[10], n = 0, skip = -1, hi, lo, i;

	for (;;) {
		const char *colon = memchr(part, ':', (size_t)(end - part));
		const char *pe = colon ? colon : end;
		unsigned v = 0;

		if (n == 9)
			return -1;
		if (!colon && memchr(part, '.', (size_t)(pe - part))) {
			if (n < 2 || parse_ipv4(part, (size_t)(pe - part), &v4))
				return -1;
			parts[n] = (uint16_t)(v4 >> 16);
			empty[n++] = 0;
			parts[n] = (uint16_t)v4;
			empty[n++] = 0;
			break;
		}
		if (pe - part > 4)
			return -1;
		for (i = 0; part + i < pe; i++) {
			if (conv_hex_digit((unsigned char)part[i]) < 0)
				return -1;
			v = v << 4 | (unsigned)conv_hex_digit((unsigned char)part[i]);
		}
		parts[n] = (uint16_t)v;
		empty[n++] = pe == part;
		if (!colon)
			break;
		part = colon + 1;
	}
	if (n < 3 || n > 9)
		return -1;
	for (i = 1; i < n - 1; i++) {
		if (empty[i]) {
			if (skip >= 0)
				return -1; /* at most one "::" */
			skip = i;
		}
	}
	if (skip >= 0) {
		hi = skip - empty[0];
		lo = n - skip - 1 - empty[n - 1];
		if ((empty[0] && skip != 1) || (empty[n - 1] && skip != n - 2) || hi + lo > 7)
			return -1;
	} else {
		if (n != 8 || empty[0] || empty[n - 1])
			return -1;
		hi = 8;
		lo = 0;
	}
	memset(h, 0, 8 * sizeof(*h));
	for (i = 0; i < hi; i++)
		h[i] = parts[i];
	for (i = 0; i < lo; i++)
		h[8 - lo + i] = parts[n - lo + i];
	return 0;
}

/* Four bytes of the address, the first in the low byte. */
static uint32_t word_of(uint32_t first_high)
{
	return (first_high >> 24) | (first_high >> 8 & 0xff00) | (first_high << 8 & 0xff0000) |
	       first_high << 24;
}

size_t conv_ip_parse(const char *s, size_t len, uint32_t words[4])
{
	uint16_t h[8];
	uint32_t v4;
	size_t i;

	if (!len)
		return 0;
	if (parse_ipv4(s, len, &v4) == 0) {
		words[0] = word_of(v4);
		return 1;
	}
	if (parse_ipv6(s, len, h) == 0) {
		for (i = 0; i < 4; i++)
			words[i] = word_of((uint32_t)h[2 * i] << 16 | h[2 * i + 1]);
		return 4;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Integers                                                             */

int conv_py_space(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

int conv_digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

enum conv_int_status conv_py_int(const char *s, size_t len, int base0, struct conv_int *v)
{
	const char *end = len ? s + len : s;
	int base = 10, zero_only = 0, digits = 0, big = 0;

	while (s < end && conv_py_space((unsigned char)*s))
		s++;
	while (end > s && conv_py_space((unsigned char)end[-1]))
		end--;
	v->mag = 0;
	v->neg = 0;
	if (s < end && (*s == '+' || *s == '-'))
		v->neg = *s++ == '-';
	if (base0 && end - s >= 2 && s[0] == '0') {
		switch (s[1]) {
		case 'x': case 'X': base = 16; break;
		case 'o': case 'O': base = 8; break;
		case 'b': case 'B': base = 2; break;
		default: zero_only = 1; break; /* C's octal: Python 3 refuses it */
		}
		if (base != 10) {
			s += 2;
			if (s < end && *s == '_')
				s++; /* one underscore may follow the prefix */
		}
	}
	for (; s < end; s++) {
		int d;

		if (*s == '_') {
			if (!digits || s + 1 == end || s[1] == '_')
				return CONV_INT_INVALID;
			continue;
		}
		d = conv_digit_value((unsigned char)*s);
		if (d >= base)
			return CONV_INT_INVALID;
		if (v->mag > (UINT64_MAX - (unsigned)d) / (unsigned)base)
			big = 1;
		else
			v->mag = v->mag * (unsigned)base + (unsigned)d;
		digits++;
	}
	if (!digits || (zero_only && (v->mag || big)))
		return CONV_INT_INVALID;
	if (!v->mag)
		v->neg = 0;
	return big ? CONV_INT_TOO_BIG : CONV_INT_OK;
}

size_t conv_py_hex(char out[CONV_HEX_TEXT], uint64_t bits, int negative)
{
	uint64_t v = negative ? 0 - bits : bits;
	size_t digits = v ? (size_t)(64 - __builtin_clzll(v) + 3) / 4 : 1, i;
	char *q = out;

	if (negative)
		*q++ = '-';
	*q++ = '0';
	*q++ = 'x';
	for (i = digits; i-- > 0; v >>= 4)
		q[i] = hex_lower[v & 15];
	q[digits] = 0;
	return (size_t)(q + digits - out);
}

/* ------------------------------------------------------------------ */
/* Device numbers                                                       */

void conv_dev_split(uint64_t v, int negative, int odev, struct conv_dev *d)
{
	d->major.neg = 0;
	if (odev) {
		d->major.mag = ((v >> 8) & 0xfff) | ((uint32_t)(v >> 32) & ~0xfffu);
		d->minor = (v & 0xff) | ((uint32_t)(v >> 12) & ~0xffu);
	} else if (negative && (int64_t)v < 0) {
		d->major.neg = 1; /* Python's >> floors: ~(~v >> 20) */
		d->major.mag = (~v >> 20) + 1;
		d->minor = v & 0xfffff;
	} else {
		d->major.mag = v >> 20;
		d->minor = v & 0xfffff;
	}
}

int conv_dev_join(uint64_t major, uint64_t minor, int odev, uint64_t *bits)
{
	if (odev) {
		if (major > UINT32_MAX || minor > UINT32_MAX)
			return -1;
		*bits = (major & 0xfff) << 8 | (major & 0xfffff000) << 32 | (minor & 0xff) |
			(minor & 0xffffff00) << 12;
	} else {
		if (major > UINT64_MAX >> 20)
			return -1;
		*bits = major << 20 | minor;
	}
	return 0;
}
