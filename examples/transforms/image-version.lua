-- Convert images between the v1.1 header (two magics: IMG_COMMON or
-- IMG_SERVICE, then the image's own) and v1.0 (the image's magic alone),
-- the older layout, which early criu wrote.
-- Usage: crit.lua transform DIR image-version.lua -o OUT -- 1.0|1.1
--        crit.lua transform - image-version.lua -- 1.0 < core-1.img > out.img
--
-- criu reads both. inventory.img always has its magic alone; raw images
-- (pages-N.img ...) have no header at all: both are left as they are.
local transform = require "crit.transform"

return function(d, args)
  local v = args[1]
  if v ~= "1.0" and v ~= "1.1" then error("usage: image-version.lua -- 1.0|1.1", 0) end
  if d.magic then                              -- stream mode: one image
    if not d.raw_image and d.magic ~= "INVENTORY" then d:set_version(v) end
    return
  end
  transform.dir_version(d, v)
end
