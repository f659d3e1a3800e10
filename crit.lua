#!/usr/bin/env lua5.4
-- crit.lua: the command line of lua-crit (see lua/crit/cli.lua). Run from a
-- checkout it finds its modules next to itself; installed, on the usual paths.
-- CRIT_BUILD names the checkout's build directory (default build; make
-- test-asan sets build/asan, so its CLI runs load the sanitized module).
local dir = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
local f = io.open(dir .. "/lua/crit/cli.lua", "rb")
if f then
  f:close()
  package.path = dir .. "/lua/?.lua;" .. dir .. "/lua/?/init.lua;" .. package.path
  local build = os.getenv("CRIT_BUILD") or "build"
  if build:sub(1, 1) ~= "/" then build = dir .. "/" .. build end
  package.cpath = build .. "/?.so;" .. package.cpath
end
local ok, cli = pcall(require, "crit.cli")
if not ok then -- not built or not installed: say so in one line
  io.stderr:write("crit.lua: cannot load lua-crit: ", (tostring(cli):gsub("\n.*", "")), "\n")
  os.exit(1)
end
os.exit(cli.main(arg), true)
