-- Convert a dump between the v1.1 image header (two magics: IMG_COMMON or
-- IMG_SERVICE, then the image's own) and v1.0 (the image's magic alone),
-- the older layout, which early criu wrote.
-- Usage: crit.lua transform DIR image-version.lua -o OUT -- 1.0|1.1
--        crit.lua transform - image-version.lua -- 1.0 < core-1.img > out.img
-- Proved by restore: spec/restore/transforms_spec.lua, scenario "plain":
-- converted to 1.0 it restores with criu 4.2; converted back to 1.1 it is
-- the original, byte for byte, and restores.
--
-- criu reads both, but one per dump: inventory.img's img_version says which
-- (1: v1.0, 2: v1.1; criu/image.c), and every other image must have that
-- layout or restore fails ("Head magic doesn't match"). So the headers of
-- every image change, and inventory's img_version with them. inventory.img
-- always has its magic alone; raw images (pages-N.img ...) have no header.
-- In stream mode one image changes: inventory.img gets the img_version of
-- the layout; any other image gets the header, and the dump's inventory
-- must then say the same (this script says so on stderr).
local transform = require "crit.transform"
local layout = require "crit.layout"

return function(d, args)
  local v = args[1]
  if v ~= "1.0" and v ~= "1.1" then error("usage: image-version.lua -- 1.0|1.1", 0) end
  if d.magic then                              -- stream mode: one image
    if d.magic == "INVENTORY" then
      for k = 1, #d do d[k].img_version = layout.IMG_VERSION[v] end
    elseif not d.raw_image then
      d:set_version(v)
      io.stderr:write(("image-version: one image: the dump's inventory.img must say img_version %d\n")
        :format(layout.IMG_VERSION[v]))
    end
    return
  end
  transform.dir_version(d, v)
end
