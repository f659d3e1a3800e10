/* Where and why decoding or encoding failed. Filled by the core; the
 * binding turns it into a crit.Error value (src/lerror.c), whose line reads
 * "FILE: entry N at offset X: path: what". */
#ifndef CRIT_ERROR_H
#define CRIT_ERROR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct crit_error {
	char msg[256];
	char path[256];	  /* field path, "thread_info.gpregs.ip"; may be empty */
	long entry;	  /* 0-based entry index, -1 for the header */
	uint64_t offset;  /* byte offset in the image, or CRIT_NO_OFFSET */
	long line, column;
};

/* An error whose position in the file is not known (raised from Lua). */
#define CRIT_NO_OFFSET UINT64_MAX

void crit_error_clear(struct crit_error *e);
/* Sets msg (printf-style) and returns -1, so callers can `return crit_fail(...)`. */
int crit_fail(struct crit_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The same for helpers that forward their own format and arguments. */
int crit_vfail(struct crit_error *e, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Prepends one path component ("gpregs", or "[3]" for an index). */
void crit_error_push_path(struct crit_error *e, const char *name, long index);
/* Where in the file, as the error line says it: "line L, column C: ",
 * "entry N at offset X: ", "entry N: ", "offset X: " or "". */
void crit_error_where(const struct crit_error *e, char *out, size_t size);

#endif
