-- Seed corpus for the image harnesses from image files: one byte for the
-- type (its position in crit.magics()), then the image without its header.
-- Seeds over MAX bytes (default 65536, fuzz-run's -max_len) are left out.
-- lua5.4 fuzz/seeds.lua [--max MAX] OUTDIR IMAGE...
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./build/?.so;" .. package.cpath
local crit = require "crit"

local max, first = 65536, 1
if arg[1] == "--max" then max, first = assert(math.tointeger(tonumber(arg[2])), "--max BYTES"), 3 end
local out = assert(arg[first], "usage: seeds.lua [--max MAX] OUTDIR IMAGE...")
local position = {}
for i, t in ipairs(crit.magics()) do position[t.name] = i - 1 end

local n = 0
for i = first + 1, #arg do
  local img = crit.open(arg[i])
  if img and not img.raw_image then
    local f = assert(io.open(arg[i], "rb"))
    local bytes = f:read("a")
    f:close()
    -- the header: two u32 magics (v1.1), or the image's alone (v1.0)
    local body = bytes:sub((img.version == "1.1" and 8 or 4) + 1)
    if 1 + #body <= max then
      n = n + 1
      local s = assert(io.open(("%s/seed-%04d"):format(out, n), "wb"))
      s:write(string.char(position[img.magic]), body)
      s:close()
    end
  end
end
print(("seeds.lua: %d seeds in %s"):format(n, out))
