/* The text forms crit (Python) gives to values, each in both directions:
 * base64 and quoted-printable for bytes, IP addresses, Python's int() and
 * "0x%x", device numbers. No JSON here and no Lua: the codecs quote. */
#ifndef CRIT_CONV_H
#define CRIT_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* A hex digit's value, or -1. */
int conv_hex_digit(int c);

/* base64.encodebytes: lines of 76 characters (57 bytes of data), each
 * ended by `eol` ("\n"; "\\n" inside a JSON string); nothing when empty. */
int conv_base64_encode(struct buf *out, const uint8_t *p, size_t len, const char *eol);
/* base64.decodebytes (binascii.a2b_base64, not strict): bytes outside the
 * alphabet are skipped, and the data ends where the pads complete it.
 * Appends to out and counts the bytes in *count; NULL, or why not. */
const char *conv_base64_decode(const uint8_t *p, size_t len, struct buf *out, uint64_t *count);

/* quopri.encodestring (binascii.b2a_qp, text mode): how crit shows unix
 * socket names. Its output is ASCII. */
int conv_quopri_encode(struct buf *out, const uint8_t *p, size_t len);
/* quopri.decodestring (binascii.a2b_qp): -1 when the text is not ASCII,
 * with the offset of the first other byte in *bad. */
int conv_quopri_decode(const uint8_t *p, size_t len, struct buf *out, size_t *bad);

/* An address as crit keeps it: one 32-bit word (IPv4) or four (IPv6),
 * each holding four bytes of the address, the first in the low byte (as
 * crit's htonl leaves them on x86). Text as Python 3.11's ipaddress has it:
 * dotted IPv4, RFC 5952 IPv6. */
#define CONV_IP_TEXT 40 /* the longest text, NUL included */
size_t conv_ip_format(char out[CONV_IP_TEXT], const uint32_t *words, size_t n);
/* The number of words (1 or 4), or 0 if s is neither kind of address
 * (a scope id, "%eth0", is refused). */
size_t conv_ip_parse(const char *s, size_t len, uint32_t words[4]);

/* Integers as Python has them: sign and magnitude, which is wide enough
 * for every field type and for saying what is out of its range. */
struct conv_int {
	uint64_t mag;
	int neg;
};
enum conv_int_status { CONV_INT_OK, CONV_INT_INVALID, CONV_INT_TOO_BIG };

/* What Python's str.isspace() says of an ASCII byte. */
int conv_py_space(int c);
/* The value of a digit of any base up to 36 ('7' 7, 'f' and 'F' 15,
 * 'z' 35), or 99 for a character that is no digit. */
int conv_digit_value(int c);
/* Python's int(s, 0) (base0), or int(s): surrounding whitespace, a sign,
 * 0x/0o/0b prefixes in base 0 (where "010" is an error), and single
 * underscores between digits. ASCII only. */
enum conv_int_status conv_py_int(const char *s, size_t len, int base0, struct conv_int *v);
/* Python's "0x%x" of the value: "-0x10" for -16. Returns the length. */
#define CONV_HEX_TEXT 20 /* the longest text, NUL included */
size_t conv_py_hex(char out[CONV_HEX_TEXT], uint64_t bits, int negative);

/* A device number as crit shows it, "major:minor": the kernel's dev_t
 * (minor in the low 20 bits) or, for (criu).odev fields, glibc's
 * makedev(). A negative value (a signed field) has a negative major, as
 * Python's >> floors. */
struct conv_dev {
	struct conv_int major;
	uint64_t minor;
};
void conv_dev_split(uint64_t bits, int negative, int odev, struct conv_dev *d);
/* -1 when major and minor do not fit the field's format. */
int conv_dev_join(uint64_t major, uint64_t minor, int odev, uint64_t *bits);

#endif
