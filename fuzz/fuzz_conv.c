/* libFuzzer harness: crit's text forms (conv.c) as round trips. Every
 * value written reads back the same; every text that reads is written in
 * a form that reads back to the same value. A difference aborts.
 * Built with -DCONV_TEST_MAIN it is a standalone test (spec/conv_spec.lua):
 * Python's own outputs for chosen values, then the same round trips over
 * every byte and a deterministic stream of random inputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "PROPERTY: %s\n", what);
	abort();
}

static int same(const struct buf *b, const uint8_t *p, size_t len)
{
	return b->len == len && (len == 0 || memcmp(b->data, p, len) == 0);
}

/* bytes -> base64 -> bytes; text that decodes -> base64 -> the same bytes */
static void base64_round_trip(const uint8_t *p, size_t len)
{
	struct buf text, back, again;
	uint64_t n;

	buf_init(&text, -1);
	buf_init(&back, -1);
	buf_init(&again, -1);
	if (conv_base64_encode(&text, p, len, "\n"))
		fail("base64: out of memory");
	if (conv_base64_decode(text.data, text.len, &back, &n) || n != len || !same(&back, p, len))
		fail("base64: bytes changed through their text");
	back.len = 0;
	if (!conv_base64_decode(p, len, &back, &n)) {
		text.len = 0;
		conv_base64_encode(&text, back.data, back.len, "\n");
		if (conv_base64_decode(text.data, text.len, &again, &n) ||
		    !same(&again, back.data, back.len))
			fail("base64: decoded text changed through its encoding");
	}
	buf_free(&text);
	buf_free(&back);
	buf_free(&again);
}

/* bytes -> quoted-printable -> bytes, for text whose line ends are all
 * "\n" (text mode makes every line end the first one's kind) */
static void quopri_round_trip(const uint8_t *p, size_t len)
{
	struct buf text, back;
	size_t bad;

	if (memchr(p, '\r', len))
		return;
	buf_init(&text, -1);
	buf_init(&back, -1);
	if (conv_quopri_encode(&text, p, len))
		fail("quopri: out of memory");
	if (conv_quopri_decode(text.data, text.len, &back, &bad))
		fail("quopri: the text written is not ASCII");
	if (!same(&back, p, len))
		fail("quopri: bytes changed through their text");
	buf_free(&text);
	buf_free(&back);
}

/* words -> text -> words; text that parses -> text -> the same words */
static void ip_round_trip(const uint8_t *p, size_t len)
{
	uint32_t words[4], back[4];
	char text[CONV_IP_TEXT];
	size_t n = len >= 16 ? 4 : 1, i;

	if (len < 4)
		return;
	memcpy(words, p, 4 * n);
	conv_ip_format(text, words, n);
	if (conv_ip_parse(text, strlen(text), back) != n || memcmp(words, back, 4 * n))
		fail("ip: address changed through its text");
	n = conv_ip_parse((const char *)p, len, words);
	if (n) {
		conv_ip_format(text, words, n);
		if (conv_ip_parse(text, strlen(text), back) != n || memcmp(words, back, 4 * n))
			fail("ip: parsed address changed through its text");
		for (i = 0; text[i]; i++)
			if (text[i] >= 'A' && text[i] <= 'F')
				fail("ip: upper-case hex");
	}
}

/* value -> "0x%x" -> int(s, 0) -> value; text that int() reads -> hex ->
 * the same value */
static void int_round_trip(const uint8_t *p, size_t len)
{
	char text[CONV_HEX_TEXT];
	struct conv_int v, w;
	uint64_t bits = 0;
	int neg;

	if (len >= 9) {
		memcpy(&bits, p, 8);
		neg = p[8] & 1 && bits != 0;
		conv_py_hex(text, bits, neg);
		if (conv_py_int(text, strlen(text), 1, &v) != CONV_INT_OK)
			fail("int: hex text does not read");
		if (v.neg != neg || v.mag != (neg ? 0 - bits : bits))
			fail("int: value changed through hex");
	}
	if (conv_py_int((const char *)p, len, 1, &v) == CONV_INT_OK) {
		conv_py_hex(text, v.mag, 0);
		if (conv_py_int(text, strlen(text), 1, &w) != CONV_INT_OK || w.mag != v.mag)
			fail("int: parsed value changed through hex");
	}
}

/* dev_t -> major, minor -> dev_t, both formats */
static void dev_round_trip(const uint8_t *p, size_t len)
{
	struct conv_dev d;
	uint64_t bits, back;
	int odev;

	if (len < 8)
		return;
	memcpy(&bits, p, 8);
	for (odev = 0; odev < 2; odev++) {
		conv_dev_split(bits, 0, odev, &d);
		if (d.major.neg || conv_dev_join(d.major.mag, d.minor, odev, &back) || back != bits)
			fail("dev: number changed through major and minor");
	}
	conv_dev_split(bits | (uint64_t)1 << 63, 1, 0, &d);
	if (!d.major.neg || d.minor != (bits & 0xfffff) ||
	    (int64_t)(0 - (d.major.mag << 20)) + (int64_t)d.minor != (int64_t)(bits | (uint64_t)1 << 63))
		fail("dev: a negative number is not Python's floor");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	base64_round_trip(data, size);
	quopri_round_trip(data, size);
	ip_round_trip(data, size);
	int_round_trip(data, size);
	dev_round_trip(data, size);
	return 0;
}

#ifdef CONV_TEST_MAIN
static int failures;

static void expect(const char *what, const char *got, size_t len, const char *want)
{
	if (len != strlen(want) || (len && memcmp(got, want, len))) {
		fprintf(stderr, "%s: got \"%.*s\", want \"%s\"\n", what, (int)len, got, want);
		failures++;
	}
}

static void expect_base64(const char *in, size_t len, const char *want)
{
	struct buf b;

	buf_init(&b, -1);
	conv_base64_encode(&b, (const uint8_t *)in, len, "\n");
	expect("base64", (const char *)b.data, b.len, want);
	buf_free(&b);
}

static void expect_quopri(const char *in, size_t len, const char *want)
{
	struct buf b;

	buf_init(&b, -1);
	conv_quopri_encode(&b, (const uint8_t *)in, len);
	expect("quopri", (const char *)b.data, b.len, want);
	buf_free(&b);
}

static void expect_ip(const char *in, const char *want)
{
	uint32_t words[4];
	char text[CONV_IP_TEXT];
	size_t n = conv_ip_parse(in, strlen(in), words);

	if (!n) {
		fprintf(stderr, "ip: %s does not parse\n", in);
		failures++;
		return;
	}
	expect("ip", text, conv_ip_format(text, words, n), want);
}

static void expect_int(const char *in, int ok, int neg, uint64_t mag)
{
	struct conv_int v;
	enum conv_int_status st = conv_py_int(in, strlen(in), 1, &v);

	if ((st == CONV_INT_OK) != ok || (ok && (v.neg != neg || v.mag != mag))) {
		fprintf(stderr, "int(\"%s\", 0): wrong\n", in);
		failures++;
	}
}

/* What Python 3.11 (Debian 12) gives for these. */
static void python_outputs(void)
{
	char text[CONV_HEX_TEXT];
	uint32_t words[4];

	expect_base64("", 0, "");
	expect_base64("f", 1, "Zg==\n");
	expect_base64("\x00\xff\xfe", 3, "AP/+\n");
	expect_base64("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 58,
		      "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh\n"
		      "YQ==\n");
	expect_quopri("a b \n", 5, "a b=20\n");
	expect_quopri("=\x00.", 3, "=3D=00.");
	expect_quopri(".", 1, "=2E");
	expect_quopri("x\t", 2, "x=09");
	expect_quopri("a\r\nb \r\n", 7, "a\r\nb=20\r\n");
	expect_quopri("\xe9t\xe9", 3, "=E9t=E9");
	expect_quopri("yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
		      80, "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy=\n"
		      "yyyyy");
	expect_ip("::", "::");
	expect_ip("::1", "::1");
	expect_ip("1::", "1::");
	expect_ip("fe80::1:0:0:1", "fe80::1:0:0:1");
	expect_ip("1:0:0:2:0:0:0:3", "1:0:0:2::3");
	expect_ip("::ffff:1.2.3.4", "::ffff:102:304");
	expect_ip("2001:DB8::", "2001:db8::");
	expect_ip("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8");
	expect_ip("127.0.0.2", "127.0.0.2");
	if (conv_ip_parse("127.0.0.01", 10, words) || conv_ip_parse("::1%lo", 6, words) ||
	    conv_ip_parse("1:::2", 5, words)) {
		fprintf(stderr, "ip: a bad address parses\n");
		failures++;
	}
	/* the first byte of the address is the low byte of its word */
	conv_ip_parse("1.2.3.4", 7, words);
	if (words[0] != 0x04030201) {
		fprintf(stderr, "ip: word 0x%08x\n", words[0]);
		failures++;
	}
	expect_int("0x_1f", 1, 0, 31);
	expect_int(" -0b101 ", 1, 1, 5);
	expect_int("0_0", 1, 0, 0);
	expect_int("00", 1, 0, 0);
	expect_int("0o17", 1, 0, 15);
	expect_int("1_000", 1, 0, 1000);
	expect_int("010", 0, 0, 0);
	expect_int("1__0", 0, 0, 0);
	expect_int("_1", 0, 0, 0);
	expect_int("0x", 0, 0, 0);
	expect_int("1_", 0, 0, 0);
	expect("hex", text, conv_py_hex(text, (uint64_t)-16, 1), "-0x10");
	expect("hex", text, conv_py_hex(text, UINT64_MAX, 0), "0xffffffffffffffff");
}

int main(void)
{
	uint8_t in[64];
	uint64_t x = 0x9e3779b97f4a7c15u;
	unsigned long runs = 0;
	int i, j;

	python_outputs();
	for (i = 0; i < 256; i++) { /* every byte, alone and in a pair */
		in[0] = (uint8_t)i;
		for (j = 0; j < 256; j++, runs++) {
			in[1] = (uint8_t)j;
			LLVMFuzzerTestOneInput(in, 1 + (j > 0));
		}
	}
	for (i = 0; i < 100000; i++, runs++) { /* xorshift: the same on every run */
		size_t len = (size_t)(x % sizeof(in)), k;

		for (k = 0; k < len; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* text-like bytes half of the time: digits, hex, ':', '.' */
			in[k] = i % 2 ? (uint8_t)x : (uint8_t)"0123456789abcdefx:._ -=\n"[x % 24];
		}
		LLVMFuzzerTestOneInput(in, len);
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	if (failures) {
		fprintf(stderr, "%d of Python's outputs differ\n", failures);
		return 1;
	}
	printf("conv: Python's outputs match; %lu round trips hold\n", runs);
	return 0;
}
#endif
