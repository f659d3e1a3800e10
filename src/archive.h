/* Container checkpoint archives (podman, CRI-O, kubelet): a tar, plain,
 * gzip or zstd, recognised by its first bytes. Opening reads the table of
 * contents once; a member is then a byte range of one file, read with
 * pread: the archive itself (plain tar) or its decompressed stream spooled
 * to an unlinked temporary file. Never a mapping: another process may
 * truncate the archive while it is open. Also a tar writer for new
 * archives. No Lua here. */
#ifndef CRIT_ARCHIVE_H
#define CRIT_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

enum archive_compression { ARCHIVE_NONE, ARCHIVE_GZIP, ARCHIVE_ZSTD };

struct archive_member {
	uint64_t header;	/* offset of its first header block (PAX, GNU ones included) */
	uint64_t data;		/* offset of its bytes */
	uint64_t size;
	uint64_t end;		/* the next member's first header */
	uint32_t name, link;	/* offsets into the name pool */
	uint32_t mode;
	uint64_t mtime;		/* seconds since the epoch */
	char type;		/* '0' file, '5' directory, '2' symlink, '1' hard link, ... */
};

/* What a hostile archive may make us spend. */
struct archive_limits {
	size_t max_members;	/* members in the table of contents */
	uint64_t max_bytes;	/* decompressed bytes spooled */
};
#define ARCHIVE_MAX_MEMBERS (1u << 18)

struct archive {
	int fd;			/* the tar bytes as a file: the archive, or the spool; -1 */
	uint64_t len;		/* of the tar bytes, when opened */
	enum archive_compression compression;
	struct archive_member *members;
	size_t count, cap;
	char *names;		/* NUL-terminated names, one after another */
	size_t names_len, names_cap;
	uint32_t *hash;		/* open addressing: member index + 1, 0 empty */
	size_t hash_cap;
	uint64_t tar_end;	/* where the end-of-archive blocks start */
};

/* Whether these first bytes start an archive we read: a gzip or zstd
 * stream, or a tar header with a valid checksum. */
int archive_sniff(const uint8_t *head, size_t len);
const char *archive_codec_name(enum archive_compression c);

/* 0, or -1 with err set ("member 5 'x': what"). `fd` is read, not closed. */
int archive_open(struct archive *a, int fd, const struct archive_limits *lim,
		 struct crit_error *err);
void archive_close(struct archive *a); /* idempotent */
/* Before archive_open, or after a failed one: nothing to close. */
void archive_init(struct archive *a);

/* Bytes [off, off + n) of the tar into p: 0, or -1 with err set when
 * they cannot be read (another process truncated the archive). */
int archive_read_at(const struct archive *a, uint64_t off, void *p, size_t n,
		    struct crit_error *err);

/* The member with this name ("checkpoint/core-1.img"), or NULL. */
const struct archive_member *archive_find(const struct archive *a, const char *name);
static inline const char *archive_name(const struct archive *a, const struct archive_member *m)
{
	return a->names + m->name;
}
static inline const char *archive_link(const struct archive *a, const struct archive_member *m)
{
	return a->names + m->link;
}

/* ---- Writing: tar blocks into a buf, compressed on the way. ---- */

struct archive_writer {
	struct buf *out;
	enum archive_compression compression;
	void *stream;		/* z_stream or ZSTD_CStream */
	uint8_t *chunk;		/* compressed output, before it goes to out */
	uint64_t written;	/* tar bytes so far */
	int failed;
};

int archive_writer_init(struct archive_writer *w, struct buf *out,
			enum archive_compression c, int level);
/* Tar bytes as they are. */
int archive_writer_put(struct archive_writer *w, const void *p, size_t n);
/* Member m of archive a as it is, its header blocks (PAX, GNU) included,
 * read a chunk at a time. -1: err set (reading a) or w->failed. */
int archive_writer_copy_member(struct archive_writer *w, const struct archive *a,
			       const struct archive_member *m, struct crit_error *err);
/* A regular file's header (PAX header first if the name is long). */
int archive_writer_file_header(struct archive_writer *w, const char *name, uint64_t size,
			       uint32_t mode, uint64_t mtime);
/* The header of member m of archive a (owner, names, mode kept) for new
 * contents of `size` bytes written at mtime; a fresh header when m's has
 * PAX or GNU blocks before it. -1: err set (reading a) or w->failed. */
int archive_writer_header_like(struct archive_writer *w, const struct archive *a,
			       const struct archive_member *m, uint64_t size, uint64_t mtime,
			       struct crit_error *err);
/* Zeros up to the next 512-byte block. */
int archive_writer_pad(struct archive_writer *w);
/* The end-of-archive blocks, and the end of the compressed stream. */
int archive_writer_finish(struct archive_writer *w);
void archive_writer_free(struct archive_writer *w); /* idempotent */

#endif
