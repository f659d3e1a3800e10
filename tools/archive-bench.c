/* The library comparison behind src/archive.c: lua-crit's own tar reader
 * (zlib, libzstd) against libarchive, on one archive. For each: open and
 * read the table of contents; read every member; read N pages of 4 KiB at
 * random offsets of the largest member (what `mem` and `coredump` do).
 * Build: make build/archive-bench (needs libarchive-dev), then
 *   build/archive-bench own|libarchive ARCHIVE [N]
 * and compare with /usr/bin/time -f '%e s %M KiB'. */
#define archive la_archive /* libarchive's struct, not ours */
#include <archive.h>
#include <archive_entry.h>
#undef archive
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../src/archive.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t sum_bytes(const uint8_t *p, size_t n)
{
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < n; i++)
		s += p[i];
	return s;
}

static int skip_all; /* argv[4] "toc": no pass over every member */

/* The sum of bytes [off, off + n) of the tar, read a chunk at a time. */
static uint64_t own_sum(const struct archive *a, uint64_t off, uint64_t n)
{
	static uint8_t chunk[256 * 1024];
	struct crit_error err;
	uint64_t s = 0;
	size_t k;

	crit_error_clear(&err);
	for (; n > 0; off += k, n -= k) {
		k = n < sizeof(chunk) ? (size_t)n : sizeof(chunk);
		if (archive_read_at(a, off, chunk, k, &err)) {
			fprintf(stderr, "%s\n", err.msg);
			exit(1);
		}
		s += sum_bytes(chunk, k);
	}
	return s;
}

static int own(const char *path, int pages)
{
	struct archive_limits lim = { ARCHIVE_MAX_MEMBERS, UINT64_MAX };
	struct archive a;
	struct crit_error err;
	const struct archive_member *big = NULL;
	uint64_t s = 0;
	double t0 = now(), t1, t2;
	size_t i;
	int fd = open(path, O_RDONLY), k;

	crit_error_clear(&err);
	if (fd < 0 || archive_open(&a, fd, &lim, &err)) {
		fprintf(stderr, "%s: %s\n", path, err.msg);
		return 1;
	}
	close(fd);
	t1 = now();
	for (i = 0; i < a.count; i++) {
		if (!skip_all)
			s += own_sum(&a, a.members[i].data, a.members[i].size);
		if (!big || a.members[i].size > big->size)
			big = &a.members[i];
	}
	t2 = now();
	srand(1);
	for (k = 0; k < pages && big->size >= 4096; k++) {
		uint64_t off = ((uint64_t)rand() % (big->size / 4096)) * 4096;
		s += own_sum(&a, big->data + off, 4096);
	}
	printf("own        %-5s toc %.3f s, every member %.3f s, %d random pages %.6f s (sum %llu)\n",
	       archive_codec_name(a.compression), t1 - t0, t2 - t1, pages, now() - t2,
	       (unsigned long long)s);
	archive_close(&a);
	return 0;
}

static struct la_archive *la_open(const char *path)
{
	struct la_archive *a = archive_read_new();

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 256 * 1024) != ARCHIVE_OK) {
		fprintf(stderr, "%s: %s\n", path, archive_error_string(a));
		exit(1);
	}
	return a;
}

/* libarchive streams: reaching a byte of a member means reading the
 * archive up to it, again for every access. */
static uint64_t la_read_at(const char *path, const char *name, uint64_t off, size_t n)
{
	struct la_archive *a = la_open(path);
	struct archive_entry *e;
	uint8_t buf[64 * 1024];
	uint64_t s = 0, pos = 0;

	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (strcmp(archive_entry_pathname(e), name))
			continue;
		for (;;) {
			la_ssize_t r = archive_read_data(a, buf, sizeof(buf));
			if (r <= 0)
				break;
			if (pos + (uint64_t)r > off && pos < off + n) {
				uint64_t from = off > pos ? off - pos : 0;
				uint64_t to = off + n < pos + (uint64_t)r ? off + n - pos : (uint64_t)r;
				s += sum_bytes(buf + from, (size_t)(to - from));
			}
			pos += (uint64_t)r;
			if (pos >= off + n)
				break;
		}
		break;
	}
	archive_read_free(a);
	return s;
}

static int libarchive(const char *path, int pages)
{
	struct la_archive *a = la_open(path);
	struct archive_entry *e;
	uint8_t buf[64 * 1024];
	char big[4096] = "";
	uint64_t s = 0, big_size = 0;
	double t0 = now(), t1, t2;
	int k, count = 0;

	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		count++;
		archive_read_data_skip(a);
	}
	archive_read_free(a);
	t1 = now();
	a = la_open(path);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		la_ssize_t r;
		if ((uint64_t)archive_entry_size(e) > big_size) {
			big_size = (uint64_t)archive_entry_size(e);
			snprintf(big, sizeof(big), "%s", archive_entry_pathname(e));
		}
		while (!skip_all && (r = archive_read_data(a, buf, sizeof(buf))) > 0)
			s += sum_bytes(buf, (size_t)r);
	}
	archive_read_free(a);
	t2 = now();
	srand(1);
	for (k = 0; k < pages && big_size >= 4096; k++) {
		uint64_t off = ((uint64_t)rand() % (big_size / 4096)) * 4096;
		s += la_read_at(path, big, off, 4096);
	}
	printf("libarchive %d members: toc %.3f s, every member %.3f s, %d random pages %.3f s (sum %llu)\n",
	       count, t1 - t0, t2 - t1, pages, now() - t2, (unsigned long long)s);
	return 0;
}

int main(int argc, char **argv)
{
	int pages = argc > 3 ? atoi(argv[3]) : 100;

	skip_all = argc > 4 && !strcmp(argv[4], "toc");

	if (argc < 3) {
		fprintf(stderr, "usage: %s own|libarchive ARCHIVE [PAGES]\n", argv[0]);
		return 2;
	}
	return !strcmp(argv[1], "own") ? own(argv[2], pages) : libarchive(argv[2], pages);
}
