/* crit.core: the Lua binding of the image codec. Images are indexed, not
 * decoded, on open; an entry becomes a Lua table only when asked for, and
 * a table goes back to protobuf wire format only when it is written. */
#define _GNU_SOURCE /* SEEK_DATA */
#include "lcrit.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "fileio.h"
#include "image.h"
#include "msg.h"
#include "wire.h"

#define WRITER_MT "crit.Writer"

/* An index that is open: a closed one raises rather than reading as an
 * empty image, which would pass for a real answer. */
static struct index *check_index(lua_State *L, int i)
{
	struct index *x = luaL_checkudata(L, i, INDEX_MT);

	if (x->closed)
		luaL_error(L, "%s: the image is closed", x->name);
	return x;
}

struct index *lcrit_check_index(lua_State *L, int i)
{
	return check_index(L, i);
}

/* __gc, __close and close(): idempotent. */
static int index_gc(lua_State *L)
{
	struct index *x = luaL_checkudata(L, 1, INDEX_MT);

	if (x->map)
		munmap(x->map, x->len);
	x->map = NULL;
	x->data = NULL;
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	free(x->loaded);
	x->loaded = NULL;
	free(x->mark);
	x->mark = NULL;
	x->count = x->nmark = x->cap = 0;
	x->data = NULL;
	x->len = 0;
	x->h.header_len = 0;
	x->complete = 1;
	x->closed = 1;
	return 0;
}

static int index_push(struct index *x, const struct entry_loc *loc)
{
	if (x->count % INDEX_STRIDE == 0) {
		if (x->nmark == x->cap) {
			size_t cap = x->cap ? x->cap * 2 : 64;
			uint64_t *m = realloc(x->mark, cap * sizeof(*m));

			if (!m)
				return -1;
			x->mark = m;
			x->cap = cap;
		}
		x->mark[x->nmark++] = loc->start;
	}
	x->count++;
	return 0;
}

/* Raise "NAME: entry N at offset X: the file changed ...: what". */
static int raise_changed(lua_State *L, struct index *x, struct crit_error *err)
{
	char what[sizeof(err->msg)];

	memcpy(what, err->msg, sizeof(what));
	crit_fail(err, "the %s changed since it was indexed: %s", x->member ? "archive" : "file", what);
	return lcrit_raise(L, x->name, err);
}

/* Hop from the mark before entry i to it, reading each size again through
 * a cursor (bounds checked, bytes read in) and each landing on the marks
 * that indexing recorded: bytes read again after their chunk was let go
 * may not be those that were indexed. */
void lcrit_entry_at(lua_State *L, struct index *x, size_t i, struct entry_loc *loc)
{
	struct image_cursor c = x->cur;
	struct crit_error err;
	size_t k;

	crit_error_clear(&err);
	c.ready_to = 0; /* ask for every byte: chunks may have gone since */
	c.index = i - i % INDEX_STRIDE;
	c.pos = x->mark[c.index / INDEX_STRIDE];
	/* Entries are mostly read in order: go on from the last one found
	 * rather than from the mark before it; its bytes are asked for again. */
	if (x->last_i == i + 1) {
		err.entry = (long)i;
		err.offset = x->last.start;
		if (lcrit_index_need(x, x->last.start,
				     x->last.start + 4 + x->last.msg_len + x->last.payload_len, &err))
			raise_changed(L, x, &err);
		*loc = x->last;
		return;
	}
	if (x->last_i > c.index && x->last_i <= i) {
		c.index = x->last_i;
		c.pos = x->last.start + 4 + x->last.msg_len + x->last.payload_len;
	}
	for (;;) {
		if (image_cursor_next(&c, loc, &err) <= 0) {
			if (!err.msg[0])
				crit_fail(&err, "no entry there any more");
			raise_changed(L, x, &err);
		}
		k = c.index / INDEX_STRIDE;
		if (c.index % INDEX_STRIDE == 0 && k < x->nmark && c.pos != x->mark[k]) {
			err.entry = (long)c.index;
			err.offset = c.pos;
			crit_fail(&err, "entry found at offset %" PRIu64 ", indexed at %" PRIu64, c.pos,
				  x->mark[k]);
			raise_changed(L, x, &err);
		}
		if (c.index == i + 1)
			break;
	}
	x->last = *loc;
	x->last_i = i + 1;
}

const uint8_t *lcrit_entry_msg(const struct index *x, const struct entry_loc *loc)
{
	return x->data + loc->start + 4;
}

/* n bytes of the image from offset off into dst: -1 (err set) if the
 * file has them no more. */
static int read_at(const struct index *x, uint8_t *dst, uint64_t off, size_t n,
		   struct crit_error *err)
{
	return fileio_read_at(x->fd, dst, n, x->base + off, x->member ? "archive" : "file",
			      x->file_len, err);
}

/* Read chunks [a, b) of the file into the copy. */
static int load_chunks(struct index *x, size_t a, size_t b, struct crit_error *err)
{
	uint64_t from = a * LOAD_CHUNK, to = b * LOAD_CHUNK < x->len ? b * LOAD_CHUNK : x->len;

	if (read_at(x, (uint8_t *)x->map + from, from, (size_t)(to - from), err))
		return -1;
	memset(x->loaded + a, 1, b - a);
	return 0;
}

int lcrit_index_need(void *ctx, uint64_t from, uint64_t to, struct crit_error *err)
{
	struct index *x = ctx;
	size_t a, b, end;

	if (!x->loaded || from >= to)
		return 0;
	a = (size_t)(from / LOAD_CHUNK);
	end = (size_t)((to - 1) / LOAD_CHUNK) + 1;
	while (a < end) {
		if (x->loaded[a]) {
			a++;
			continue;
		}
		for (b = a; b < end && !x->loaded[b]; b++)
			;
		if (load_chunks(x, a, b, err))
			return -1;
		a = b;
	}
	return 0;
}

/* lcrit_index_need, raising "NAME: offset X: what". */
static void index_need(lua_State *L, struct index *x, uint64_t from, uint64_t to)
{
	struct crit_error err;

	crit_error_clear(&err);
	err.offset = from;
	if (lcrit_index_need(x, from, to, &err))
		lcrit_raise(L, x->name, &err);
}

/* From the copy, or from the file of a raw image. */
void lcrit_index_read(lua_State *L, struct index *x, uint64_t off, size_t n, uint8_t *dst)
{
	struct crit_error err;

	if (x->data) {
		index_need(L, x, off, off + n);
		memcpy(dst, x->data + off, n);
		return;
	}
	crit_error_clear(&err);
	err.offset = off;
	if (n && read_at(x, dst, off, n, &err))
		lcrit_raise(L, x->name, &err);
}

/* Parse the header; entries are indexed on demand (lcrit_index_upto), so
 * opening a huge image costs nothing until its entries are wanted. */
static void index_start(lua_State *L, struct index *x)
{
	struct crit_error err;

	crit_error_clear(&err);
	if (x->data)
		index_need(L, x, 0, x->len < 8 ? x->len : 8);
	if (image_read_header(x->data, x->data ? x->len : 0, x->name, &x->h, &err))
		lcrit_raise(L, x->name, &err);
	image_cursor_init(&x->cur, &x->h, x->data, x->len);
	if (x->loaded) {
		x->cur.need = lcrit_index_need;
		x->cur.need_ctx = x;
		x->cur.need_unit = LOAD_CHUNK;
	}
}

void lcrit_index_drop(struct index *x, uint64_t from, uint64_t to)
{
	size_t a = (size_t)((from + LOAD_CHUNK - 1) / LOAD_CHUNK); /* whole chunks only */
	size_t b = (size_t)(to >= x->len ? (x->len + LOAD_CHUNK - 1) / LOAD_CHUNK : to / LOAD_CHUNK);

	if (!x->loaded || a >= b)
		return;
	x->cur.ready_to = 0; /* what the cursor had may be gone */
	madvise((uint8_t *)x->map + a * LOAD_CHUNK, (size_t)((uint64_t)(b - a) * LOAD_CHUNK < x->len - a * LOAD_CHUNK
		? (uint64_t)(b - a) * LOAD_CHUNK : x->len - a * LOAD_CHUNK), MADV_DONTNEED);
	memset(x->loaded + a, 0, b - a);
}

/* Indexing reads the image front to back: what lies a window behind is
 * let go, so that counting a huge image takes little memory. */
#define INDEX_WINDOW (4u << 20)

/* The userdata owns all memory, so raising half-way is safe. */
int lcrit_index_upto(lua_State *L, struct index *x, size_t i)
{
	struct crit_error err;
	struct entry_loc loc;
	uint64_t behind = x->cur.pos;
	int r;

	if (x->complete || i < x->count) /* the common case: indexed already */
		return i < x->count;
	crit_error_clear(&err);
	while (!x->complete && x->count <= i) {
		if (x->cur.pos - behind >= 2 * INDEX_WINDOW) {
			lcrit_index_drop(x, behind, x->cur.pos - INDEX_WINDOW);
			behind = x->cur.pos - INDEX_WINDOW;
		}
		r = image_cursor_next(&x->cur, &loc, &err);
		if (r < 0)
			lcrit_raise(L, x->name, &err);
		if (r == 0)
			x->complete = 1;
		else if (index_push(x, &loc))
			lcrit_fail_file(L, x->name, "out of memory indexing entry %I",
				   (lua_Integer)x->count + 1);
	}
	return i < x->count;
}

static struct index *index_new(lua_State *L, const char *name)
{
	struct index *x = lua_newuserdatauv(L, sizeof(*x), 1);

	memset(x, 0, sizeof(*x));
	x->fd = -1;
	snprintf(x->name, sizeof(x->name), "%s", name);
	luaL_setmetatable(L, INDEX_MT);
	return x;
}

static int read_all(int fd, lua_State *L, struct index *x)
{
	luaL_Buffer b;
	char *p;
	ssize_t n;

	luaL_buffinit(L, &b);
	do {
		p = luaL_prepbuffer(&b);
		n = read(fd, p, LUAL_BUFFERSIZE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		luaL_addsize(&b, (size_t)n);
	} while (n > 0);
	luaL_pushresult(&b);
	x->data = (const uint8_t *)lua_tolstring(L, -1, &x->len);
	lua_setiuservalue(L, -2, 1);
	return 0;
}

/* A pipe copied into an unlinked temporary file, so that it can be mapped
 * and dropped behind the reader like any image file: memory stays flat
 * however much comes down the pipe. -1 if no temporary file can be made,
 * -2 (errno set) if reading or writing failed. */
static int spool(int fd)
{
	const char *dir = getenv("TMPDIR");
	char path[4096], chunk[64 * 1024];
	int tmp, saved;
	ssize_t n;

	if (!dir || !*dir)
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/crit-stdin-XXXXXX", dir);
	tmp = mkstemp(path);
	if (tmp < 0)
		return -1;
	unlink(path);
	fcntl(tmp, F_SETFD, FD_CLOEXEC);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0) {
			ssize_t w = write(tmp, chunk, (size_t)n);

			if (w == n)
				continue;
			if (w >= 0)
				errno = ENOSPC; /* a short write sets none */
		}
		/* n < 0: read's own errno (EISDIR for a directory) stands. */
		saved = errno;
		close(tmp);
		errno = saved;
		return -2;
	}
	return tmp;
}

/* Files up to this size are copied whole when opened and their descriptor
 * closed: a dump of many small images holds no descriptors open. */
#define LOAD_EAGER ((size_t)1 << 20)

/* Read the image, x->len bytes at x->base of x->fd: see struct index. */
static int index_load_fd(lua_State *L, struct index *x)
{
	void *m;

	if (x->len == 0 || (schema_raw_by_filename(x->name) && x->len > LOAD_EAGER))
		return 0; /* a large raw image: ranges are read when asked for */
	m = mmap(NULL, x->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (m == MAP_FAILED)
		return -1;
	x->map = m;
	x->data = m;
	x->loaded = calloc((size_t)((x->len + LOAD_CHUNK - 1) / LOAD_CHUNK), 1);
	if (!x->loaded)
		return -1;
	if (x->len <= LOAD_EAGER) {
		index_need(L, x, 0, x->len);
		free(x->loaded);
		x->loaded = NULL;
		close(x->fd);
		x->fd = -1;
	}
	return 0;
}

/* Take the file fd (a regular one, or what else it is, a pipe, copied to
 * a temporary file first, or failing that read whole) as the source of
 * the image. The caller keeps and closes fd. */
static int index_load(lua_State *L, struct index *x, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR; /* open() took it: read() would fail later */
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		x->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	} else {
		x->fd = spool(fd);
		if (x->fd == -2)
			return -1;
		if (x->fd < 0)
			return read_all(fd, L, x);
		if (fstat(x->fd, &st))
			return -1;
	}
	if (x->fd < 0)
		return -1;
	x->len = (size_t)st.st_size;
	x->file_len = (uint64_t)st.st_size;
	return index_load_fd(L, x);
}

/* core.open(path | fd [, name]) -> index | nil, message, errno. An
 * integer is a file descriptor (0: stdin), read but not closed. */
static int core_open(lua_State *L)
{
	int given = lua_type(L, 1) == LUA_TNUMBER;
	const char *path = given ? NULL : luaL_checkstring(L, 1);
	const char *name = luaL_optstring(L, 2, path ? path : "stdin");
	struct index *x;
	int fd, saved;

	if (given) {
		lua_Integer n = luaL_checkinteger(L, 1);

		/* A cast would make 2^40 fd 0: read stdin without a word. */
		luaL_argcheck(L, n >= 0 && n <= INT_MAX, 1, "not a file descriptor");
		fd = fcntl((int)n, F_DUPFD_CLOEXEC, 3);
	}
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	x = index_new(L, name);
	if (index_load(L, x, fd))
		goto fail_close;
	close(fd);
	index_start(L, x);
	return 1;
fail_close:
	saved = errno;
	close(fd);
	errno = saved;
fail:
	saved = errno;
	luaL_pushfail(L);
	lua_pushfstring(L, "%s: %s", name, strerror(saved));
	lua_pushinteger(L, saved);
	return 3;
}

struct index *lcrit_index_member(lua_State *L, const char *name, int fd, uint64_t base,
				 uint64_t len, uint64_t file_len)
{
	struct index *x = index_new(L, name);

	x->member = 1;
	x->base = base;
	x->len = (size_t)len;
	x->file_len = file_len;
	x->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (x->fd < 0 || index_load_fd(L, x))
		lcrit_fail_file(L, name, "%s", strerror(errno));
	index_start(L, x);
	return x;
}

/* core.load(bytes [, name]) -> index */
static int core_load(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	const char *name = luaL_optstring(L, 2, "(string)");
	struct index *x = index_new(L, name);

	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1);
	x->data = (const uint8_t *)s;
	x->len = len;
	index_start(L, x);
	return 1;
}

static size_t check_entry(lua_State *L, struct index *x, int arg)
{
	lua_Integer i = luaL_checkinteger(L, arg);

	luaL_argcheck(L, i >= 1 && lcrit_index_upto(L, x, (size_t)(i - 1)), arg,
		      "entry index out of range");
	return (size_t)(i - 1);
}

static uint64_t entry_end(lua_State *L, struct index *x, size_t i)
{
	struct entry_loc loc;

	lcrit_entry_at(L, x, i, &loc);
	return loc.start + 4 + loc.msg_len + loc.payload_len;
}

/* The number of the repeated field named at arg of entries of type d (0
 * for none): decode leaves it out. */
static uint32_t check_left_out(lua_State *L, int arg, const ProtobufCMessageDescriptor *d)
{
	const ProtobufCFieldDescriptor *f;

	if (lua_isnoneornil(L, arg))
		return 0;
	f = protobuf_c_message_descriptor_get_field_by_name(d, luaL_checkstring(L, arg));
	luaL_argcheck(L, f && f->label == PROTOBUF_C_LABEL_REPEATED, arg,
		      "a repeated field of the entry expected");
	return f->id;
}

/* idx:decode(i [, t [, without]]) -> table: entry i (1-based) with its
 * payload as `extra`; given t, t is emptied and filled instead of a new
 * table. `without` names a repeated field to leave out (read it with
 * items()). */
static int index_decode(lua_State *L)
{
	struct index *x = check_index(L, 1);
	size_t i = check_entry(L, x, 2);
	int into = lua_isnoneornil(L, 3) ? 0 : (luaL_checktype(L, 3, LUA_TTABLE), 3);
	const ProtobufCMessageDescriptor *d = schema_entry_desc(x->h.type, i);
	const struct payload_desc *pd = schema_entry_payload(x->h.type, i, x->cur.chunked);
	uint32_t skip = check_left_out(L, 4, d);
	struct entry_loc loc;
	const uint8_t *msg;
	struct crit_error err;

	lcrit_entry_at(L, x, i, &loc);
	msg = lcrit_entry_msg(x, &loc);
	crit_error_clear(&err);
	err.entry = (long)i;
	err.offset = loc.start;
	if (msg_decode_without(L, d, msg, loc.msg_len, into, skip, &err) ||
	    msg_decode_payload(L, pd, msg, loc.msg_len, msg + loc.msg_len,
			       (size_t)loc.payload_len, &err))
		return lcrit_raise(L, x->name, &err);
	return 1;
}

/* A cursor over entries that pushes chosen fields rather than a table per
 * entry: no table to make, fill and collect. */
#define PICK_MAX 16
#define PICK_DROP (1u << 20) /* the mapping behind it goes this much at a time */

struct picker {
	size_t next;	/* 0-based, the entry to give next */
	uint64_t dropped; /* the mapping is let go up to here */
	const ProtobufCMessageDescriptor *d; /* f[] are d's fields */
	const ProtobufCFieldDescriptor *f[PICK_MAX];
	int n;
};

/* f[] from the names (upvalue 3) for the entries' descriptor d. */
static void picker_resolve(lua_State *L, struct picker *pk, const ProtobufCMessageDescriptor *d)
{
	int k;

	for (k = 0; k < pk->n; k++) {
		const ProtobufCFieldDescriptor *f;

		lua_rawgeti(L, lua_upvalueindex(3), k + 1);
		f = protobuf_c_message_descriptor_get_field_by_name(d, lua_tostring(L, -1));
		if (f && f->label == PROTOBUF_C_LABEL_REPEATED)
			luaL_error(L, "fields: %s is repeated in %s: read it with entries()",
				   f->name, d->name);
		pk->f[k] = f;
		lua_pop(L, 1);
	}
	pk->d = d;
}

static int picker_next(lua_State *L)
{
	struct index *x = check_index(L, lua_upvalueindex(1));
	struct picker *pk = lua_touserdata(L, lua_upvalueindex(2));
	size_t i = pk->next;
	int k;
	const ProtobufCMessageDescriptor *d;
	struct entry_loc loc;
	struct crit_error err;

	if (!lcrit_index_upto(L, x, i))
		return 0;
	pk->next = i + 1;
	d = schema_entry_desc(x->h.type, i);
	if (d != pk->d)
		picker_resolve(L, pk, d);
	lcrit_entry_at(L, x, i, &loc);
	if (loc.start - pk->dropped >= PICK_DROP) {
		lcrit_index_drop(x, pk->dropped, loc.start);
		pk->dropped = loc.start;
	}
	crit_error_clear(&err);
	err.entry = (long)i;
	err.offset = loc.start;
	lua_pushinteger(L, (lua_Integer)i + 1);
	if (msg_pick(L, lcrit_entry_msg(x, &loc), loc.msg_len, pk->f, pk->n, &err))
		return lcrit_raise(L, x->name, &err);
	/* A required field that is not there is an error, as in decode. */
	for (k = 0; k < pk->n; k++)
		if (pk->f[k] && pk->f[k]->label == PROTOBUF_C_LABEL_REQUIRED &&
		    lua_isnil(L, -pk->n + k)) {
			err.offset = loc.start + 4; /* the message, as decode says */
			crit_error_push_path(&err, pk->f[k]->name, -1);
			crit_fail(&err, "missing required field");
			return lcrit_raise(L, x->name, &err);
		}
	return pk->n + 1;
}

/* idx:fields(from, names) -> iterator of k and the values of the fields
 * names[1..] (at most 16, none repeated) of entries from, from + 1, ...:
 * nil where an entry has no such field. */
static int index_fields(lua_State *L)
{
	lua_Integer from = luaL_checkinteger(L, 2);
	lua_Integer n, k;
	struct picker *pk;

	check_index(L, 1);
	luaL_checktype(L, 3, LUA_TTABLE);
	n = (lua_Integer)lua_rawlen(L, 3);
	luaL_argcheck(L, from >= 1, 2, "entries start at 1");
	luaL_argcheck(L, n >= 1 && n <= PICK_MAX, 3, "1 to 16 field names");
	for (k = 1; k <= n; k++) {
		if (lua_rawgeti(L, 3, k) != LUA_TSTRING)
			luaL_argerror(L, 3, "field names are strings");
		lua_pop(L, 1);
	}
	/* Indexed whole first, in windows: indexing an entry at a time would
	 * fault in a window for each. */
	lcrit_index_upto(L, check_index(L, 1), SIZE_MAX);
	lua_settop(L, 3);
	pk = lua_newuserdatauv(L, sizeof(*pk), 0);
	memset(pk, 0, sizeof(*pk));
	pk->next = (size_t)(from - 1);
	pk->n = (int)n;
	lua_pushvalue(L, 1);
	lua_insert(L, -2);
	lua_pushvalue(L, 3);
	lua_pushcclosure(L, picker_next, 3);
	return 1;
}

/* A cursor over the elements of a repeated message field of one entry
 * (mm's vmas): each step reads the next element's chosen fields, as
 * fields() does for entries; the list is never made. */
struct items {
	struct picker pk;	/* pk.next: the element to give next (0-based) */
	size_t entry;		/* the entry (0-based) */
	size_t pos;		/* where in its message to go on reading */
	const ProtobufCFieldDescriptor *field; /* the repeated field */
};

static int items_next(lua_State *L)
{
	struct index *x = check_index(L, lua_upvalueindex(1));
	struct items *it = lua_touserdata(L, lua_upvalueindex(2));
	const uint8_t *msg, *p, *end;
	struct entry_loc loc;
	struct crit_error err;
	struct wire_field w;
	size_t used;
	int k;

	if (!it->pk.d)
		picker_resolve(L, &it->pk, it->field->descriptor);
	/* Found again at each step: the bytes are checked, not trusted. */
	lcrit_entry_at(L, x, it->entry, &loc);
	msg = lcrit_entry_msg(x, &loc);
	end = msg + loc.msg_len;
	crit_error_clear(&err);
	err.entry = (long)it->entry;
	for (p = msg + it->pos; p < end; p += used) {
		used = wire_read_field(p, end, &w);
		err.offset = loc.start + 4 + (uint64_t)(p - msg);
		if (!used) {
			crit_fail(&err, "%s", wire_field_error(p, end));
			return lcrit_raise(L, x->name, &err);
		}
		if (w.number != it->field->id)
			continue;
		if (w.type != WIRE_LEN) {
			crit_error_push_path(&err, it->field->name, -1);
			crit_fail(&err, "wrong wire type for a message field");
			return lcrit_raise(L, x->name, &err);
		}
		it->pos = (size_t)(p + used - msg);
		/* msg_pick reads offsets from err.offset + 4 */
		err.offset = loc.start + (uint64_t)(w.data - msg);
		lua_pushinteger(L, (lua_Integer)++it->pk.next);
		if (msg_pick(L, w.data, w.len, it->pk.f, it->pk.n, &err))
			goto fail;
		for (k = 0; k < it->pk.n; k++)
			if (it->pk.f[k] && it->pk.f[k]->label == PROTOBUF_C_LABEL_REQUIRED &&
			    lua_isnil(L, -it->pk.n + k)) {
				err.offset = loc.start + 4 + (uint64_t)(w.data - msg);
				crit_error_push_path(&err, it->pk.f[k]->name, -1);
				crit_fail(&err, "missing required field");
				goto fail;
			}
		return it->pk.n + 1;
	}
	it->pos = loc.msg_len;
	return 0;
fail:
	crit_error_push_path(&err, NULL, (long)it->pk.next - 1);
	crit_error_push_path(&err, it->field->name, -1);
	return lcrit_raise(L, x->name, &err);
}

/* idx:items(i, field, names) -> iterator of j and the values of the fields
 * names[1..] (at most 16, none repeated) of element j of the repeated
 * message field `field` of entry i: nil where an element has no such
 * field. */
static int index_items(lua_State *L)
{
	struct index *x = check_index(L, 1);
	size_t i = check_entry(L, x, 2);
	const char *name = luaL_checkstring(L, 3);
	const ProtobufCMessageDescriptor *d = schema_entry_desc(x->h.type, i);
	const ProtobufCFieldDescriptor *f;
	lua_Integer n, k;
	struct items *it;

	luaL_checktype(L, 4, LUA_TTABLE);
	f = d ? protobuf_c_message_descriptor_get_field_by_name(d, name) : NULL;
	if (!f || f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return luaL_argerror(L, 3, "a repeated message field of the entry expected");
	n = (lua_Integer)lua_rawlen(L, 4);
	luaL_argcheck(L, n >= 1 && n <= PICK_MAX, 4, "1 to 16 field names");
	for (k = 1; k <= n; k++) {
		if (lua_rawgeti(L, 4, k) != LUA_TSTRING)
			luaL_argerror(L, 4, "field names are strings");
		lua_pop(L, 1);
	}
	lua_settop(L, 4);
	it = lua_newuserdatauv(L, sizeof(*it), 0);
	memset(it, 0, sizeof(*it));
	it->entry = i;
	it->field = f;
	it->pk.n = (int)n;
	lua_pushvalue(L, 1);
	lua_insert(L, -2);
	lua_pushvalue(L, 4);
	/* upvalues as picker_resolve wants them: index, state, names */
	lua_pushcclosure(L, items_next, 3);
	return 1;
}

/* idx:raw(i) -> message bytes, payload bytes */
static int index_raw(lua_State *L)
{
	struct index *x = check_index(L, 1);
	size_t i = check_entry(L, x, 2);
	struct entry_loc loc;
	const uint8_t *msg;

	lcrit_entry_at(L, x, i, &loc);
	msg = lcrit_entry_msg(x, &loc);
	lua_pushlstring(L, (const char *)msg, loc.msg_len);
	lua_pushlstring(L, (const char *)msg + loc.msg_len, (size_t)loc.payload_len);
	return 2;
}

/* idx:count() -> number of entries (indexes them all) */
static int index_count(lua_State *L)
{
	struct index *x = check_index(L, 1);

	lcrit_index_upto(L, x, SIZE_MAX);
	lua_pushinteger(L, (lua_Integer)x->count);
	return 1;
}

/* idx:has(i) -> whether entry i (1-based) exists, indexing up to it */
static int index_has(lua_State *L)
{
	struct index *x = check_index(L, 1);
	lua_Integer i = luaL_checkinteger(L, 2);

	lua_pushboolean(L, i >= 1 && lcrit_index_upto(L, x, (size_t)(i - 1)));
	return 1;
}

/* idx:info() -> {magic=, raw=, header=, version=, size=, name=} */
static int index_info(lua_State *L)
{
	struct index *x = check_index(L, 1);

	lua_createtable(L, 0, 6);
	lua_pushstring(L, x->h.type->name);
	lua_setfield(L, -2, "magic");
	lua_pushboolean(L, x->h.type->layout == LAYOUT_RAW);
	lua_setfield(L, -2, "raw");
	lua_pushlstring(L, (const char *)x->data, x->h.header_len);
	lua_setfield(L, -2, "header");
	lua_pushstring(L, x->h.header_len == 8 ? "1.1" : "1.0");
	lua_setfield(L, -2, "version");
	lua_pushinteger(L, (lua_Integer)x->len);
	lua_setfield(L, -2, "size");
	lua_pushstring(L, x->name);
	lua_setfield(L, -2, "name");
	return 1;
}

/* idx:bytes() -> the whole image as a string (raw images, tests). */
static int index_bytes(lua_State *L)
{
	struct index *x = check_index(L, 1);
	luaL_Buffer b;

	lcrit_index_read(L, x, 0, x->len, (uint8_t *)luaL_buffinitsize(L, &b, x->len));
	luaL_pushresultsize(&b, x->len);
	return 1;
}

/* The byte range [off, off+len) of the image, checked against its size:
 * returns off. */
static uint64_t index_range(lua_State *L, struct index *x, int arg, size_t *len)
{
	lua_Integer off = luaL_checkinteger(L, arg);
	lua_Integer n = luaL_checkinteger(L, arg + 1);

	luaL_argcheck(L, off >= 0 && (uint64_t)off <= x->len, arg, "offset past the end");
	luaL_argcheck(L, n >= 0 && (uint64_t)n <= x->len - (uint64_t)off, arg + 1,
		      "range past the end");
	*len = (size_t)n;
	return (uint64_t)off;
}

/* idx:slice(offset, len) -> those bytes of the file (0-based offset):
 * reads pages out of a huge pages-N.img without copying the rest. */
static int index_slice(lua_State *L)
{
	struct index *x = check_index(L, 1);
	size_t len;
	uint64_t off = index_range(L, x, 2, &len);
	luaL_Buffer b;

	lcrit_index_read(L, x, off, len, (uint8_t *)luaL_buffinitsize(L, &b, len));
	luaL_pushresultsize(&b, len);
	return 1;
}

/* idx:span(i) -> offset, message length, payload length */
static int index_span(lua_State *L)
{
	struct index *x = check_index(L, 1);
	size_t i = check_entry(L, x, 2);

	struct entry_loc loc;

	lcrit_entry_at(L, x, i, &loc);
	lua_pushinteger(L, (lua_Integer)loc.start);
	lua_pushinteger(L, (lua_Integer)loc.msg_len);
	lua_pushinteger(L, (lua_Integer)loc.payload_len);
	return 3;
}

/* idx:drop(i, j): let the mapped pages that hold only entries i..j go (a
 * read faults them back in): one pass over a huge image stays small. */
static int index_drop_range(lua_State *L)
{
	struct index *x = check_index(L, 1);
	size_t i = check_entry(L, x, 2), j = check_entry(L, x, 3);
	struct entry_loc first;

	luaL_argcheck(L, i <= j, 3, "empty range");
	lcrit_entry_at(L, x, i, &first);
	lcrit_index_drop(x, first.start, entry_end(L, x, j));
	return 0;
}

/* ---- Outputs: memory, an open file, or a file replaced atomically. ---- */

#define check_output(L, i) ((struct output *)luaL_checkudata(L, i, OUTPUT_MT))

struct output *lcrit_check_output(lua_State *L, int i)
{
	struct output *o = check_output(L, i);

	if (o->finished)
		luaL_error(L, "%s: output already finished", o->name);
	return o;
}

static int output_gc(lua_State *L)
{
	struct output *o = check_output(L, 1);

	buf_free(&o->buf);
	o->buf.fd = -1;
	atomic_abort(&o->af);
	o->finished = 1;
	return 0;
}

void lcrit_output_check(lua_State *L, struct output *o)
{
	if (o->buf.failed)
		lcrit_fail_file(L, o->name, "%s", strerror(o->buf.saved_errno));
}

/* What errors call the output: opts.name (argument 2) if given, else dflt.
 * A file staged under a temporary name is named as the file it becomes. */
static void output_name(lua_State *L, struct output *o, const char *dflt)
{
	if (lua_type(L, 2) == LUA_TTABLE && lua_getfield(L, 2, "name") == LUA_TSTRING)
		dflt = lua_tostring(L, -1);
	snprintf(o->name, sizeof(o->name), "%s", dflt);
	if (lua_type(L, 2) == LUA_TTABLE)
		lua_pop(L, 1);
}

/* core.output([path | file [, {like=, private=, name=}]]) -> output. No
 * argument: memory. A path: a new file that replaces path on finish, with
 * the mode and owner of path (or of `like`) if it exists, else 0600 if
 * private (process memory), 0666 less the umask if not. A Lua file: its
 * fd. `name`: what errors call it (the path, or "stdout", by default). */
static int core_output(lua_State *L)
{
	struct output *o;

	lua_settop(L, 2);
	o = lua_newuserdatauv(L, sizeof(*o), 1);

	memset(o, 0, sizeof(*o));
	buf_init(&o->buf, -1);
	atomic_init(&o->af);
	luaL_setmetatable(L, OUTPUT_MT);
	if (lua_type(L, 1) == LUA_TSTRING) {
		const char *path = lua_tostring(L, 1);
		const char *like = NULL;
		mode_t mode = 0;

		if (!lua_isnoneornil(L, 2)) {
			luaL_checktype(L, 2, LUA_TTABLE);
			lua_getfield(L, 2, "like");
			like = lua_tostring(L, -1); /* stays on the stack */
			lua_getfield(L, 2, "private");
			/* Process memory: for its owner alone, as the kernel makes cores. */
			mode = lua_toboolean(L, -1) ? 0600 : 0;
			lua_pop(L, 1);
		}
		output_name(L, o, path);
		if (atomic_open(&o->af, path, like, mode))
			return lcrit_fail_file(L, o->name, "cannot create a temporary file: %s",
					  strerror(errno));
		lua_settop(L, 3);
		o->buf.fd = o->af.fd;
	} else if (!lua_isnoneornil(L, 1)) {
		luaL_Stream *f = luaL_checkudata(L, 1, LUA_FILEHANDLE);
		if (!f->closef)
			return luaL_error(L, "output: file is closed");
		fflush(f->f);
		o->buf.fd = fileno(f->f);
		output_name(L, o, o->buf.fd == 1 ? "stdout" : "output");
		lua_pushvalue(L, 1); /* keep the file open while we write to it */
		lua_setiuservalue(L, -2, 1);
	} else {
		snprintf(o->name, sizeof(o->name), "image");
	}
	return 1;
}

/* out:write(bytes) */
static int output_write(lua_State *L)
{
	struct output *o = lcrit_check_output(L, 1);
	size_t len;
	const char *s = luaL_checklstring(L, 2, &len);

	buf_put(&o->buf, s, len);
	lcrit_output_check(L, o);
	return 0;
}

/* Whether out may seek over zeros, leaving a hole: a file of its own
 * (core.output(path)), not a FIFO or a device written in place. */
static int output_can_skip(const struct output *o)
{
	return o->af.fd >= 0 && o->buf.fd == o->af.fd && !o->af.direct;
}

/* The bytes of a hole in a raw image's file at off (at most len; 0 if
 * data is there): copied, a hole stays a hole and costs no reading. */
static size_t hole_at(const struct index *x, uint64_t off, size_t len)
{
	off_t data;

	if (x->data || x->fd < 0)
		return 0;
	data = lseek(x->fd, (off_t)(x->base + off), SEEK_DATA);
	if (data < 0)
		return errno == ENXIO ? len : 0; /* ENXIO: only a hole up to the end */
	data -= (off_t)x->base;
	return (uint64_t)data - off < len ? (size_t)((uint64_t)data - off) : len;
}

static int all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* out:copy_from(idx, offset, len): bytes of a mapped image, without a Lua
 * string in between (core files copy gigabytes of pages this way). */
static int output_copy_from(lua_State *L)
{
	struct output *o = lcrit_check_output(L, 1);
	struct index *x = lcrit_check_index(L, 2);
	size_t len, n;
	uint64_t off = index_range(L, x, 3, &len);
	uint8_t chunk[64 * 1024];
	int sparse = output_can_skip(o);

	for (; len > 0 && !o->buf.failed; off += n, len -= n) {
		n = len < sizeof(chunk) ? len : sizeof(chunk);
		if (sparse && (n = hole_at(x, off, len)) > 0) {
			buf_skip(&o->buf, n);
			o->sparse = 1;
			continue;
		}
		n = len < sizeof(chunk) ? len : sizeof(chunk);
		lcrit_index_read(L, x, off, n, chunk);
		if (sparse && n == sizeof(chunk) && all_zero(chunk, n)) {
			buf_skip(&o->buf, n);
			o->sparse = 1;
		} else {
			buf_put(&o->buf, chunk, n);
		}
	}
	lcrit_output_check(L, o);
	return 0;
}

/* Shorter zero runs cost less to write than to seek over. */
#define SPARSE_MIN (64 * 1024)

/* out:zeros(n): n zero bytes (holes in memory). Into a file of its own
 * (core.output(path)), a long run becomes a hole: the file is sparse, and
 * a core file of mostly untouched memory takes only what was dumped. A
 * FIFO or a device written in place (af.direct) cannot seek: it gets the
 * zeros themselves. */
static int output_zeros(lua_State *L)
{
	struct output *o = lcrit_check_output(L, 1);
	lua_Integer n = luaL_checkinteger(L, 2);
	static const uint8_t zeros[4096];

	luaL_argcheck(L, n >= 0, 2, "negative size");
	if (output_can_skip(o) && n >= SPARSE_MIN) {
		buf_skip(&o->buf, (uint64_t)n);
		o->sparse = 1;
		lcrit_output_check(L, o);
		return 0;
	}
	while (n > 0) {
		size_t k = n > (lua_Integer)sizeof(zeros) ? sizeof(zeros) : (size_t)n;
		if (buf_put(&o->buf, zeros, k))
			break;
		n -= (lua_Integer)k;
	}
	lcrit_output_check(L, o);
	return 0;
}

/* out:finish() -> the bytes (memory) or true (file, committed). */
static int output_finish(lua_State *L)
{
	struct output *o = lcrit_check_output(L, 1);

	lcrit_output_check(L, o);
	if (o->buf.fd < 0) {
		lua_pushlstring(L, (const char *)o->buf.data, o->buf.len);
	} else {
		buf_flush(&o->buf);
		lcrit_output_check(L, o);
		/* a hole at the end is not part of the file until it is sized */
		if (o->sparse && ftruncate(o->buf.fd, (off_t)buf_total(&o->buf)))
			return lcrit_fail_file(L, o->name, "%s", strerror(errno));
		if (atomic_commit(&o->af))
			return lcrit_fail_file(L, o->name, "%s", strerror(errno));
		lua_pushboolean(L, 1);
	}
	o->buf.fd = -1;
	o->finished = 1;
	buf_free(&o->buf);
	return 1;
}

/* out:size() -> bytes written so far */
static int output_size(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)buf_total(&check_output(L, 1)->buf));
	return 1;
}

/* ---- Writing an image: header, then entries, copied or encoded. ---- */

/* A writer owns its scratch buffers, so that an error raised half-way
 * leaks nothing; its output (user value 1) removes the unfinished file. */
struct writer {
	struct buf entry;   /* one entry's message, encoded */
	struct buf payload; /* one entry's payload, encoded */
	const struct image_type *type;
	size_t count;	/* entries written */
	int chunked;
};

#define check_writer(L, i) ((struct writer *)luaL_checkudata(L, i, WRITER_MT))

static int writer_gc(lua_State *L)
{
	struct writer *w = check_writer(L, 1);

	buf_free(&w->entry);
	buf_free(&w->payload);
	return 0;
}

static const struct image_type *check_type(lua_State *L, int arg)
{
	const char *name = luaL_checkstring(L, arg);
	const struct image_type *t = schema_by_name(name);

	if (!t)
		lcrit_fail(L, "unknown image magic '%s'", name);
	return t;
}

static struct output *writer_output(lua_State *L, int w)
{
	struct output *o;

	lua_getiuservalue(L, w, 1);
	o = lcrit_check_output(L, -1);
	lua_pop(L, 1);
	return o;
}

/* core.writer(magic, header_bytes, output) -> writer */
static int core_writer(lua_State *L)
{
	const struct image_type *t = check_type(L, 1);
	size_t hlen;
	const char *header = luaL_checklstring(L, 2, &hlen);
	struct output *o = lcrit_check_output(L, 3);
	struct writer *w = lua_newuserdatauv(L, sizeof(*w), 1);

	memset(w, 0, sizeof(*w));
	w->type = t;
	buf_init(&w->entry, -1);
	buf_init(&w->payload, -1);
	luaL_setmetatable(L, WRITER_MT);
	lua_pushvalue(L, 3);
	lua_setiuservalue(L, -2, 1);
	buf_put(&o->buf, header, hlen);
	lcrit_output_check(L, o);
	return 1;
}

#define COPY_WINDOW (4u << 20)

/* Bytes [from, to) of the image into o. Into a file, a window at a time,
 * letting the image's pages behind go: writing back a huge image with one
 * edit takes little memory. */
static void copy_bytes(lua_State *L, struct output *o, struct index *x, uint64_t from,
		       uint64_t to)
{
	if (o->buf.fd < 0) {
		index_need(L, x, from, to);
		buf_put(&o->buf, x->data + from, (size_t)(to - from));
		return;
	}
	while (from < to && !o->buf.failed) {
		size_t n = to - from < COPY_WINDOW ? (size_t)(to - from) : COPY_WINDOW;

		index_need(L, x, from, from + n);
		buf_put(&o->buf, x->data + from, n);
		lcrit_index_drop(x, from, from + n);
		from += n;
	}
}

/* w:copy_range(idx, i, j): entries i..j of an indexed image, byte for
 * byte, in one copy: writing back an image with few edits is a memcpy. */
static int writer_copy_range(lua_State *L)
{
	struct writer *w = check_writer(L, 1);
	struct index *x = check_index(L, 2);
	size_t i = check_entry(L, x, 3), j = check_entry(L, x, 4), k;
	struct output *o = writer_output(L, 1);
	struct entry_loc first;

	luaL_argcheck(L, i <= j, 4, "empty range");
	/* Only the first position of an image can differ in type. */
	for (k = 0; k < 2 && i + k <= j; k++)
		if (x->h.type->layout == LAYOUT_RAW ||
		    schema_entry_desc(x->h.type, i + k) != schema_entry_desc(w->type, w->count + k))
			return lcrit_fail(L, "entry %d cannot stand at position %d of a %s image",
					  (int)(i + k) + 1, (int)(w->count + k) + 1, w->type->name);
	if (w->type->layout == LAYOUT_GHOST && w->count == 0)
		w->chunked = x->cur.chunked;
	lcrit_entry_at(L, x, i, &first);
	copy_bytes(L, o, x, first.start, entry_end(L, x, j));
	lcrit_output_check(L, o);
	w->count += j - i + 1;
	return 0;
}

/* Encode the entry table at index t into w->entry and w->payload. */
static void writer_encode_entry(lua_State *L, struct writer *w, int t, const char *name,
				uint64_t offset)
{
	const ProtobufCMessageDescriptor *d = schema_entry_desc(w->type, w->count);
	struct crit_error err;
	const struct payload_desc *pd;

	crit_error_clear(&err);
	err.entry = (long)w->count;
	err.offset = offset;
	w->entry.len = 0;
	w->payload.len = 0;
	if (msg_encode(L, t, d, &w->entry, 1, &err))
		goto fail;
	if (w->count == 0)
		w->chunked = image_first_chunked(w->type, w->entry.data, w->entry.len);
	pd = schema_entry_payload(w->type, w->count, w->chunked);
	if (msg_encode_payload(L, t, pd, w->entry.data, w->entry.len, &w->payload, &err))
		goto fail;
	if (w->entry.len > INT32_MAX) {
		crit_fail(&err, "entry of %zu bytes is too large", w->entry.len);
		goto fail;
	}
	return;
fail:
	if (w->entry.failed || w->payload.failed)
		crit_fail(&err, "out of memory");
	lcrit_raise(L, name, &err);
}

/* w:encode(table): encode one entry table and append it. */
static int writer_encode(lua_State *L)
{
	struct writer *w = check_writer(L, 1);
	struct output *o = writer_output(L, 1);

	luaL_checktype(L, 2, LUA_TTABLE);
	writer_encode_entry(L, w, 2, o->name, buf_total(&o->buf));
	buf_put_u32le(&o->buf, (uint32_t)w->entry.len);
	buf_put(&o->buf, w->entry.data, w->entry.len);
	buf_put(&o->buf, w->payload.data, w->payload.len);
	lcrit_output_check(L, o);
	w->count++;
	return 0;
}

/* core.encode_entry(magic, position, table) -> message bytes, payload bytes */
static int core_encode_entry(lua_State *L)
{
	const struct image_type *t = check_type(L, 1);
	lua_Integer pos = luaL_checkinteger(L, 2);
	struct writer *w;

	luaL_checktype(L, 3, LUA_TTABLE);
	luaL_argcheck(L, pos >= 1, 2, "position must be 1 or more");
	w = lua_newuserdatauv(L, sizeof(*w), 1);
	memset(w, 0, sizeof(*w));
	buf_init(&w->entry, -1);
	buf_init(&w->payload, -1);
	luaL_setmetatable(L, WRITER_MT);
	w->type = t;
	w->count = (size_t)(pos - 1);
	writer_encode_entry(L, w, 3, "entry", 0);
	lua_pushlstring(L, (const char *)w->entry.data, w->entry.len);
	lua_pushlstring(L, (const char *)w->payload.data, w->payload.len);
	return 2;
}

/* core.header(magic) -> the header bytes of a new image of this type */
static int core_header(lua_State *L)
{
	uint8_t h[8];
	size_t n = image_header_bytes(check_type(L, 1), h);

	lua_pushlstring(L, (const char *)h, n);
	return 1;
}

/* core.magics() -> array of {name=, magic=, raw=} for every known type */
static int core_magics(lua_State *L)
{
	const struct image_type *t;
	size_t i;

	lua_newtable(L);
	for (i = 0; (t = schema_type_at(i)); i++) {
		lua_createtable(L, 0, 3);
		lua_pushstring(L, t->name);
		lua_setfield(L, -2, "name");
		lua_pushinteger(L, t->magic);
		lua_setfield(L, -2, "magic");
		lua_pushboolean(L, t->layout == LAYOUT_RAW);
		lua_setfield(L, -2, "raw");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

static const luaL_Reg index_methods[] = {
	{ "decode", index_decode },
	{ "fields", index_fields },
	{ "items", index_items },
	{ "count", index_count },
	{ "has", index_has },
	{ "raw", index_raw },
	{ "info", index_info },
	{ "bytes", index_bytes },
	{ "span", index_span },
	{ "slice", index_slice },
	{ "drop", index_drop_range },
	{ "close", index_gc },
	{ NULL, NULL },
};

static const luaL_Reg writer_methods[] = {
	{ "copy_range", writer_copy_range },
	{ "encode", writer_encode },
	{ NULL, NULL },
};

static const luaL_Reg output_methods[] = {
	{ "write", output_write },
	{ "finish", output_finish },
	{ "size", output_size },
	{ "copy_from", output_copy_from },
	{ "zeros", output_zeros },
	{ "abort", output_gc },
	{ NULL, NULL },
};

static const luaL_Reg core_functions[] = {
	{ "open", core_open },
	{ "load", core_load },
	{ "writer", core_writer },
	{ "output", core_output },
	{ "encode_entry", core_encode_entry },
	{ "header", core_header },
	{ "magics", core_magics },
	{ "json_write", lcrit_json_write },
	{ "json_entry", lcrit_json_entry },
	{ "json_read", lcrit_json_read },
	{ "quopri", lcrit_quopri },
	{ "text_write", lcrit_text_write },
	{ "text_read", lcrit_text_read },
	{ "input_format", lcrit_input_format },
	{ "archive", lcrit_archive_open },
	{ "archive_writer", lcrit_archive_writer },
	{ "archive_sniff", lcrit_archive_sniff },
	{ NULL, NULL },
};


static void register_type(lua_State *L, const char *name, const luaL_Reg *methods,
			  lua_CFunction gc)
{
	luaL_newmetatable(L, name);
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, gc);
	lua_setfield(L, -2, "__gc");
	lua_pushcfunction(L, gc);
	lua_setfield(L, -2, "__close");
	lua_pop(L, 1);
}

/* The one symbol the module exports (the Makefile hides the rest). */
__attribute__((visibility("default"))) int luaopen_crit_core(lua_State *L);
int luaopen_crit_core(lua_State *L)
{
	register_type(L, INDEX_MT, index_methods, index_gc);
	luaL_getmetatable(L, INDEX_MT);
	lua_pushcfunction(L, index_count);
	lua_setfield(L, -2, "__len");
	lua_pop(L, 1);
	register_type(L, WRITER_MT, writer_methods, writer_gc);
	register_type(L, OUTPUT_MT, output_methods, output_gc);
	lcrit_archive_register(L);
	luaL_newlib(L, core_functions);
	lcrit_streamer_register(L);
	lcrit_error_register(L);
	return 1;
}
