/* crit.core.streamer: the Lua binding of streamer.c. The policy (what to
 * serve, where to capture) is crit.streamer's, in Lua. */
#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <string.h>
#include <sys/stat.h>

#include "lcrit.h"
#include "streamer.h"

#define STREAMER_MT "crit.Streamer"

struct lstreamer {
	struct streamer *s;
};

static struct lstreamer *check_streamer(lua_State *L, int i)
{
	struct lstreamer *u = luaL_checkudata(L, i, STREAMER_MT);

	if (!u->s)
		luaL_error(L, "the streamer is closed");
	return u;
}

static int push_failure(lua_State *L, const char *what, int err)
{
	luaL_pushfail(L);
	lua_pushfstring(L, "%s: %s", what, strerror(err));
	lua_pushinteger(L, err);
	return 3;
}

/* core.streamer(socket_path, "capture" | "serve") -> streamer | nil, msg, errno, live */
static int lstreamer_new(lua_State *L)
{
	static const char *const modes[] = { "capture", "serve", NULL };
	const char *path = luaL_checkstring(L, 1);
	int mode = luaL_checkoption(L, 2, NULL, modes);
	struct lstreamer *u = lua_newuserdatauv(L, sizeof(*u), 0);
	int live = 0;

	u->s = streamer_listen(path, mode ? STREAMER_SERVE : STREAMER_CAPTURE, &live);
	if (!u->s) {
		int err = errno;

		push_failure(L, path, err);
		lua_pushboolean(L, live);
		return 4;
	}
	luaL_setmetatable(L, STREAMER_MT);
	return 1;
}

static const char *const event_names[] = {
	[STREAMER_EV_TIMEOUT] = "timeout",   [STREAMER_EV_CONNECTED] = "connected",
	[STREAMER_EV_DROPPED] = "dropped",
	[STREAMER_EV_REQUEST] = "request",   [STREAMER_EV_DONE] = "done",
	[STREAMER_EV_FAILED] = "failed",     [STREAMER_EV_REFUSED] = "refused",
	[STREAMER_EV_CLOSED] = "closed",     [STREAMER_EV_ERROR] = "error",
};

/* s:next([timeout_ms]) -> { kind=, name=, bytes=, errno=, error=, pid= } */
static int lstreamer_next(lua_State *L)
{
	struct lstreamer *u = check_streamer(L, 1);
	int timeout = (int)luaL_optinteger(L, 2, -1);
	struct streamer_event ev;

	if (streamer_next(u->s, timeout, &ev) < 0)
		return lcrit_fail(L, "streamer: %s", strerror(errno));
	lua_createtable(L, 0, 6);
	lua_pushstring(L, event_names[ev.kind]);
	lua_setfield(L, -2, "kind");
	if (ev.name[0]) {
		lua_pushstring(L, ev.name);
		lua_setfield(L, -2, "name");
	}
	if (ev.kind == STREAMER_EV_DONE || ev.kind == STREAMER_EV_FAILED) {
		lua_pushinteger(L, (lua_Integer)ev.bytes);
		lua_setfield(L, -2, "bytes");
	}
	if (ev.err) {
		lua_pushinteger(L, ev.err);
		lua_setfield(L, -2, "errno");
		lua_pushstring(L, strerror(ev.err));
		lua_setfield(L, -2, "error");
	}
	if (ev.what) {
		lua_pushstring(L, ev.what);
		lua_setfield(L, -2, "error");
	}
	if (ev.peer_pid) {
		lua_pushinteger(L, ev.peer_pid);
		lua_setfield(L, -2, "pid");
	}
	return 1;
}

static int answered(lua_State *L, int rc, const char *what)
{
	if (rc < 0)
		return push_failure(L, what, errno);
	lua_pushboolean(L, 1);
	return 1;
}

/* s:serve(nil) answers "no such image"; s:serve(path, pieces) serves it:
 * pieces is a list of strings (bytes as they are) and { offset, len } (a
 * range of the file at path). -> true | nil, msg, errno */
static int lstreamer_serve(lua_State *L)
{
	struct lstreamer *u = check_streamer(L, 1);
	const char *path = luaL_optstring(L, 2, NULL);
	struct streamer_piece *pieces;
	lua_Integer i, n;

	if (lua_isnoneornil(L, 3))
		return answered(L, streamer_serve_absent(u->s), "serve");
	luaL_checktype(L, 3, LUA_TTABLE);
	n = luaL_len(L, 3);
	/* Lua-owned: nothing leaks when a bad piece raises below */
	pieces = lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof(*pieces), 0);
	for (i = 1; i <= n; i++) {
		struct streamer_piece *p = &pieces[i - 1];
		size_t len;

		lua_geti(L, 3, i);
		if (lua_type(L, -1) == LUA_TSTRING) {
			p->data = lua_tolstring(L, -1, &len); /* pinned by the table */
			p->offset = 0;
			p->len = len;
		} else if (lua_type(L, -1) == LUA_TTABLE && path) {
			lua_Integer off, cnt;

			lua_getfield(L, -1, "offset");
			lua_getfield(L, -2, "len");
			off = luaL_checkinteger(L, -2);
			cnt = luaL_checkinteger(L, -1);
			if (off < 0 || cnt < 0)
				return luaL_error(L, "serve: piece %d: a negative offset or length", (int)i);
			p->data = NULL;
			p->offset = (uint64_t)off;
			p->len = (uint64_t)cnt;
			lua_pop(L, 2);
		} else {
			return luaL_error(L, "serve: piece %d: a string or { offset=, len= } of the file expected",
					  (int)i);
		}
		lua_pop(L, 1);
	}
	return answered(L, streamer_serve(u->s, path, pieces, (size_t)n), path ? path : "serve");
}

/* s:capture(path | nil): write the offered image into path (a new file), or
 * drop it. -> true | nil, msg, errno */
static int lstreamer_capture(lua_State *L)
{
	struct lstreamer *u = check_streamer(L, 1);
	const char *path = luaL_optstring(L, 2, NULL);

	return answered(L, streamer_capture(u->s, path), path ? path : "capture");
}

/* s:wait_peer(timeout_ms) -> true (criu exited), false, or nil (unknown) */
static int lstreamer_wait_peer(lua_State *L)
{
	struct lstreamer *u = check_streamer(L, 1);
	int r = streamer_wait_peer(u->s, (int)luaL_optinteger(L, 2, 0));

	if (r < 0)
		luaL_pushfail(L);
	else
		lua_pushboolean(L, r);
	return 1;
}

static int lstreamer_active(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)streamer_active(check_streamer(L, 1)->s));
	return 1;
}

static int lstreamer_gc(lua_State *L)
{
	struct lstreamer *u = luaL_checkudata(L, 1, STREAMER_MT);

	streamer_free(u->s);
	u->s = NULL;
	return 0;
}

static const luaL_Reg streamer_methods[] = {
	{ "next", lstreamer_next },
	{ "serve", lstreamer_serve },
	{ "capture", lstreamer_capture },
	{ "wait_peer", lstreamer_wait_peer },
	{ "active", lstreamer_active },
	{ "close", lstreamer_gc },
	{ NULL, NULL },
};

/* core.file_stamp(path) -> "dev:ino:mtime:ctime:size" (nanoseconds) | nil:
 * whether criu wrote its stats file anew since we last looked. */
static int lstreamer_file_stamp(lua_State *L)
{
	struct stat st;

	if (stat(luaL_checkstring(L, 1), &st) < 0) {
		luaL_pushfail(L);
		return 1;
	}
	lua_pushfstring(L, "%I:%I:%I.%I:%I.%I:%I", (lua_Integer)st.st_dev, (lua_Integer)st.st_ino,
			(lua_Integer)st.st_mtim.tv_sec, (lua_Integer)st.st_mtim.tv_nsec,
			(lua_Integer)st.st_ctim.tv_sec, (lua_Integer)st.st_ctim.tv_nsec,
			(lua_Integer)st.st_size);
	return 1;
}

void lcrit_streamer_register(lua_State *L)
{
	luaL_newmetatable(L, STREAMER_MT);
	lua_newtable(L);
	luaL_setfuncs(L, streamer_methods, 0);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, lstreamer_gc);
	lua_setfield(L, -2, "__gc");
	lua_pushcfunction(L, lstreamer_gc);
	lua_setfield(L, -2, "__close");
	lua_pop(L, 1);
	lua_pushcfunction(L, lstreamer_new);
	lua_setfield(L, -2, "streamer");
	lua_pushcfunction(L, lstreamer_file_stamp);
	lua_setfield(L, -2, "file_stamp");
}
