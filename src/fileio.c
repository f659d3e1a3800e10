/* Bounded reads of files that may change underneath (see fileio.h). */
#include "fileio.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fileio_read_at(int fd, void *p, size_t n, uint64_t off, const char *what, uint64_t opened,
		   struct crit_error *err)
{
	uint8_t *dst = p;
	struct stat st;
	ssize_t r;

	while (n > 0) {
		r = pread(fd, dst, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return crit_fail(err, "reading the %s: %s", what, strerror(errno));
		if (r == 0)
			return crit_fail(err, "the %s changed while it was open: it has %jd bytes now, "
					      "%" PRIu64 " when it was opened", what,
					 fstat(fd, &st) ? (intmax_t)-1 : (intmax_t)st.st_size, opened);
		dst += r;
		off += (uint64_t)r;
		n -= (size_t)r;
	}
	return 0;
}
