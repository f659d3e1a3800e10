/* Atomic file replacement: temporary file, fsync, rename. */
#define _GNU_SOURCE /* mkostemp */
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
	a->tmp[0] = 0;
	a->dest[0] = 0;
}

int atomic_open(struct atomic_file *a, const char *path)
{
	const char *slash = strrchr(path, '/');
	int n;

	atomic_init(a);
	if (strlen(path) + 16 >= sizeof(a->dest)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(a->dest, sizeof(a->dest), "%s", path);
	if (slash)
		n = snprintf(a->tmp, sizeof(a->tmp), "%.*s/.%s.XXXXXX", (int)(slash - path), path,
			     slash + 1);
	else
		n = snprintf(a->tmp, sizeof(a->tmp), ".%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(a->tmp)) {
		a->tmp[0] = 0;
		errno = ENAMETOOLONG;
		return -1;
	}
	a->fd = mkostemp(a->tmp, O_CLOEXEC);
	if (a->fd < 0) {
		a->tmp[0] = 0;
		return -1;
	}
	/* mkstemp makes 0600; an image is as readable as any new file. */
	{
		mode_t mask = umask(0);
		umask(mask);
		fchmod(a->fd, 0666 & ~mask);
	}
	return 0;
}

int atomic_commit(struct atomic_file *a)
{
	int err;

	if (a->fd < 0)
		return 0;
	if (fsync(a->fd) || close(a->fd)) {
		err = errno;
		a->fd = -1;
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
