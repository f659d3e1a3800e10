/* libFuzzer harness for the archive reader and writer (src/archive.c):
 * bytes -> table of contents (plain, gzip, zstd) -> every member copied,
 * header blocks and all, into a new plain tar -> read again. Properties:
 * every member lies inside the tar; every name finds its member; the copy
 * has the same members with the same bytes. A failure aborts. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int memfd_of(const void *p, size_t n)
{
	int fd = memfd_create("fuzz-archive", MFD_CLOEXEC);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n))
		abort();
	return fd;
}

/* Member m's bytes, read (the caller frees). */
static uint8_t *member_bytes(const struct archive *a, const struct archive_member *m)
{
	struct crit_error err;
	uint8_t *p = malloc(m->size ? (size_t)m->size : 1);

	crit_error_clear(&err);
	if (!p || archive_read_at(a, m->data, p, (size_t)m->size, &err))
		abort(); /* inside the tar (check), and nothing changed it */
	return p;
}

static void check(const struct archive *a)
{
	size_t i;

	for (i = 0; i < a->count; i++) {
		const struct archive_member *m = &a->members[i];
		if (m->data + m->size > a->len || m->end > a->len || m->header > m->data)
			abort();
		if (archive_find(a, archive_name(a, m)) != m)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct archive_limits lim = { 4096, 16u << 20 };
	struct archive a, b;
	struct crit_error err;
	struct archive_writer w;
	struct buf out;
	size_t i;
	int fd = memfd_of(data, size), fd2;

	crit_error_clear(&err);
	if (archive_open(&a, fd, &lim, &err)) {
		close(fd);
		return 0;
	}
	close(fd);
	check(&a);
	buf_init(&out, -1);
	if (archive_writer_init(&w, &out, ARCHIVE_NONE, 0))
		abort();
	for (i = 0; i < a.count; i++)
		if (archive_writer_copy_member(&w, &a, &a.members[i], &err))
			abort();
	if (archive_writer_finish(&w) || out.failed)
		abort();
	fd2 = memfd_of(out.data, out.len);
	if (archive_open(&b, fd2, &lim, &err))
		abort(); /* what we read, copied, must read again */
	close(fd2);
	check(&b);
	if (b.count != a.count)
		abort();
	for (i = 0; i < a.count; i++) {
		const struct archive_member *x = &a.members[i], *y = &b.members[i];
		uint8_t *bx, *by;
		if (strcmp(archive_name(&a, x), archive_name(&b, y)) || x->size != y->size)
			abort();
		bx = member_bytes(&a, x);
		by = member_bytes(&b, y);
		if (memcmp(bx, by, (size_t)x->size))
			abort();
		free(bx);
		free(by);
	}
	archive_close(&b);
	archive_writer_free(&w);
	buf_free(&out);
	archive_close(&a);
	return 0;
}
