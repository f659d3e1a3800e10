/* Placeholder: the JSON write binding is being written. */
#include <lauxlib.h>
#include "lcrit.h"
int lcrit_json_write(lua_State *L) { return luaL_error(L, "json_write: not implemented yet"); }
int lcrit_json_entry(lua_State *L) { return luaL_error(L, "json_entry: not implemented yet"); }
