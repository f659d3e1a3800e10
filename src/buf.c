/* Growable byte buffer with an optional drain to a file descriptor. */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_DRAIN_AT (1u << 20) /* a file-backed buffer holds at most ~1 MiB */

void buf_init(struct buf *b, int fd)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int buf_fail(struct buf *b, int err)
{
	if (!b->failed) {
		b->failed = 1;
		b->saved_errno = err;
	}
	return -1;
}

static int write_all(struct buf *b, const uint8_t *p, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(b->fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return buf_fail(b, errno);
		}
		done += (size_t)n;
	}
	b->flushed += len;
	return 0;
}

int buf_flush(struct buf *b)
{
	if (b->fd < 0 || b->failed)
		return b->failed ? -1 : 0;
	if (write_all(b, b->data, b->len))
		return -1;
	b->len = 0;
	return 0;
}

int buf_skip(struct buf *b, uint64_t n)
{
	if (b->fd < 0 || n > (uint64_t)INT64_MAX)
		return buf_fail(b, EINVAL);
	if (buf_flush(b))
		return -1;
	if (lseek(b->fd, (off_t)n, SEEK_CUR) < 0)
		return buf_fail(b, errno);
	b->flushed += n;
	return 0;
}

int buf_reserve(struct buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->failed)
		return -1;
	if (b->cap - b->len >= n)
		return 0;
	if (b->fd >= 0 && b->len >= BUF_DRAIN_AT) {
		if (buf_flush(b))
			return -1;
		if (b->cap >= n)
			return 0;
	}
	if (n > SIZE_MAX / 2 - b->len)
		return buf_fail(b, ENOMEM);
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return buf_fail(b, ENOMEM);
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_put_slow(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return b->failed ? -1 : 0;
	/* A large block (a run of entries copied as they are) goes straight
	 * to the file, without growing the buffer to its size. */
	if (b->fd >= 0 && n >= BUF_DRAIN_AT && !b->failed)
		return buf_flush(b) ? -1 : write_all(b, p, n);
	if (buf_reserve(b, n))
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_putc_slow(struct buf *b, uint8_t c)
{
	if (b->cap == b->len && buf_reserve(b, 1))
		return -1;
	b->data[b->len++] = c;
	return 0;
}

int buf_put_str(struct buf *b, const char *s)
{
	return buf_put(b, s, strlen(s));
}

int buf_put_u32le(struct buf *b, uint32_t v)
{
	uint8_t le[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	return buf_put(b, le, 4);
}

uint64_t buf_total(const struct buf *b)
{
	return b->flushed + b->len;
}

/* Two digits per division, straight into the buffer: the JSON writer
 * prints a number or more for every field. */
int buf_put_u64(struct buf *b, uint64_t v)
{
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	char tmp[20];
	size_t i = sizeof(tmp), n;

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;
		v /= 100;
		tmp[--i] = pairs[d + 1];
		tmp[--i] = pairs[d];
	}
	if (v >= 10) {
		tmp[--i] = pairs[v * 2 + 1];
		tmp[--i] = pairs[v * 2];
	} else {
		tmp[--i] = (char)('0' + v);
	}
	n = sizeof(tmp) - i;
	if (b->cap - b->len < n && buf_reserve(b, n))
		return -1;
	memcpy(b->data + b->len, tmp + i, n);
	b->len += n;
	return 0;
}

int buf_put_i64(struct buf *b, int64_t v)
{
	if (v >= 0)
		return buf_put_u64(b, (uint64_t)v);
	if (buf_putc(b, '-'))
		return -1;
	return buf_put_u64(b, (uint64_t)0 - (uint64_t)v);
}
