/* core.json_write and core.json_entry: the binding of json_write.c. */
#include <string.h>

#include <lauxlib.h>

#include "conv.h"
#include "json_write.h"
#include "text_write.h"
#include "lcrit.h"
#include "msg.h"

_Static_assert(JSON_WRITE_MAX_DEPTH == MSG_MAX_DEPTH,
	       "JSON and Lua tables must refuse the same nesting");

#define SCRATCH_MT "crit.JsonScratch"

static int flag(lua_State *L, int t, const char *key)
{
	int on;

	lua_getfield(L, t, key);
	on = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return on;
}

/* opts: nil or {pretty=, nopl=, newline=} */
static void check_opts(lua_State *L, int arg, struct json_write_opts *o)
{
	memset(o, 0, sizeof(*o));
	if (lua_isnoneornil(L, arg))
		return;
	luaL_checktype(L, arg, LUA_TTABLE);
	o->pretty = flag(L, arg, "pretty");
	o->nopl = flag(L, arg, "nopl");
	o->newline = flag(L, arg, "newline");
}

/* An image with entries to decode; raw ones get crit's answer. */
static struct index *check_image(lua_State *L, int arg)
{
	struct index *x = lcrit_check_index(L, arg);

	if (x->h.type->layout == LAYOUT_RAW)
		lcrit_fail_file(L, x->name, "%s", JSON_WRITE_RAW_MSG);
	return x;
}

struct consumed {
	struct index *x;
	uint64_t from; /* dropped below this already */
};

static void drop_consumed(void *ctx, uint64_t offset)
{
	struct consumed *c = ctx;

	lcrit_index_drop(c->x, c->from, offset);
	c->from = offset;
}

static int need_bytes(void *ctx, uint64_t from, uint64_t to, struct crit_error *err)
{
	return lcrit_index_need(((struct consumed *)ctx)->x, from, to, err);
}

/* What a writer call returns: the output checked first (what was written
 * must reach it either way), then the writer's error raised, or its counts:
 * entries, and fields unknown to the schema. */
static int write_result(lua_State *L, struct output *o, const char *name, int failed,
			const struct crit_error *err, uint64_t entries, uint64_t unknown)
{
	lcrit_output_check(L, o);
	if (failed)
		return lcrit_raise(L, name, err);
	lua_pushinteger(L, (lua_Integer)entries);
	lua_pushinteger(L, (lua_Integer)unknown);
	return 2;
}

/* core.json_write(index, output, opts) -> entries, unknown fields skipped.
 * The image is read once, front to back: its pages are let go behind the
 * writer, so that memory stays flat however large the image. */
int lcrit_json_write(lua_State *L)
{
	struct index *x = check_image(L, 1);
	struct output *o = lcrit_check_output(L, 2);
	struct json_write_opts opts;
	struct json_write_stats st;
	struct crit_error err;
	struct consumed done = { x, 0 };
	int failed;

	check_opts(L, 3, &opts);
	opts.consumed = drop_consumed;
	opts.need = need_bytes;
	opts.need_unit = LOAD_CHUNK;
	opts.ctx = &done;
	crit_error_clear(&err);
	failed = json_write_image(&o->buf, &x->h, x->data, x->len, &opts, &st, &err);
	return write_result(L, o, x->name, failed, &err, st.entries, st.unknown_fields);
}

static int scratch_gc(lua_State *L)
{
	buf_free(luaL_checkudata(L, 1, SCRATCH_MT));
	return 0;
}

/* A buffer that a raised error cannot leak: its userdata frees it. */
static struct buf *new_scratch(lua_State *L)
{
	struct buf *b = lua_newuserdatauv(L, sizeof(*b), 0);

	buf_init(b, -1);
	if (luaL_newmetatable(L, SCRATCH_MT)) {
		lua_pushcfunction(L, scratch_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	return b;
}

/* core.json_entry(index, i, opts) -> JSON text of entry i (1-based),
 * unknown fields skipped */
int lcrit_json_entry(lua_State *L)
{
	struct index *x = check_image(L, 1);
	lua_Integer i = luaL_checkinteger(L, 2);
	struct json_write_opts opts;
	struct json_write_stats st;
	struct crit_error err;
	struct entry_loc loc;
	struct buf *b;

	check_opts(L, 3, &opts);
	luaL_argcheck(L, i >= 1 && lcrit_index_upto(L, x, (size_t)(i - 1)), 2,
		      "entry index out of range");
	lcrit_entry_at(L, x, (size_t)(i - 1), &loc);
	b = new_scratch(L);
	crit_error_clear(&err);
	if (json_write_entry(b, &x->h, x->data, (size_t)(i - 1), x->cur.chunked, &loc, &opts, &st,
			     &err))
		return lcrit_raise(L, x->name, &err);
	lua_pushlstring(L, (const char *)b->data, b->len);
	buf_free(b);
	lua_pushinteger(L, (lua_Integer)st.unknown_fields);
	return 2;
}

/* core.text_write(index, output, {nice=}) -> entries, unknown fields
 * (written by number). Like json_write: one pass, pages let go behind. */
int lcrit_text_write(lua_State *L)
{
	struct index *x = check_image(L, 1);
	struct output *o = lcrit_check_output(L, 2);
	struct text_write_opts opts = { .consumed = drop_consumed, .need = need_bytes, .need_unit = LOAD_CHUNK };
	struct text_write_stats st;
	struct crit_error err;
	struct consumed done = { x, 0 };
	int failed;

	if (!lua_isnoneornil(L, 3)) {
		luaL_checktype(L, 3, LUA_TTABLE);
		opts.nice = flag(L, 3, "nice");
	}
	opts.ctx = &done;
	crit_error_clear(&err);
	failed = text_write_image(&o->buf, &x->h, x->data, x->len, &opts, &st, &err);
	return write_result(L, o, x->name, failed, &err, st.entries, st.unknown_fields);
}

/* core.quopri(bytes) -> Python's quopri.encodestring(bytes): how crit
 * shows unix socket names, for `x fds` */
int lcrit_quopri(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	struct buf *b = new_scratch(L);

	if (conv_quopri_encode(b, (const uint8_t *)s, len))
		return lcrit_fail(L, "out of memory");
	lua_pushlstring(L, (const char *)b->data, b->len);
	buf_free(b);
	return 1;
}
