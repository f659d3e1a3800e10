/* A growable byte buffer, optionally draining into a file descriptor.
 * The core never raises: every function reports failure by return value. */
#ifndef CRIT_BUF_H
#define CRIT_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct buf {
	uint8_t *data;
	size_t len, cap;
	int fd;		/* drain here when full; -1 keeps everything in memory */
	int failed;	/* sticky: out of memory or a write error (errno saved) */
	int saved_errno;
	uint64_t flushed; /* bytes already written to fd */
};

void buf_init(struct buf *b, int fd);
void buf_free(struct buf *b);
int buf_reserve(struct buf *b, size_t n); /* room for n more bytes; 0 ok */
int buf_put_slow(struct buf *b, const void *p, size_t n);
int buf_putc_slow(struct buf *b, uint8_t c);

/* Inline when there is room: the codecs append a few bytes at a time. */
static inline int buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n || b->failed || n == 0)
		return buf_put_slow(b, p, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static inline int buf_putc(struct buf *b, uint8_t c)
{
	if (b->cap == b->len)
		return buf_putc_slow(b, c);
	b->data[b->len++] = c;
	return 0;
}
int buf_put_str(struct buf *b, const char *s);
int buf_put_u32le(struct buf *b, uint32_t v);
int buf_flush(struct buf *b);		/* drain to fd, if any */
/* Flush, then seek n bytes forward: they read as zeros and take no disk
 * space (a hole). Only for a seekable fd; the caller extends the file if
 * it ends in a hole. */
int buf_skip(struct buf *b, uint64_t n);
uint64_t buf_total(const struct buf *b); /* flushed + len */

/* Unsigned and signed decimal, without printf. */
int buf_put_u64(struct buf *b, uint64_t v);
int buf_put_i64(struct buf *b, int64_t v);

#endif
