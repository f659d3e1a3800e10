-- The Lua-iteration rows of tools/bench.lua: walk every entry of an image
-- from Lua and add up one field, three ways.
--   lua5.4 tools/iterate.lua entries|reuse|fields IMG [FIELD]   (from the checkout)
-- entries: img:entries(), a new table per entry; reuse: entries{ reuse =
-- true }, one table refilled; fields: img:fields(FIELD), no table at all.
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./build/?.so;" .. package.cpath
local crit = require "crit"

local mode, path, field = arg[1], arg[2], arg[3] or "vaddr"
local img = assert(crit.open(path))
local sum, n = 0, 0
if mode == "fields" then
  for _, v in img:fields(field) do
    n = n + 1
    sum = sum + (v or 0)
  end
else
  for _, e in img:entries({ reuse = mode == "reuse" }) do
    n = n + 1
    sum = sum + (e[field] or 0)
  end
end
print(n, sum)
