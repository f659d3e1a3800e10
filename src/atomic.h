/* Replace a file atomically: write an unnamed temporary file in the same
 * directory (O_TMPFILE; a named one where that is unsupported), fsync it,
 * give it a name and rename it over the target, fsync the directory.
 * Until commit the target is untouched; a process killed while writing
 * leaves at most an unnamed inode, which the kernel frees. A target that
 * exists and is not a regular file (/dev/null, a FIFO, a terminal) is
 * written in place: it cannot be replaced, and must not be.
 * The new file takes the mode and owner of the file it replaces (or of
 * `like`, the file it stands for, e.g. when staged elsewhere) from its
 * creation on; a file that replaces none gets `mode` (0: 0666 less the
 * umask): 0600 for one holding process memory, as the kernel makes cores. */
#ifndef CRIT_ATOMIC_H
#define CRIT_ATOMIC_H

struct atomic_file {
	int fd;		/* -1 when closed */
	int unnamed;	/* O_TMPFILE: no name until commit */
	int direct;	/* writing the target itself: a device or a FIFO */
	char tmp[4096];	/* the temporary name, or empty */
	char dest[4096];
};

void atomic_init(struct atomic_file *a);
#include <sys/types.h>

/* 0, or -1 with errno. `like` may be NULL (path itself). */
int atomic_open(struct atomic_file *a, const char *path, const char *like, mode_t mode);
int atomic_commit(struct atomic_file *a);		  /* -1 with errno */
void atomic_abort(struct atomic_file *a);		  /* close and remove; idempotent */

#endif
