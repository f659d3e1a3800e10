/* Atomic file replacement: temporary file, fsync, rename. */
#define _GNU_SOURCE /* O_TMPFILE, mkostemp */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void atomic_init(struct atomic_file *a)
{
	a->fd = -1;
	a->unnamed = 0;
	a->direct = 0;
	a->tmp[0] = 0;
	a->dest[0] = 0;
}

/* "dir/.base.XXXXXX" for dest "dir/base"; -1 if it does not fit. */
static int temp_name(struct atomic_file *a)
{
	const char *slash = strrchr(a->dest, '/');
	int n;

	if (slash)
		n = snprintf(a->tmp, sizeof(a->tmp), "%.*s/.%s.XXXXXX", (int)(slash - a->dest),
			     a->dest, slash + 1);
	else
		n = snprintf(a->tmp, sizeof(a->tmp), ".%s.XXXXXX", a->dest);
	if (n < 0 || (size_t)n >= sizeof(a->tmp)) {
		a->tmp[0] = 0;
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static void dir_of(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, size, ".");
	else if (slash == path)
		snprintf(out, size, "/");
	else
		snprintf(out, size, "%.*s", (int)(slash - path), path);
}

/* The new file's mode and owner, set before a byte of it is written:
 * those of the file it replaces, or `mode` for a new one. The owner is
 * set first (chown clears set-id bits); a caller who may not give the
 * file away still keeps the mode, never a wider one. */
static int take_attributes(int fd, const char *like, mode_t mode)
{
	struct stat st;
	mode_t mask;

	if (stat(like, &st) == 0 && S_ISREG(st.st_mode)) {
		if (fchown(fd, st.st_uid, st.st_gid) && errno != EPERM)
			return -1;
		return fchmod(fd, st.st_mode & 07777);
	}
	if (!mode) {
		mask = umask(0);
		umask(mask);
		mode = 0666 & ~mask;
	}
	return fchmod(fd, mode);
}

int atomic_open(struct atomic_file *a, const char *path, const char *like, mode_t mode)
{
	char dir[4096];
	struct stat st;
	int err;

	atomic_init(a);
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		a->fd = open(path, O_WRONLY | O_CLOEXEC);
		a->direct = a->fd >= 0;
		return a->fd >= 0 ? 0 : -1;
	}
	if (strlen(path) + 16 >= sizeof(a->dest)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(a->dest, sizeof(a->dest), "%s", path);
	dir_of(path, dir, sizeof(dir));
	a->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (a->fd >= 0) {
		a->unnamed = 1;
	} else {
		if (temp_name(a))
			return -1;
		a->fd = mkostemp(a->tmp, O_CLOEXEC); /* 0600 */
		if (a->fd < 0) {
			a->tmp[0] = 0;
			return -1;
		}
	}
	if (take_attributes(a->fd, like ? like : path, mode)) {
		err = errno;
		atomic_abort(a);
		errno = err;
		return -1;
	}
	return 0;
}

/* Give the unnamed file a fresh temporary name in its directory. */
static int link_unnamed(struct atomic_file *a)
{
	char proc[64];
	int tries;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", a->fd);
	for (tries = 0; tries < 100; tries++) {
		char *x;
		if (temp_name(a))
			return -1;
		x = a->tmp + strlen(a->tmp) - 6;
		snprintf(x, 7, "%06lx", (unsigned long)((unsigned)rand() ^ (unsigned)getpid()) & 0xffffff);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, a->tmp, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno != EEXIST) {
			a->tmp[0] = 0;
			return -1;
		}
	}
	a->tmp[0] = 0;
	return -1;
}

static void sync_dir(const char *path)
{
	char dir[4096];
	int fd;

	dir_of(path, dir, sizeof(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd); /* best effort: the rename is done either way */
		close(fd);
	}
}

int atomic_commit(struct atomic_file *a)
{
	int err;

	if (a->fd < 0)
		return 0;
	if (a->direct) {
		err = close(a->fd);
		a->fd = -1;
		return err;
	}
	if (fsync(a->fd) || (a->unnamed && link_unnamed(a)) || close(a->fd)) {
		err = errno;
		atomic_abort(a);
		errno = err;
		return -1;
	}
	a->fd = -1;
	if (rename(a->tmp, a->dest)) {
		err = errno;
		atomic_abort(a);
		errno = err;
		return -1;
	}
	a->tmp[0] = 0;
	sync_dir(a->dest);
	return 0;
}

void atomic_abort(struct atomic_file *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (a->tmp[0])
		unlink(a->tmp);
	a->tmp[0] = 0;
}
