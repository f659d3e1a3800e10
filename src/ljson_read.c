/* Placeholder: the JSON read binding is being written. */
#include <lauxlib.h>
#include "lcrit.h"
int lcrit_json_read(lua_State *L) { return luaL_error(L, "json_read: not implemented yet"); }
