-- The lazy-access case of tools/bench.lua: open a pagemap image, change
-- one entry in the middle and write the image back. Only that entry is
-- decoded; the others are copied as they are.
--   lua5.4 tools/lazy-edit.lua IN OUT [ENTRY]     (run from the checkout)
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./build/?.so;" .. package.cpath
local crit = require "crit"

local input, output, k = arg[1], arg[2], math.tointeger(arg[3] or 500000)
local img = assert(crit.open(input))
local entry = assert(img[k], "no such entry")
-- crit 3.17's images (the synthetic ones) count pages in compat_nr_pages
local field = entry.nr_pages and "nr_pages" or "compat_nr_pages"
entry[field] = entry[field] + 1
img:write(output)
