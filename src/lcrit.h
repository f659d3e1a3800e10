/* Shared by the binding's files: the userdata types of crit.core. */
#ifndef CRIT_LCRIT_H
#define CRIT_LCRIT_H

#include <lua.h>

#include "atomic.h"
#include "buf.h"
#include "error.h"
#include "image.h"

#define INDEX_MT "crit.Index"
#define OUTPUT_MT "crit.Output"

/* An indexed image: its bytes and where every INDEX_STRIDE-th entry
 * starts; the entries in between are found by hopping over sizes. A
 * million-entry pagemap needs 0.5 MB of index, not 12 MB.
 *
 * The bytes are the process's own: never a mapping of the file, which
 * another process may truncate (SIGBUS) or rewrite (sizes that no longer
 * hold) while the image is open. A file is copied into an anonymous
 * mapping a LOAD_CHUNK at a time, as entries are wanted, read with pread
 * from the descriptor kept open; chunks behind a pass are let go and read
 * again if touched. A raw image (pages-N.img) over 1 MiB is not copied:
 * its ranges are read when asked for. A file that shrank is an error
 * naming it. Files up to 1 MiB are copied whole when opened and their
 * descriptor closed: a dump of many small images holds none open. An
 * archive member is read the same way, from its own descriptor of the
 * archive (or its spool), at the member's offset. */
#define INDEX_STRIDE 16
#define LOAD_CHUNK ((uint64_t)64 << 10)
struct index {
	const uint8_t *data;	/* the copy (NULL: a raw image read with pread) */
	size_t len;		/* the image's size when it was opened */
	void *map;		/* the anonymous mapping to unmap, or NULL */
	int fd;			/* the file, read on demand; -1 once all is read */
	uint64_t base;		/* where the image starts in fd (an archive member's offset) */
	uint64_t file_len;	/* fd's size when it was opened */
	int member;		/* fd is an archive: errors say so */
	uint8_t *loaded;	/* loaded[k]: chunk k of map holds the file's bytes */
	struct image_header h;
	size_t count;		/* entries indexed so far */
	uint64_t *mark;		/* mark[k]: start of entry k * INDEX_STRIDE */
	size_t nmark, cap;
	struct image_cursor cur; /* indexing goes on from here, on demand */
	int complete;		 /* every entry is indexed */
	int closed;		 /* close() was called: every method raises */
	struct entry_loc last;	 /* the entry lcrit_entry_at found last, */
	size_t last_i;		 /* whose number is last_i - 1 (0: none) */
	char name[256];	/* file name, for error messages */
};

/* Where bytes go: memory, an already open file descriptor (stdout), or a
 * named file replaced atomically when finished and removed if not. */
struct output {
	struct buf buf;
	struct atomic_file af;
	int finished;
	int sparse;	/* zeros(n) left holes: set the size on finish */
	char name[256];
};

struct index *lcrit_check_index(lua_State *L, int i);
struct output *lcrit_check_output(lua_State *L, int i);
/* Raise a Lua error if writing failed (disk full, closed pipe). */
void lcrit_output_check(lua_State *L, struct output *o);
/* Errors (lerror.c). Data and I/O errors raise a crit.Error: a table with
 * file, entry, offset (or line, column), path and message, whose tostring
 * is "NAME: entry N at offset X: path: what". Misuse of the API (a wrong
 * argument, a closed object) raises a plain string. */
/* Push err about the file NAME (NULL: none) as a crit.Error. */
void lcrit_error_push(lua_State *L, const char *name, const struct crit_error *err);
/* Raise err about the file NAME as a crit.Error. */
int lcrit_raise(lua_State *L, const char *name, const struct crit_error *err);
/* Raise a crit.Error about the file NAME, at no known place in it, with
 * a message formatted as by lua_pushfstring. */
int lcrit_fail_file(lua_State *L, const char *name, const char *fmt, ...);
/* Raise a plain string as it is, without the Lua position luaL_error adds. */
int lcrit_fail(lua_State *L, const char *fmt, ...);
/* Register crit.Error and set core.error and core.is_error in the table on
 * top of the stack. */
void lcrit_error_register(lua_State *L);

/* Index entries up to entry i (0-based); 1 if it exists. Raises on a
 * corrupt image. SIZE_MAX indexes them all. */
int lcrit_index_upto(lua_State *L, struct index *x, size_t i);
/* Let the mapped pages within [from, to) go (a no-op for an image in a
 * string): a pass over a huge image then takes constant memory. They are
 * read again from the page cache if touched. */
void lcrit_index_drop(struct index *x, uint64_t from, uint64_t to);
/* Where entry i (0-based, already indexed) lies, its bytes read in.
 * Checked again, not trusted: raises if the file changed so that the
 * entry no longer lies where indexing found it. */
void lcrit_entry_at(lua_State *L, struct index *x, size_t i, struct entry_loc *loc);
/* Make bytes [from, to) of the image readable in x->data (image_cursor.need,
 * ctx an index): -1 with err set if the file no longer has them. */
int lcrit_index_need(void *ctx, uint64_t from, uint64_t to, struct crit_error *err);
/* Its message (loc->msg_len bytes), followed by its payload. */
const uint8_t *lcrit_entry_msg(const struct index *x, const struct entry_loc *loc);



/* Bytes [off, off + n) of the image into dst, read in if need be.
 * Raises if the file has them no more. */
void lcrit_index_read(lua_State *L, struct index *x, uint64_t off, size_t n, uint8_t *dst);
/* An index over the len bytes at offset base of fd (an archive of
 * file_len bytes; fd is duplicated): an archive member. Pushed. */
struct index *lcrit_index_member(lua_State *L, const char *name, int fd, uint64_t base,
				 uint64_t len, uint64_t file_len);
/* core.archive(path) and its methods (larchive.c). */
int lcrit_archive_open(lua_State *L);
int lcrit_archive_writer(lua_State *L);
int lcrit_archive_sniff(lua_State *L);
void lcrit_archive_register(lua_State *L);

/* JSON (ljson_write.c, ljson_read.c). */
int lcrit_json_write(lua_State *L); /* core.json_write(index, output, opts) */
int lcrit_json_entry(lua_State *L); /* core.json_entry(index, i, opts) -> string */
int lcrit_json_read(lua_State *L);
int lcrit_quopri(lua_State *L);	    /* core.quopri(bytes) -> quoted-printable */  /* core.json_read(input, output [, name]) -> magic, count */
/* Text format (ljson_write.c, ljson_read.c). */
int lcrit_text_write(lua_State *L);   /* core.text_write(index, output, {nice=}) */
int lcrit_text_read(lua_State *L);    /* core.text_read(text, output [, name]) -> magic, count */
int lcrit_input_format(lua_State *L); /* core.input_format(file or string) -> "txt" | "json" */

/* The image streamer (lstreamer.c): registers its type and sets
 * core.streamer and core.file_stamp in the table on top of the stack. */
void lcrit_streamer_register(lua_State *L);
#endif
