-- luacheck's settings for `make lint`: the module, the command, the specs,
-- the examples and the tools, all Lua 5.4.
std = "lua54"
max_line_length = 120
exclude_files = { "build", "spec/fixtures" }
files["spec"] = { std = "+busted" }
