/* libFuzzer harness: image bytes -> index -> Lua tables -> wire -> tables.
 * The first input byte picks the image type, the rest follows its header,
 * so every magic (and every payload kind) is reached. A table that does not
 * survive encode and decode unchanged is a bug: the harness aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "image.h"
#include "schema.h"

int luaopen_crit_core(lua_State *L);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char check_lua[] =
	"local core, bytes, magic = ...\n"
	"local function same(a, b)\n"
	"  if type(a) ~= 'table' or type(b) ~= 'table' then return a == b end\n"
	"  for k, v in pairs(a) do if not same(v, b[k]) then return false end end\n"
	"  for k in pairs(b) do if a[k] == nil then return false end end\n"
	"  return true\n"
	"end\n"
	"local ok, idx = pcall(core.load, bytes, 'fuzz.img')\n"
	"if not ok then return end\n"
		"for i = 1, 64 do\n"
	"  local ok_has, has = pcall(idx.has, idx, i)\n"
	"  if not ok_has or not has then return end\n"
	"  local ok1, t = pcall(idx.decode, idx, i)\n"
	"  if ok1 then\n"
	"    local ok2, msg, pl = pcall(core.encode_entry, magic, i, t)\n"
	"    if ok2 then\n"
	"      -- the entries before i as they were, then entry i re-encoded\n"
	"      local start = idx:span(i)\n"
	"      local one = string.pack('<I4', #msg) .. msg .. pl\n"
	"      local again = core.load(bytes:sub(1, start) .. one, 'fuzz.img')\n"
	"      local back = again:decode(i)\n"
	"      if not same(t, back) then error('PROPERTY: entry changed in a round trip') end\n"
	"    end\n"
	"  end\n"
	"end\n";

static lua_State *L;
static int check_ref;

static void setup(void)
{
	L = luaL_newstate();
	luaL_openlibs(L);
	luaL_requiref(L, "crit.core", luaopen_crit_core, 0);
	lua_pop(L, 1);
	if (luaL_loadbuffer(L, check_lua, sizeof(check_lua) - 1, "check"))
		abort();
	check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct image_type *t;
	uint8_t header[8];
	size_t n, types = 0;
	luaL_Buffer b;

	if (!L)
		setup();
	if (size < 1)
		return 0;
	while (schema_type_at(types))
		types++;
	t = schema_type_at(data[0] % types);
	if (t->layout == LAYOUT_RAW)
		t = schema_by_name("PAGEMAP");
	n = image_header_bytes(t, header);
	lua_rawgeti(L, LUA_REGISTRYINDEX, check_ref);
	lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
	lua_getfield(L, -1, "crit.core");
	lua_remove(L, -2);
	luaL_buffinit(L, &b);
	luaL_addlstring(&b, (const char *)header, n);
	luaL_addlstring(&b, (const char *)data + 1, size - 1);
	luaL_pushresult(&b);
	lua_pushstring(L, t->name);
	if (lua_pcall(L, 3, 0, 0)) {
		const char *msg = lua_tostring(L, -1);
		if (msg && strstr(msg, "PROPERTY"))
			abort();
		lua_pop(L, 1); /* a memory error, say: not a finding */
	}
	/* the incremental collector keeps up; a full collection per input would halve the speed */
	return 0;
}
