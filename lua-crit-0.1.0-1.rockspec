rockspec_format = "3.0"
package = "lua-crit"
version = "0.1.0-1"
source = {
  url = "git+file:///lua-crit",   -- `luarocks make` builds the checkout
}
description = {
  summary = "Read, edit and write CRIU checkpoint images from Lua",
  detailed = [[
A C core on protobuf-c exposes CRIU images as Lua tables with lazy
decoding: an entry is decoded when it is touched, and an untouched entry is
written back byte for byte. crit.lua replaces CRIU's crit: decode, encode,
show, info and x, with crit's exact JSON.
]],
  license = "MIT",
  labels = { "criu", "checkpoint", "protobuf" },
}
dependencies = {
  "lua >= 5.4, < 5.5",
  "argparse",
  "luafilesystem",   -- crit.transform (hard links, symlinks, directory listings)
  "lua-cjson",       -- check --json
}
external_dependencies = {
  PROTOBUF_C = { header = "protobuf-c/protobuf-c.h", library = "protobuf-c" },
}
build = {
  -- protoc-c must run at build time, which the builtin backend cannot do.
  type = "make",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LIBFLAG = "$(LIBFLAG)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    LUA = "$(LUA)",
  },
  install_variables = {
    INST_LIBDIR = "$(LIBDIR)",
    INST_LUADIR = "$(LUADIR)",
    INST_BINDIR = "",   -- LuaRocks installs the command (install.bin) with its wrapper
  },
  install = {
    bin = { ["crit.lua"] = "crit.lua" },
  },
}
test = {
  type = "command",
  command = "make test",
}
