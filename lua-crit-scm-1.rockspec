-- The development tree. `make dist` makes the release rockspec from this
-- one: the version, and a source that points at the release tarball.
rockspec_format = "3.0"
package = "lua-crit"
version = "scm-1"
source = {
  url = "git+file:///lua-crit",   -- `luarocks make` builds the checkout it is run in
  branch = "main",
}
description = {
  summary = "Read, edit and write CRIU checkpoint images from Lua",
  detailed = [[
A C core on protobuf-c exposes CRIU images as Lua tables with lazy
decoding: an entry is decoded when it is touched, and an untouched entry is
written back byte for byte. crit.lua replaces CRIU's crit: decode, encode,
show, info and x, with crit's exact JSON; and adds mem, coredump, stats,
diff, check and transform.
]],
  license = "MIT",
  labels = { "criu", "checkpoint", "protobuf" },
}
supported_platforms = { "linux" }
dependencies = {
  "lua >= 5.4, < 5.5",
  "argparse",
  "luafilesystem",   -- crit.transform (hard links, symlinks, directory listings)
}
external_dependencies = {
  PROTOBUF_C = { header = "protobuf-c/protobuf-c.h", library = "protobuf-c" },
  -- protoc-c reads google/protobuf/descriptor.proto (CRIU's field options)
  PROTOBUF = { header = "google/protobuf/descriptor.proto" },
  ZLIB = { header = "zlib.h", library = "z" },             -- gzip archives
  ZSTD = { header = "zstd.h", library = "zstd" },          -- zstd archives
}
build = {
  -- protoc-c must run at build time, which the builtin backend cannot do.
  type = "make",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LIBFLAG = "$(LIBFLAG)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    LUA = "$(LUA)",
    PROTOBUF_C_INCDIR = "$(PROTOBUF_C_INCDIR)",
    PROTOBUF_C_LIBDIR = "$(PROTOBUF_C_LIBDIR)",
    ZLIB_INCDIR = "$(ZLIB_INCDIR)",
    ZLIB_LIBDIR = "$(ZLIB_LIBDIR)",
    ZSTD_INCDIR = "$(ZSTD_INCDIR)",
    ZSTD_LIBDIR = "$(ZSTD_LIBDIR)",
    PROTO_SYS = "$(PROTOBUF_INCDIR)",
  },
  install_variables = {
    INST_LIBDIR = "$(LIBDIR)",
    INST_LUADIR = "$(LUADIR)",
    -- LuaRocks installs the command (install.bin) with its wrapper, and
    -- has no place for a man page or completions.
    INST_BINDIR = "",
    INST_MANDIR = "",
    INST_BASHCOMPDIR = "",
    INST_ZSHCOMPDIR = "",
  },
  install = {
    bin = { ["crit.lua"] = "crit.lua" },
  },
  copy_directories = { "docs", "examples" },
}
test = {
  type = "command",
  command = "make test",
}
