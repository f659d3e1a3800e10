/* core.json_read: the Lua face of json_read.c (crit encode). */
#include <errno.h>
#include <stdio.h>

#include <lauxlib.h>
#include <lualib.h>

#include "json_read.h"
#include "text_read.h"
#include "lcrit.h"

#define READER_MT "crit.JsonReader"

/* Holds the reader while it works, so that an error raised half-way
 * frees it through __gc. */
struct reader_box {
	struct json_reader *r;
};

static int reader_gc(lua_State *L)
{
	struct reader_box *box = luaL_checkudata(L, 1, READER_MT);

	json_reader_free(box->r);
	box->r = NULL;
	return 0;
}

static struct reader_box *push_reader_box(lua_State *L)
{
	struct reader_box *box = lua_newuserdatauv(L, sizeof(*box), 0);

	box->r = NULL;
	if (luaL_newmetatable(L, READER_MT)) {
		lua_pushcfunction(L, reader_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	return box;
}

/* Reads through the FILE rather than its descriptor: whatever stdio has
 * buffered already (a Lua f:read before) comes first, as it should. */
static ssize_t read_stdio(void *ctx, uint8_t *p, size_t n)
{
	FILE *f = ctx;
	size_t got = fread(p, 1, n, f);

	if (got == 0 && ferror(f))
		return -1;
	return (ssize_t)got;
}

/* The reader for argument 1: a Lua string (the whole document) or a file. */
static struct json_reader *new_reader(lua_State *L, const char **name)
{
	luaL_Stream *f;
	size_t len;
	const char *s;

	if (lua_type(L, 1) == LUA_TSTRING) {
		s = lua_tolstring(L, 1, &len); /* stays on the stack: pinned */
		*name = "(string)";
		return json_reader_new_memory((const uint8_t *)s, len);
	}
	f = luaL_checkudata(L, 1, LUA_FILEHANDLE);
	if (!f->closef)
		luaL_argerror(L, 1, "file is closed");
	*name = f->f == stdin ? "stdin" : "(file)";
	return json_reader_new_stream(read_stdio, f->f);
}

/* core.json_read(input, output [, name]) -> magic, number of entries.
 * input: crit's JSON as a string or an open Lua file; output: where the
 * image goes. Errors raise "NAME: line L, column C: path: what". */
int lcrit_json_read(lua_State *L)
{
	struct output *o = lcrit_check_output(L, 2);
	const char *name, *given = luaL_optstring(L, 3, NULL);
	struct reader_box *box = push_reader_box(L);
	struct json_read_result res;
	struct crit_error err;
	int rc;

	box->r = new_reader(L, &name);
	if (!box->r)
		return lcrit_fail_file(L, given ? given : name, "out of memory");
	rc = json_read_image(box->r, &o->buf, &res, &err);
	json_reader_free(box->r);
	box->r = NULL;
	lcrit_output_check(L, o);
	if (rc)
		return lcrit_raise(L, given ? given : name, &err);
	lua_pushstring(L, res.type->name);
	lua_pushinteger(L, (lua_Integer)res.entries);
	return 2;
}

/* core.input_format(input) -> "txt" or "json": how a document to encode
 * starts (its first byte that is not white space is '#' for text). A file
 * loses its leading white space, nothing else: the byte looked at is put
 * back, so a pipe can still be read from the start of the document. */
int lcrit_input_format(lua_State *L)
{
	luaL_Stream *f;
	size_t len;
	const char *s;
	int c;

	if (lua_type(L, 1) == LUA_TSTRING) {
		s = lua_tolstring(L, 1, &len);
		lua_pushstring(L, text_read_detect((const uint8_t *)s, len) ? "txt" : "json");
		return 1;
	}
	f = luaL_checkudata(L, 1, LUA_FILEHANDLE);
	if (!f->closef)
		luaL_argerror(L, 1, "file is closed");
	do
		c = getc(f->f);
	while (c == ' ' || c == '\t' || c == '\n' || c == '\r');
	if (c != EOF)
		ungetc(c, f->f);
	lua_pushstring(L, c == '#' ? "txt" : "json");
	return 1;
}

/* core.text_read(text, output [, name]) -> magic, number of entries.
 * text: the whole document, as text_write writes it. Errors raise
 * "NAME: line L, column C: #N.path: what". */
int lcrit_text_read(lua_State *L)
{
	size_t len;
	const char *text = luaL_checklstring(L, 1, &len);
	struct output *o = lcrit_check_output(L, 2);
	const char *name = luaL_optstring(L, 3, "(string)");
	struct text_read_result res;
	struct crit_error err;
	int rc;

	rc = text_read_image((const uint8_t *)text, len, &o->buf, &res, &err);
	lcrit_output_check(L, o);
	if (rc)
		return lcrit_raise(L, name, &err);
	lua_pushstring(L, res.type->name);
	lua_pushinteger(L, (lua_Integer)res.entries);
	return 2;
}
