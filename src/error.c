/* Error records for the core: a message, a field path and a position. */
#include "error.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Cheap: a decode clears one for every entry, and the buffers are only
 * read up to their NUL. */
void crit_error_clear(struct crit_error *e)
{
	e->msg[0] = 0;
	e->path[0] = 0;
	e->entry = -1;
	e->offset = 0;
	e->line = e->column = 0;
}

int crit_vfail(struct crit_error *e, const char *fmt, va_list ap)
{
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return -1;
}

int crit_fail(struct crit_error *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	crit_vfail(e, fmt, ap);
	va_end(ap);
	return -1;
}

/* Append at most what fits; a path too long for the record is cut. */
static size_t append(char *dst, size_t at, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (at >= size)
		return at;
	if (n > size - 1 - at)
		n = size - 1 - at;
	memcpy(dst + at, src, n);
	dst[at + n] = 0;
	return at + n;
}

void crit_error_push_path(struct crit_error *e, const char *name, long index)
{
	char old[sizeof(e->path)], num[32];
	size_t at;

	memcpy(old, e->path, sizeof(old));
	if (name) {
		at = append(e->path, 0, sizeof(e->path), name);
	} else {
		snprintf(num, sizeof(num), "[%ld]", index + 1);
		at = append(e->path, 0, sizeof(e->path), num);
	}
	if (old[0] && old[0] != '[')
		at = append(e->path, at, sizeof(e->path), ".");
	append(e->path, at, sizeof(e->path), old);
}

void crit_error_where(const struct crit_error *e, char *out, size_t size)
{
	if (e->line > 0)
		snprintf(out, size, "line %ld, column %ld: ", e->line, e->column);
	else if (e->entry >= 0 && e->offset != CRIT_NO_OFFSET)
		snprintf(out, size, "entry %ld at offset %" PRIu64 ": ", e->entry + 1, e->offset);
	else if (e->entry >= 0)
		snprintf(out, size, "entry %ld: ", e->entry + 1);
	else if (e->offset != CRIT_NO_OFFSET)
		snprintf(out, size, "offset %" PRIu64 ": ", e->offset);
	else if (size)
		out[0] = 0;
}
