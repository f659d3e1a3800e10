/* Reading and writing tar archives, plain, gzip or zstd (see archive.h).
 * A compressed archive is decompressed once, on open, into an unlinked
 * temporary file, and the tar headers are read as the bytes arrive: a tar
 * has no central directory, so the whole stream must be read to know its
 * members anyway, and the spool then gives every member (pages images
 * too) by offset, as a plain tar does, at the cost of the tar's size in
 * TMPDIR (freed when the archive is closed or the process dies).
 * Both are read with pread, the spool too: it is ours and unlinked, but
 * one way of reading serves both, and a mapping would turn an I/O error
 * (or a truncation through /proc/PID/fd) into SIGBUS. */
#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "fileio.h"

#define BLOCK 512
#define PAX_MAX (1u << 20)	/* a PAX or GNU long-name record larger is hostile */
#define CHUNK (256u * 1024)

static const uint8_t GZIP_MAGIC[2] = { 0x1f, 0x8b };
static const uint8_t ZSTD_MAGIC[4] = { 0x28, 0xb5, 0x2f, 0xfd };

const char *archive_codec_name(enum archive_compression c)
{
	return c == ARCHIVE_GZIP ? "gzip" : c == ARCHIVE_ZSTD ? "zstd" : "none";
}

/* ---- Tar headers ---- */

static int all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* An octal field (NUL or space terminated), or GNU base-256 when the high
 * bit of the first byte is set. -1 when it is neither. */
static int tar_number(const uint8_t *p, size_t n, uint64_t *v)
{
	size_t i = 0;

	*v = 0;
	if (p[0] & 0x80) {
		if (p[0] != 0x80)
			return -1; /* negative, or beyond 2^64 */
		for (i = 1; i < n; i++) {
			if (*v >> 56)
				return -1;
			*v = *v << 8 | p[i];
		}
		return 0;
	}
	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
		if (*v >> 61)
			return -1;
		*v = *v << 3 | (uint64_t)(p[i] - '0');
	}
	if (i < n && p[i] != 0 && p[i] != ' ')
		return -1;
	return 0;
}

static int tar_checksum_ok(const uint8_t *h)
{
	uint64_t want;
	unsigned sum = 0;
	int ssum = 0, i;

	if (tar_number(h + 148, 8, &want))
		return 0;
	for (i = 0; i < BLOCK; i++) {
		uint8_t c = (i >= 148 && i < 156) ? ' ' : h[i];
		sum += c;
		ssum += (signed char)c;
	}
	return want == sum || (int64_t)want == ssum;
}

int archive_sniff(const uint8_t *head, size_t len)
{
	if (len >= 2 && !memcmp(head, GZIP_MAGIC, 2))
		return 1;
	if (len >= 4 && !memcmp(head, ZSTD_MAGIC, 4))
		return 1;
	return len >= BLOCK && !all_zero(head, BLOCK) && tar_checksum_ok(head);
}

/* ---- The table of contents ---- */

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

static int hash_grow(struct archive *a)
{
	size_t cap = a->hash_cap ? a->hash_cap * 2 : 256, i;
	uint32_t *h = calloc(cap, sizeof(*h));

	if (!h)
		return -1;
	for (i = 0; i < a->count; i++) {
		size_t j = name_hash(archive_name(a, &a->members[i])) & (cap - 1);
		while (h[j])
			j = (j + 1) & (cap - 1);
		h[j] = (uint32_t)i + 1;
	}
	free(a->hash);
	a->hash = h;
	a->hash_cap = cap;
	return 0;
}

const struct archive_member *archive_find(const struct archive *a, const char *name)
{
	size_t j;

	if (!a->hash_cap)
		return NULL;
	for (j = name_hash(name) & (a->hash_cap - 1); a->hash[j]; j = (j + 1) & (a->hash_cap - 1)) {
		const struct archive_member *m = &a->members[a->hash[j] - 1];
		if (!strcmp(archive_name(a, m), name))
			return m;
	}
	return NULL;
}

static int pool_add(struct archive *a, const char *s, size_t n, uint32_t *at)
{
	if (a->names_len + n + 1 > UINT32_MAX)
		return -1;
	if (a->names_len + n + 1 > a->names_cap) {
		size_t cap = a->names_cap ? a->names_cap * 2 : 4096;
		char *p;
		while (cap < a->names_len + n + 1)
			cap *= 2;
		p = realloc(a->names, cap);
		if (!p)
			return -1;
		a->names = p;
		a->names_cap = cap;
	}
	memcpy(a->names + a->names_len, s, n);
	a->names[a->names_len + n] = 0;
	*at = (uint32_t)a->names_len;
	a->names_len += n + 1;
	return 0;
}

/* "./a//b/" -> "a/b"; -1 for a name that leaves the archive's root
 * (absolute, or with a ".." component) or holds a NUL. */
static int normalize(const char *in, size_t n, char *out, size_t cap, size_t *len)
{
	size_t i = 0, o = 0;

	if (n && in[0] == '/')
		return -1;
	while (i < n) {
		size_t s = i;
		while (i < n && in[i] != '/')
			i++;
		if (i - s == 2 && in[s] == '.' && in[s + 1] == '.')
			return -1;
		if (i - s > 0 && !(i - s == 1 && in[s] == '.')) {
			if (o + (o ? 1 : 0) + (i - s) >= cap)
				return -1;
			if (o)
				out[o++] = '/';
			memcpy(out + o, in + s, i - s);
			o += i - s;
		}
		i++;
	}
	if (memchr(out, 0, o))
		return -1;
	out[o] = 0;
	*len = o;
	return 0;
}

/* A link target stays inside: relative, and never climbing above the root
 * from the directory of the member that holds it. */
static int link_inside(const char *member, const char *target)
{
	int depth = 0;
	const char *p;

	if (target[0] == '/')
		return 0;
	for (p = member; *p; p++)
		depth += *p == '/';
	for (p = target; *p;) {
		const char *s = p;
		while (*p && *p != '/')
			p++;
		if (p - s == 2 && s[0] == '.' && s[1] == '.') {
			if (--depth < 0)
				return 0;
		} else if (p - s > 0 && !(p - s == 1 && s[0] == '.')) {
			depth++;
		}
		if (*p)
			p++;
	}
	return 1;
}

int archive_read_at(const struct archive *a, uint64_t off, void *p, size_t n,
		    struct crit_error *err)
{
	return fileio_read_at(a->fd, p, n, off, "archive", a->len, err);
}

/* Headers are read through a window of the tar bytes: one pread gives the
 * headers of many small members, and listing a million of them takes no
 * more memory than the window. */
#define SCAN_WINDOW (64u * 1024)

/* Reading state: a window of the tar bytes, and what PAX / GNU records
 * said about the next member. */
struct scan {
	uint64_t pos;		/* next header */
	uint64_t first;		/* first header block of the member being built */
	int ended;
	char long_name[4096], long_link[4096];
	int has_name, has_link, has_size;
	uint64_t pax_size;
	uint64_t win_off;	/* win holds bytes [win_off, win_off + win_len) */
	size_t win_len;
	uint8_t win[SCAN_WINDOW];
};

/* Bytes [off, off + n) of the tar, all within the first `avail`. */
static int scan_read(const struct archive *a, struct scan *s, uint64_t off, void *p, size_t n,
		     uint64_t avail, struct crit_error *err)
{
	size_t k;

	if (off >= s->win_off && off + n <= s->win_off + s->win_len) {
		memcpy(p, s->win + (off - s->win_off), n);
		return 0;
	}
	if (n > SCAN_WINDOW)
		return archive_read_at(a, off, p, n, err);
	k = avail - off < SCAN_WINDOW ? (size_t)(avail - off) : SCAN_WINDOW;
	s->win_len = 0;
	if (archive_read_at(a, off, s->win, k, err))
		return -1;
	s->win_off = off;
	s->win_len = k;
	memcpy(p, s->win, n);
	return 0;
}

/* "LEN key=value\n" records: path, linkpath, size. */
static int pax_parse(struct scan *s, const char *p, size_t n, struct crit_error *err)
{
	size_t i = 0;

	while (i < n) {
		size_t len = 0, j = i, k;
		const char *key, *eq;
		while (j < n && p[j] >= '0' && p[j] <= '9' && len < n)
			len = len * 10 + (size_t)(p[j++] - '0');
		if (j >= n || p[j] != ' ' || len == 0 || len > n - i || p[i + len - 1] != '\n')
			return crit_fail(err, "a PAX header with a malformed record");
		key = p + j + 1;
		eq = memchr(key, '=', (size_t)(p + i + len - key));
		if (!eq)
			return crit_fail(err, "a PAX header record without '='");
		k = (size_t)(p + i + len - 1 - (eq + 1)); /* value length */
		if (eq - key == 4 && !memcmp(key, "path", 4) && k < sizeof(s->long_name)) {
			memcpy(s->long_name, eq + 1, k);
			s->long_name[k] = 0;
			s->has_name = 1;
		} else if (eq - key == 8 && !memcmp(key, "linkpath", 8) && k < sizeof(s->long_link)) {
			memcpy(s->long_link, eq + 1, k);
			s->long_link[k] = 0;
			s->has_link = 1;
		} else if (eq - key == 4 && !memcmp(key, "size", 4)) {
			char num[32];
			uint64_t v = 0;
			size_t d;
			if (k == 0 || k >= sizeof(num))
				return crit_fail(err, "a PAX size that is not a number");
			memcpy(num, eq + 1, k);
			for (d = 0; d < k; d++) {
				if (num[d] < '0' || num[d] > '9' || v > UINT64_MAX / 10 - 9)
					return crit_fail(err, "a PAX size that is not a number");
				v = v * 10 + (uint64_t)(num[d] - '0');
			}
			s->pax_size = v;
			s->has_size = 1;
		}
		i += len;
	}
	return 0;
}

static int add_member(struct archive *a, const struct archive_limits *lim, struct scan *s,
		      const uint8_t *h, uint64_t size, struct crit_error *err)
{
	char raw[4096], name[4096], link[4096];
	size_t n, ln = 0;
	struct archive_member *m;

	if (s->has_name) {
		snprintf(raw, sizeof(raw), "%s", s->long_name);
	} else if (!memcmp(h + 257, "ustar\0", 6) && h[345]) {
		snprintf(raw, sizeof(raw), "%.155s/%.100s", (const char *)h + 345, (const char *)h);
	} else {
		snprintf(raw, sizeof(raw), "%.100s", (const char *)h);
	}
	if (normalize(raw, strlen(raw), name, sizeof(name), &n))
		return crit_fail(err, "member %zu '%s': a path outside the archive", a->count + 1, raw);
	if (s->has_link)
		snprintf(link, sizeof(link), "%s", s->long_link);
	else
		snprintf(link, sizeof(link), "%.100s", (const char *)h + 157);
	if ((h[156] == '1' || h[156] == '2')) {
		ln = strlen(link);
		if (h[156] == '2' ? !link_inside(name, link) : normalize(link, ln, raw, sizeof(raw), &ln))
			return crit_fail(err, "member %zu '%s': a link to '%s', outside the archive",
					 a->count + 1, name, link);
	} else {
		link[0] = 0;
	}
	if (archive_find(a, name) && h[156] != '5')
		return crit_fail(err, "member %zu '%s': a second member of that name", a->count + 1, name);
	if (archive_find(a, name))
		return 0; /* a directory listed twice is harmless */
	if (a->count >= lim->max_members)
		return crit_fail(err, "more than %zu members: not a checkpoint archive", lim->max_members);
	if (a->count == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		m = realloc(a->members, cap * sizeof(*m));
		if (!m)
			return crit_fail(err, "out of memory");
		a->members = m;
		a->cap = cap;
	}
	m = &a->members[a->count];
	memset(m, 0, sizeof(*m));
	if (pool_add(a, name, n, &m->name) || pool_add(a, link, strlen(link), &m->link))
		return crit_fail(err, "out of memory");
	m->header = s->first;
	m->data = s->pos + BLOCK;
	m->size = size;
	m->end = m->data + ((size + BLOCK - 1) & ~(uint64_t)(BLOCK - 1));
	m->type = h[156] ? (char)h[156] : '0';
	{
		uint64_t mode = 0;
		tar_number(h + 100, 8, &mode);
		m->mode = (uint32_t)(mode & 07777);
		tar_number(h + 136, 12, &m->mtime);
	}
	/* grown before the member counts: hash_grow places the others only */
	if ((a->count + 1) * 2 > a->hash_cap && hash_grow(a))
		return crit_fail(err, "out of memory");
	a->count++;
	{
		size_t j = name_hash(name) & (a->hash_cap - 1);
		while (a->hash[j])
			j = (j + 1) & (a->hash_cap - 1);
		a->hash[j] = (uint32_t)a->count;
	}
	return 0;
}

/* Read the headers that lie wholly within the first `avail` bytes. 0 when
 * it needs more bytes (or is done: s->ended), -1 on a bad header. */
static int scan_headers(struct archive *a, const struct archive_limits *lim, struct scan *s,
			uint64_t avail, struct crit_error *err)
{
	uint8_t h[BLOCK];

	while (!s->ended && s->pos + BLOCK <= avail) {
		uint64_t size, padded;
		char type;

		if (scan_read(a, s, s->pos, h, BLOCK, avail, err))
			return -1;
		if (all_zero(h, BLOCK)) {
			s->ended = 1;
			a->tar_end = s->pos;
			break;
		}
		if (!tar_checksum_ok(h))
			return crit_fail(err, "a bad tar header at offset %llu (checksum)",
					 (unsigned long long)s->pos);
		if (tar_number(h + 124, 12, &size))
			return crit_fail(err, "a bad tar header at offset %llu (size)",
					 (unsigned long long)s->pos);
		type = (char)h[156];
		if (s->has_size && type != 'x' && type != 'g' && type != 'L' && type != 'K')
			size = s->pax_size;
		if (size > UINT64_MAX - 2 * BLOCK)
			return crit_fail(err, "a member of %llu bytes", (unsigned long long)size);
		padded = (size + BLOCK - 1) & ~(uint64_t)(BLOCK - 1);
		if (padded > UINT64_MAX - BLOCK - s->pos)
			return crit_fail(err, "a member of %llu bytes at offset %llu",
					 (unsigned long long)size, (unsigned long long)s->pos);
		if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
			char *rec;
			if (size > PAX_MAX)
				return crit_fail(err, "a %c header of %llu bytes at offset %llu", type,
						 (unsigned long long)size, (unsigned long long)s->pos);
			if (s->pos + BLOCK + padded > avail)
				return 0; /* wait for its bytes */
			if (type == 'g') {
				s->pos += BLOCK + padded;
				continue;
			}
			rec = malloc(size + 1);
			if (!rec)
				return crit_fail(err, "out of memory");
			if (scan_read(a, s, s->pos + BLOCK, rec, size, avail, err)) {
				free(rec);
				return -1;
			}
			rec[size] = 0;
			if (!s->has_name && !s->has_link && !s->has_size)
				s->first = s->pos;
			if (type == 'x') {
				if (pax_parse(s, rec, size, err)) {
					free(rec);
					return -1;
				}
			} else {
				char *dst = type == 'L' ? s->long_name : s->long_link;
				snprintf(dst, 4096, "%s", rec);
				*(type == 'L' ? &s->has_name : &s->has_link) = 1;
			}
			free(rec);
			s->pos += BLOCK + padded;
			continue;
		}
		if (!s->has_name && !s->has_link && !s->has_size)
			s->first = s->pos;
		if (add_member(a, lim, s, h, size, err))
			return -1;
		s->has_name = s->has_link = s->has_size = 0;
		s->pos += BLOCK + padded;
	}
	return 0;
}

/* ---- Decompressing into the spool ---- */

static int spool_open(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/crit-archive-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

struct inflater {
	enum archive_compression c;
	z_stream z;
	ZSTD_DStream *zs;
	int done;	/* the last stream ended exactly at the end of input */
};

/* Decompress in[] into out[]: *used and *made say how much. -1 on a
 * corrupt stream. Concatenated gzip members and zstd frames follow on. */
static int inflate_some(struct inflater *f, const uint8_t *in, size_t n, size_t *used,
			uint8_t *out, size_t cap, size_t *made, struct crit_error *err)
{
	if (f->c == ARCHIVE_GZIP) {
		int r;
		if (f->done && n) {
			if (inflateReset(&f->z) != Z_OK)
				return crit_fail(err, "gzip: cannot restart");
			f->done = 0;
		}
		f->z.next_in = (Bytef *)(uintptr_t)in;
		f->z.avail_in = (uInt)n;
		f->z.next_out = out;
		f->z.avail_out = (uInt)cap;
		r = inflate(&f->z, Z_NO_FLUSH);
		*used = n - f->z.avail_in;
		*made = cap - f->z.avail_out;
		if (r == Z_STREAM_END)
			f->done = 1;
		else if (r != Z_OK && r != Z_BUF_ERROR)
			return crit_fail(err, "gzip: %s", f->z.msg ? f->z.msg : "corrupt stream");
		return 0;
	} else {
		ZSTD_inBuffer ib = { in, n, 0 };
		ZSTD_outBuffer ob = { out, cap, 0 };
		size_t r = ZSTD_decompressStream(f->zs, &ob, &ib);
		if (ZSTD_isError(r))
			return crit_fail(err, "zstd: %s", ZSTD_getErrorName(r));
		f->done = r == 0;
		*used = ib.pos;
		*made = ob.pos;
		return 0;
	}
}

/* The spool may take what TMPDIR has free, less 5%, and no more than the limit. */
static uint64_t spool_room(int fd, uint64_t limit)
{
	struct statvfs v;

	if (fstatvfs(fd, &v) == 0) {
		uint64_t free_bytes = (uint64_t)v.f_bavail * v.f_frsize;
		free_bytes -= free_bytes / 20;
		if (free_bytes < limit)
			return free_bytes;
	}
	return limit;
}

static int decompress(struct archive *a, int in, int spool, const struct archive_limits *lim,
		      struct scan *s, struct crit_error *err)
{
	struct inflater f;
	uint8_t *ibuf = malloc(CHUNK), *obuf = malloc(CHUNK);
	uint64_t total = 0, kept = 0, room = spool_room(spool, lim->max_bytes);
	int r = -1, eof = 0;
	size_t have = 0, off = 0, made_before = 0;

	memset(&f, 0, sizeof(f));
	f.c = a->compression;
	if (!ibuf || !obuf) {
		crit_fail(err, "out of memory");
		goto out;
	}
	if (f.c == ARCHIVE_GZIP ? inflateInit2(&f.z, 15 + 16) != Z_OK : !(f.zs = ZSTD_createDStream())) {
		crit_fail(err, "out of memory");
		goto out;
	}
	for (;;) {
		size_t used = 0, made = 0;
		if (off == have && !eof) {
			ssize_t n = read(in, ibuf, CHUNK);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				crit_fail(err, "%s", strerror(errno));
				goto out;
			}
			have = (size_t)n;
			off = 0;
			eof = n == 0;
		}
		/* at the end of input, the decoder may still hold output */
		if (eof && off == have && (f.done || !made_before)) {
			if (!f.done) {
				crit_fail(err, "%s: the compressed stream is truncated",
					  archive_codec_name(f.c));
				goto out;
			}
			break;
		}
		if (inflate_some(&f, ibuf + off, have - off, &used, obuf, CHUNK, &made, err))
			goto out;
		off += used;
		made_before = made;
		if (total + made > room) {
			crit_fail(err, "decompresses to more than %llu bytes (the room in TMPDIR, "
				  "or CRIT_ARCHIVE_MAX_BYTES)", (unsigned long long)room);
			goto out;
		}
		total += made;
		if (!s->ended) {
			if (write_all(spool, obuf, made)) {
				crit_fail(err, "cannot spool to TMPDIR: %s", strerror(errno));
				goto out;
			}
			kept += made;
			if (scan_headers(a, lim, s, kept, err))
				goto out;
		} /* after the end-of-archive blocks: only checked (CRC), not kept */
	}
	a->len = kept;
	r = 0;
out:
	if (f.c == ARCHIVE_GZIP)
		inflateEnd(&f.z);
	ZSTD_freeDStream(f.zs);
	free(ibuf);
	free(obuf);
	return r;
}

static int finish_scan(struct archive *a, struct scan *s, struct crit_error *err)
{
	size_t i;

	if (!s->ended && s->pos != a->len)
		return crit_fail(err, "truncated: a member runs past the end at offset %llu",
				 (unsigned long long)a->len);
	if (!s->ended)
		a->tar_end = s->pos;
	for (i = 0; i < a->count; i++)
		if (a->members[i].end > a->len)
			return crit_fail(err, "member %zu '%s': truncated (%llu bytes declared, the "
					 "archive ends at offset %llu)", i + 1,
					 archive_name(a, &a->members[i]),
					 (unsigned long long)a->members[i].size,
					 (unsigned long long)a->len);
	if (a->count == 0)
		return crit_fail(err, "an empty archive");
	return 0;
}

int archive_open(struct archive *a, int fd, const struct archive_limits *lim,
		 struct crit_error *err)
{
	struct scan *s = calloc(1, sizeof(*s));
	uint8_t head[BLOCK];
	struct stat st;
	ssize_t n;
	int r = -1;

	archive_init(a);
	if (!s)
		return crit_fail(err, "out of memory");
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		crit_fail(err, "not a regular file");
		goto out;
	}
	n = pread(fd, head, sizeof(head), 0);
	if (n < 0) {
		crit_fail(err, "%s", strerror(errno));
		goto out;
	}
	if (!archive_sniff(head, (size_t)n)) {
		crit_fail(err, "not a tar archive (plain, gzip or zstd)");
		goto out;
	}
	if (n >= 2 && !memcmp(head, GZIP_MAGIC, 2))
		a->compression = ARCHIVE_GZIP;
	else if (n >= 4 && !memcmp(head, ZSTD_MAGIC, 4))
		a->compression = ARCHIVE_ZSTD;
	if (a->compression == ARCHIVE_NONE) {
		a->len = (uint64_t)st.st_size;
		a->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (a->fd < 0) {
			crit_fail(err, "%s", strerror(errno));
			goto out;
		}
		if (scan_headers(a, lim, s, a->len, err) || finish_scan(a, s, err))
			goto out;
	} else {
		int spool = spool_open();
		if (spool < 0) {
			crit_fail(err, "cannot create a file in TMPDIR: %s", strerror(errno));
			goto out;
		}
		a->fd = spool; /* kept: members are read through it */
		if (lseek(fd, 0, SEEK_SET) < 0 || decompress(a, fd, spool, lim, s, err) ||
		    finish_scan(a, s, err))
			goto out;
	}
	r = 0;
out:
	free(s);
	if (r)
		archive_close(a);
	return r;
}

void archive_init(struct archive *a)
{
	memset(a, 0, sizeof(*a));
	a->fd = -1;
}

void archive_close(struct archive *a)
{
	if (a->fd >= 0)
		close(a->fd);
	free(a->members);
	free(a->names);
	free(a->hash);
	archive_init(a);
}

/* ---- Writing ---- */

int archive_writer_init(struct archive_writer *w, struct buf *out,
			enum archive_compression c, int level)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->compression = c;
	if (c == ARCHIVE_NONE)
		return 0;
	w->chunk = malloc(CHUNK);
	if (!w->chunk)
		return -1;
	if (c == ARCHIVE_GZIP) {
		z_stream *z = calloc(1, sizeof(*z));
		if (!z)
			return -1;
		w->stream = z;
		if (deflateInit2(z, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK) {
			free(z);
			w->stream = NULL;
			return -1;
		}
	} else {
		ZSTD_CStream *zs = ZSTD_createCStream();
		if (!zs)
			return -1;
		w->stream = zs;
		if (ZSTD_isError(ZSTD_CCtx_setParameter(zs, ZSTD_c_compressionLevel, level ? level : 3)))
			return -1;
	}
	return 0;
}

static int writer_emit(struct archive_writer *w, const void *p, size_t n, int end)
{
	if (w->failed)
		return -1;
	if (w->compression == ARCHIVE_NONE) {
		w->failed = buf_put(w->out, p, n) != 0;
		return w->failed ? -1 : 0;
	}
	if (w->compression == ARCHIVE_GZIP) {
		z_stream *z = w->stream;
		int r;
		z->next_in = (Bytef *)(uintptr_t)p;
		z->avail_in = (uInt)n;
		do {
			z->next_out = w->chunk;
			z->avail_out = CHUNK;
			r = deflate(z, end ? Z_FINISH : Z_NO_FLUSH);
			if (r == Z_STREAM_ERROR || buf_put(w->out, w->chunk, CHUNK - z->avail_out))
				return w->failed = 1, -1;
		} while (z->avail_out == 0 || (end && r != Z_STREAM_END));
	} else {
		ZSTD_inBuffer ib = { p, n, 0 };
		size_t r;
		do {
			ZSTD_outBuffer ob = { w->chunk, CHUNK, 0 };
			r = ZSTD_compressStream2(w->stream, &ob, &ib, end ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(r) || buf_put(w->out, w->chunk, ob.pos))
				return w->failed = 1, -1;
		} while (end ? r != 0 : ib.pos < ib.size);
	}
	return 0;
}

int archive_writer_put(struct archive_writer *w, const void *p, size_t n)
{
	/* zlib counts in uInt: feed at most 1 GiB at a time */
	while (n) {
		size_t k = n > (1u << 30) ? (1u << 30) : n;
		if (writer_emit(w, p, k, 0))
			return -1;
		w->written += k;
		p = (const uint8_t *)p + k;
		n -= k;
	}
	return 0;
}

int archive_writer_copy_member(struct archive_writer *w, const struct archive *a,
			       const struct archive_member *m, struct crit_error *err)
{
	uint8_t *chunk = malloc(CHUNK);
	uint64_t off;
	size_t n;
	int r = 0;

	if (!chunk)
		return crit_fail(err, "out of memory");
	for (off = m->header; off < m->end && r == 0; off += n) {
		n = m->end - off < CHUNK ? (size_t)(m->end - off) : CHUNK;
		r = archive_read_at(a, off, chunk, n, err) || archive_writer_put(w, chunk, n) ? -1 : 0;
	}
	free(chunk);
	return r;
}

int archive_writer_pad(struct archive_writer *w)
{
	static const uint8_t zeros[BLOCK];
	size_t rest = (size_t)(w->written % BLOCK);

	return rest ? archive_writer_put(w, zeros, BLOCK - rest) : 0;
}

static void put_octal(uint8_t *p, size_t n, uint64_t v)
{
	size_t i = n - 1;

	p[i] = 0;
	while (i-- > 0) {
		p[i] = (uint8_t)('0' + (v & 7));
		v >>= 3;
	}
}

static void header_finish(uint8_t *h)
{
	unsigned sum = 0;
	int i;

	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (i = 0; i < BLOCK; i++)
		sum += h[i];
	put_octal(h + 148, 7, sum);
	h[155] = ' ';
}

static int pax_record(char *out, size_t cap, const char *key, const char *value)
{
	size_t body = strlen(key) + strlen(value) + 3, len = body + 1, digits;

	/* the length counts its own digits */
	for (;;) {
		char tmp[24];
		digits = (size_t)snprintf(tmp, sizeof(tmp), "%zu", len);
		if (body + digits == len)
			break;
		len = body + digits;
	}
	return snprintf(out, cap, "%zu %s=%s\n", len, key, value);
}

int archive_writer_file_header(struct archive_writer *w, const char *name, uint64_t size,
			       uint32_t mode, uint64_t mtime)
{
	uint8_t h[BLOCK];
	size_t n = strlen(name);
	int big = size > 077777777777ull;

	if (n > 100 || big) {
		char rec[4096 + 64 + 64];
		int len = 0;
		if (n > 100)
			len += pax_record(rec, sizeof(rec), "path", name);
		if (big) {
			char num[24];
			snprintf(num, sizeof(num), "%llu", (unsigned long long)size);
			len += pax_record(rec + len, sizeof(rec) - (size_t)len, "size", num);
		}
		memset(h, 0, sizeof(h));
		memcpy(h, "PaxHeader", 9);
		put_octal(h + 100, 8, 0644);
		put_octal(h + 108, 8, 0);
		put_octal(h + 116, 8, 0);
		put_octal(h + 124, 12, (uint64_t)len);
		put_octal(h + 136, 12, mtime);
		h[156] = 'x';
		header_finish(h);
		if (archive_writer_put(w, h, BLOCK) || archive_writer_put(w, rec, (size_t)len) ||
		    archive_writer_pad(w))
			return -1;
	}
	memset(h, 0, sizeof(h));
	memcpy(h, name, n > 100 ? 100 : n);
	put_octal(h + 100, 8, mode & 07777);
	put_octal(h + 108, 8, 0);
	put_octal(h + 116, 8, 0);
	put_octal(h + 124, 12, big ? 0 : size);
	put_octal(h + 136, 12, mtime);
	h[156] = '0';
	header_finish(h);
	return archive_writer_put(w, h, BLOCK);
}

int archive_writer_header_like(struct archive_writer *w, const struct archive *a,
			       const struct archive_member *m, uint64_t size, uint64_t mtime,
			       struct crit_error *err)
{
	uint8_t h[BLOCK];
	unsigned sum = 0;
	int i;

	if (m->header != m->data - BLOCK || size > 077777777777ull)
		return archive_writer_file_header(w, archive_name(a, m), size, m->mode, mtime);
	if (archive_read_at(a, m->header, h, BLOCK, err))
		return -1;
	/* read again: the archive may have been rewritten since it was opened */
	if (!tar_checksum_ok(h))
		return crit_fail(err, "the archive changed while it was open: the header of '%s' "
				      "at offset %llu no longer checks", archive_name(a, m),
				 (unsigned long long)m->header);
	put_octal(h + 124, 12, size);
	put_octal(h + 136, 12, mtime);
	memset(h + 148, ' ', 8);
	for (i = 0; i < BLOCK; i++)
		sum += h[i];
	put_octal(h + 148, 7, sum);
	h[155] = ' ';
	return archive_writer_put(w, h, BLOCK);
}

int archive_writer_finish(struct archive_writer *w)
{
	static const uint8_t zeros[2 * BLOCK];

	if (archive_writer_pad(w) || archive_writer_put(w, zeros, sizeof(zeros)))
		return -1;
	if (w->compression != ARCHIVE_NONE && writer_emit(w, NULL, 0, 1))
		return -1;
	return 0;
}

void archive_writer_free(struct archive_writer *w)
{
	if (w->stream) {
		if (w->compression == ARCHIVE_GZIP) {
			deflateEnd(w->stream);
			free(w->stream);
		} else {
			ZSTD_freeCStream(w->stream);
		}
	}
	w->stream = NULL;
	free(w->chunk);
	w->chunk = NULL;
}
