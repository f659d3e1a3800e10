/* The binding of archive.c: core.archive(path) reads a container
 * checkpoint archive's table of contents; its members become indexes
 * (images) read from the archive's file at their offset. core.archive_writer
 * writes a new tar, plain or compressed, into a crit.core output. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "archive.h"
#include "lcrit.h"

#define ARCHIVE_MT "crit.Archive"
#define AWRITER_MT "crit.ArchiveWriter"
#define check_archive(L, i) ((struct archive *)luaL_checkudata(L, i, ARCHIVE_MT))
#define check_awriter(L, i) ((struct archive_writer *)luaL_checkudata(L, i, AWRITER_MT))

static int archive_gc(lua_State *L)
{
	archive_close(check_archive(L, 1));
	return 0;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return dflt;
	v = strtoull(s, &end, 10);
	return *end ? dflt : (uint64_t)v;
}

/* core.archive(path) -> archive | nil, message, errno (cannot open);
 * raises "path: what" for an archive it cannot read. The limits come from
 * CRIT_ARCHIVE_MAX_MEMBERS and CRIT_ARCHIVE_MAX_BYTES (tests set them low). */
int lcrit_archive_open(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct archive_limits lim;
	struct crit_error err;
	struct archive *a;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r, saved;

	if (fd < 0) {
		saved = errno;
		luaL_pushfail(L);
		lua_pushfstring(L, "%s: %s", path, strerror(saved));
		lua_pushinteger(L, saved);
		return 3;
	}
	lim.max_members = (size_t)env_u64("CRIT_ARCHIVE_MAX_MEMBERS", ARCHIVE_MAX_MEMBERS);
	lim.max_bytes = env_u64("CRIT_ARCHIVE_MAX_BYTES", UINT64_MAX);
	a = lua_newuserdatauv(L, sizeof(*a), 1);
	archive_init(a);
	luaL_setmetatable(L, ARCHIVE_MT);
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1); /* its path, for errors reading it later */
	crit_error_clear(&err);
	r = archive_open(a, fd, &lim, &err);
	close(fd);
	if (r)
		return lcrit_fail_file(L, path, "%s", err.msg);
	return 1;
}

/* core.archive_sniff(bytes) -> whether they start an archive. */
int lcrit_archive_sniff(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);

	lua_pushboolean(L, archive_sniff((const uint8_t *)s, len));
	return 1;
}

static const char *type_name(char t)
{
	switch (t) {
	case '0': case '7': return "file";
	case '5': return "dir";
	case '2': return "symlink";
	case '1': return "hardlink";
	default: return "other";
	}
}

static void push_member(lua_State *L, const struct archive *a, const struct archive_member *m)
{
	lua_createtable(L, 0, 6);
	lua_pushstring(L, archive_name(a, m));
	lua_setfield(L, -2, "name");
	lua_pushinteger(L, (lua_Integer)m->size);
	lua_setfield(L, -2, "size");
	lua_pushstring(L, type_name(m->type));
	lua_setfield(L, -2, "type");
	lua_pushinteger(L, (lua_Integer)m->mode);
	lua_setfield(L, -2, "mode");
	lua_pushinteger(L, (lua_Integer)m->mtime);
	lua_setfield(L, -2, "mtime");
	if (*archive_link(a, m)) {
		lua_pushstring(L, archive_link(a, m));
		lua_setfield(L, -2, "link");
	}
}

/* a:members() -> { {name=, size=, type=, mode=, mtime=, link=}, ... } in archive order */
static int archive_members(lua_State *L)
{
	struct archive *a = check_archive(L, 1);
	size_t i;

	lua_createtable(L, (int)a->count, 0);
	for (i = 0; i < a->count; i++) {
		push_member(L, a, &a->members[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	return 1;
}

/* a:member(name) -> {name=, size=, ...} | nil */
static int archive_member(lua_State *L)
{
	struct archive *a = check_archive(L, 1);
	const struct archive_member *m = archive_find(a, luaL_checkstring(L, 2));

	if (!m)
		return 0;
	push_member(L, a, m);
	return 1;
}

/* Raise a crit.Error about the file ARCHIVE//MEMBER for a member of the
 * archive at stack index i that could not be read. */
static int raise_member(lua_State *L, int i, const struct archive *a,
			const struct archive_member *m, const struct crit_error *err)
{
	lua_getiuservalue(L, i, 1);
	lua_pushfstring(L, "%s//%s", lua_tostring(L, -1), archive_name(a, m));
	return lcrit_raise(L, lua_tostring(L, -1), err);
}

/* The regular member `name`, or nil, message, errno pushed (returns NULL). */
static const struct archive_member *regular(lua_State *L, struct archive *a, const char *name,
					    const char *label)
{
	const struct archive_member *m = archive_find(a, name);

	if (m && (m->type == '0' || m->type == '7'))
		return m;
	luaL_pushfail(L);
	if (!m)
		lua_pushfstring(L, "%s: No such file or directory", label);
	else
		lua_pushfstring(L, "%s: a %s in the archive, not a file", label, type_name(m->type));
	lua_pushinteger(L, m ? EINVAL : ENOENT);
	return NULL;
}

/* a:open(name [, label]) -> index of the member | nil, message, errno. */
static int archive_open_member(lua_State *L)
{
	struct archive *a = check_archive(L, 1);
	const char *name = luaL_checkstring(L, 2);
	const char *label = luaL_optstring(L, 3, name);
	const struct archive_member *m = regular(L, a, name, label);

	if (!m)
		return 3;
	if (a->fd < 0)
		return lcrit_fail(L, "%s: the archive is closed", label);
	lcrit_index_member(L, label, a->fd, m->data, m->size, a->len);
	return 1;
}

/* a:read(name) -> the member's bytes | nil, message, errno (metadata files). */
static int archive_read(lua_State *L)
{
	struct archive *a = check_archive(L, 1);
	const char *name = luaL_checkstring(L, 2);
	const struct archive_member *m = regular(L, a, name, name);
	struct crit_error err;
	luaL_Buffer b;

	if (!m)
		return 3;
	crit_error_clear(&err);
	if (archive_read_at(a, m->data, luaL_buffinitsize(L, &b, (size_t)m->size), (size_t)m->size,
			    &err))
		return raise_member(L, 1, a, m, &err);
	luaL_pushresultsize(&b, (size_t)m->size);
	return 1;
}

/* a:locate(name) -> a path that opens the tar bytes ("/proc/self/fd/N":
 * the archive, or the spool of a compressed one), the member's offset in
 * them, its size | nil, message, errno. For the streamer, which splices
 * files by path and offset. */
static int archive_locate(lua_State *L)
{
	struct archive *a = check_archive(L, 1);
	const char *name = luaL_checkstring(L, 2);
	const struct archive_member *m = regular(L, a, name, name);

	if (!m)
		return 3;
	if (a->fd < 0)
		return lcrit_fail(L, "%s: the archive is closed", name);
	lua_pushfstring(L, "/proc/self/fd/%d", a->fd);
	lua_pushinteger(L, (lua_Integer)m->data);
	lua_pushinteger(L, (lua_Integer)m->size);
	return 3;
}

/* a:info() -> {compression=, size= (tar bytes), members=} */
static int archive_info(lua_State *L)
{
	struct archive *a = check_archive(L, 1);

	lua_createtable(L, 0, 3);
	lua_pushstring(L, archive_codec_name(a->compression));
	lua_setfield(L, -2, "compression");
	lua_pushinteger(L, (lua_Integer)a->len);
	lua_setfield(L, -2, "size");
	lua_pushinteger(L, (lua_Integer)a->count);
	lua_setfield(L, -2, "members");
	return 1;
}

/* ---- Writing ---- */

static int awriter_gc(lua_State *L)
{
	archive_writer_free(check_awriter(L, 1));
	return 0;
}

static struct output *awriter_output(lua_State *L, int w)
{
	struct output *o;

	lua_getiuservalue(L, w, 1);
	o = lcrit_check_output(L, -1);
	lua_pop(L, 1);
	return o;
}

static int awriter_check(lua_State *L, struct archive_writer *w, int r)
{
	struct output *o = awriter_output(L, 1);

	lcrit_output_check(L, o);
	if (r || w->failed)
		return lcrit_fail_file(L, o->name, "cannot write the archive (%s)",
				  archive_codec_name(w->compression));
	return 0;
}

/* core.archive_writer(output, compression ["none"|"gzip"|"zstd"] [, level]) -> writer */
int lcrit_archive_writer(lua_State *L)
{
	struct output *o = lcrit_check_output(L, 1);
	static const char *const names[] = { "none", "gzip", "zstd", NULL };
	int c = luaL_checkoption(L, 2, "none", names);
	int level = (int)luaL_optinteger(L, 3, 0);
	struct archive_writer *w = lua_newuserdatauv(L, sizeof(*w), 1);

	memset(w, 0, sizeof(*w));
	luaL_setmetatable(L, AWRITER_MT);
	lua_pushvalue(L, 1);
	lua_setiuservalue(L, -2, 1);
	if (archive_writer_init(w, &o->buf, (enum archive_compression)c, level))
		return lcrit_fail_file(L, o->name, "cannot start a %s stream", names[c]);
	return 1;
}

/* w:copy_member(archive, name): the member as it is in the other
 * archive, its header blocks (PAX, GNU) included, byte for byte. */
static int awriter_copy_member(lua_State *L)
{
	struct archive_writer *w = check_awriter(L, 1);
	struct archive *a = check_archive(L, 2);
	const struct archive_member *m = archive_find(a, luaL_checkstring(L, 3));
	struct crit_error err;
	int r;

	luaL_argcheck(L, m != NULL, 3, "no such member");
	crit_error_clear(&err);
	r = archive_writer_copy_member(w, a, m, &err);
	if (r && err.msg[0])
		return raise_member(L, 2, a, m, &err);
	return awriter_check(L, w, r);
}

/* w:file(name, size, mode, mtime): a regular file's header; its bytes follow. */
static int awriter_file(lua_State *L)
{
	struct archive_writer *w = check_awriter(L, 1);
	const char *name = luaL_checkstring(L, 2);
	lua_Integer size = luaL_checkinteger(L, 3);
	lua_Integer mode = luaL_checkinteger(L, 4);
	lua_Integer mtime = luaL_checkinteger(L, 5);

	luaL_argcheck(L, strlen(name) < 4096, 2, "name too long");
	luaL_argcheck(L, size >= 0, 3, "negative size");
	return awriter_check(L, w, archive_writer_file_header(w, name, (uint64_t)size,
							      (uint32_t)mode, (uint64_t)mtime));
}

/* w:file_like(archive, name, size, mtime): the header of that member of
 * another archive, for new contents of `size` bytes. */
static int awriter_file_like(lua_State *L)
{
	struct archive_writer *w = check_awriter(L, 1);
	struct archive *a = check_archive(L, 2);
	const struct archive_member *m = archive_find(a, luaL_checkstring(L, 3));
	lua_Integer size = luaL_checkinteger(L, 4), mtime = luaL_checkinteger(L, 5);
	struct crit_error err;
	int r;

	luaL_argcheck(L, m != NULL, 3, "no such member");
	luaL_argcheck(L, size >= 0, 4, "negative size");
	crit_error_clear(&err);
	r = archive_writer_header_like(w, a, m, (uint64_t)size, (uint64_t)mtime, &err);
	if (r && err.msg[0])
		return raise_member(L, 2, a, m, &err);
	return awriter_check(L, w, r);
}

/* w:write(bytes) */
static int awriter_write(lua_State *L)
{
	struct archive_writer *w = check_awriter(L, 1);
	size_t len;
	const char *s = luaL_checklstring(L, 2, &len);

	return awriter_check(L, w, archive_writer_put(w, s, len));
}

/* w:copy_from(index, offset, len): bytes of an image without a Lua string. */
static int awriter_copy_from(lua_State *L)
{
	struct archive_writer *w = check_awriter(L, 1);
	struct index *x = lcrit_check_index(L, 2);
	lua_Integer off = luaL_checkinteger(L, 3), n = luaL_checkinteger(L, 4);
	uint8_t chunk[64 * 1024];
	size_t k;

	luaL_argcheck(L, off >= 0 && (uint64_t)off <= x->len, 3, "offset past the end");
	luaL_argcheck(L, n >= 0 && (uint64_t)n <= x->len - (uint64_t)off, 4, "range past the end");
	for (; n > 0 && !w->failed; off += (lua_Integer)k, n -= (lua_Integer)k) {
		k = n < (lua_Integer)sizeof(chunk) ? (size_t)n : sizeof(chunk);
		lcrit_index_read(L, x, (uint64_t)off, k, chunk);
		archive_writer_put(w, chunk, k);
	}
	return awriter_check(L, w, 0);
}

/* w:pad(): to the end of the member's last block */
static int awriter_pad(lua_State *L)
{
	struct archive_writer *w = check_awriter(L, 1);

	return awriter_check(L, w, archive_writer_pad(w));
}

/* w:finish(): the end-of-archive blocks and the end of the compressed
 * stream; the output is then finished by its owner (out:finish()). */
static int awriter_finish(lua_State *L)
{
	struct archive_writer *w = check_awriter(L, 1);

	awriter_check(L, w, archive_writer_finish(w));
	archive_writer_free(w);
	return 0;
}

static const luaL_Reg archive_methods[] = {
	{ "members", archive_members },
	{ "member", archive_member },
	{ "open", archive_open_member },
	{ "read", archive_read },
	{ "locate", archive_locate },
	{ "info", archive_info },
	{ NULL, NULL },
};

static const luaL_Reg awriter_methods[] = {
	{ "copy_member", awriter_copy_member },
	{ "file", awriter_file },
	{ "file_like", awriter_file_like },
	{ "write", awriter_write },
	{ "copy_from", awriter_copy_from },
	{ "pad", awriter_pad },
	{ "finish", awriter_finish },
	{ NULL, NULL },
};

static void register_mt(lua_State *L, const char *name, const luaL_Reg *methods, lua_CFunction gc)
{
	luaL_newmetatable(L, name);
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
}

void lcrit_archive_register(lua_State *L)
{
	register_mt(L, ARCHIVE_MT, archive_methods, archive_gc);
	register_mt(L, AWRITER_MT, awriter_methods, awriter_gc);
}
