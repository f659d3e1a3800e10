/* crit.Error: the one error value of lua-crit, raised by the binding for
 * every error about data (a file, an entry, a field) and built by the Lua
 * layer with crit.error{...}. A table of fields, so that callers such as
 * `check` read where an error is instead of parsing its line back. */
#include "lcrit.h"

#include <stdarg.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#define ERROR_MT "crit.Error"

/* The fields a crit.Error may have: the Lua type each must be, and for a
 * number its least value (entries, lines and columns count from 1). */
static const struct {
	const char *name;
	int type;
	lua_Integer least;
} error_fields[] = {
	{ "file", LUA_TSTRING, 0 }, { "entry", LUA_TNUMBER, 1 },  { "offset", LUA_TNUMBER, 0 },
	{ "line", LUA_TNUMBER, 1 }, { "column", LUA_TNUMBER, 1 }, { "path", LUA_TSTRING, 0 },
	{ "message", LUA_TSTRING, 0 },
};

static void set_integer(lua_State *L, const char *field, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, field);
}

static void set_string(lua_State *L, const char *field, const char *s)
{
	lua_pushstring(L, s);
	lua_setfield(L, -2, field);
}

void lcrit_error_push(lua_State *L, const char *name, const struct crit_error *err)
{
	lua_createtable(L, 0, 6);
	if (name)
		set_string(L, "file", name);
	if (err->entry >= 0)
		set_integer(L, "entry", (lua_Integer)err->entry + 1);
	if (err->line > 0) {
		set_integer(L, "line", (lua_Integer)err->line);
		set_integer(L, "column", (lua_Integer)err->column);
	} else if (err->offset != CRIT_NO_OFFSET) {
		set_integer(L, "offset", (lua_Integer)err->offset);
	}
	if (err->path[0])
		set_string(L, "path", err->path);
	set_string(L, "message", err->msg);
	luaL_setmetatable(L, ERROR_MT);
}

int lcrit_raise(lua_State *L, const char *name, const struct crit_error *err)
{
	lcrit_error_push(L, name, err);
	return lua_error(L);
}

int lcrit_fail_file(lua_State *L, const char *name, const char *fmt, ...)
{
	va_list ap;

	lua_createtable(L, 0, 2);
	set_string(L, "file", name);
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	lua_setfield(L, -2, "message");
	luaL_setmetatable(L, ERROR_MT);
	return lua_error(L);
}

int lcrit_fail(lua_State *L, const char *fmt, ...)
{
	va_list ap;

	/* No "file.lua:N:" position: the message says what went wrong. */
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	return lua_error(L);
}

/* Field k of the table at i as an integer, or dflt when it is nil. */
static lua_Integer opt_field(lua_State *L, int i, const char *k, lua_Integer dflt)
{
	lua_Integer v = dflt;

	if (lua_getfield(L, i, k) == LUA_TNUMBER)
		v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return v;
}

/* Adds field k of the table at i and then sep, if the field is there. */
static void add_field(luaL_Buffer *b, int i, const char *k, const char *sep)
{
	lua_State *L = b->L;

	lua_getfield(L, i, k);
	if (!lua_isstring(L, -1)) {
		lua_pop(L, 1);
		return;
	}
	luaL_addvalue(b);
	luaL_addstring(b, sep);
}

/* The one formatter of an error line: "FILE: entry N at offset X: path:
 * message", each part only when the error has it. */
static int error_tostring(lua_State *L)
{
	struct crit_error pos;
	char where[96];
	luaL_Buffer b;

	luaL_checktype(L, 1, LUA_TTABLE);
	crit_error_clear(&pos);
	pos.entry = (long)opt_field(L, 1, "entry", 0) - 1;
	pos.offset = (uint64_t)opt_field(L, 1, "offset", -1);
	pos.line = (long)opt_field(L, 1, "line", 0);
	pos.column = (long)opt_field(L, 1, "column", 0);
	crit_error_where(&pos, where, sizeof(where));
	luaL_buffinit(L, &b);
	add_field(&b, 1, "file", ": ");
	luaL_addstring(&b, where);
	add_field(&b, 1, "path", ": ");
	add_field(&b, 1, "message", "");
	luaL_pushresult(&b);
	return 1;
}

/* core.error{ file=, entry=, offset=, line=, column=, path=, message= }
 * -> that table, made a crit.Error. message is required; entry, line and
 * column count from 1, offset from 0. */
static int core_error(lua_State *L)
{
	size_t k;

	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	for (k = 0; k < sizeof(error_fields) / sizeof(error_fields[0]); k++) {
		const char *name = error_fields[k].name;
		int t = lua_getfield(L, 1, name);

		if (t == LUA_TNIL && !strcmp(name, "message"))
			return luaL_argerror(L, 1, "a message is required");
		if (t != LUA_TNIL && t != error_fields[k].type)
			return luaL_argerror(L, 1, lua_pushfstring(L, "%s must be a %s, got %s", name,
					     lua_typename(L, error_fields[k].type), luaL_typename(L, -1)));
		if (t == LUA_TNUMBER &&
		    (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < error_fields[k].least))
			return luaL_argerror(L, 1, lua_pushfstring(L, "%s must be an integer >= %d", name,
					     (int)error_fields[k].least));
		lua_pop(L, 1);
	}
	luaL_setmetatable(L, ERROR_MT);
	return 1;
}

/* core.is_error(v) -> whether v is a crit.Error. */
static int core_is_error(lua_State *L)
{
	int is = lua_getmetatable(L, 1);

	if (is) {
		luaL_getmetatable(L, ERROR_MT);
		is = lua_rawequal(L, -1, -2);
	}
	lua_pushboolean(L, is);
	return 1;
}

void lcrit_error_register(lua_State *L)
{
	luaL_newmetatable(L, ERROR_MT);
	lua_pushcfunction(L, error_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
	lua_pushcfunction(L, core_error);
	lua_setfield(L, -2, "error");
	lua_pushcfunction(L, core_is_error);
	lua_setfield(L, -2, "is_error");
}
