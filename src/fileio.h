/* Reading a file that another process may truncate, grow or rewrite while
 * it is open (an image, an archive): with pread into our own memory, never
 * through a mapping, where a page past a new end is SIGBUS. */
#ifndef CRIT_FILEIO_H
#define CRIT_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* n bytes at offset off of fd into p: 0, or -1 with err set when the read
 * fails or the file now ends before them ("the WHAT changed while it was
 * open: it has N bytes now, OPENED when it was opened"). */
int fileio_read_at(int fd, void *p, size_t n, uint64_t off, const char *what, uint64_t opened,
		   struct crit_error *err);

#endif
