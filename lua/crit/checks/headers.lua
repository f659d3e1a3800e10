-- Check: every image's header has the layout inventory's img_version says.
-- criu reads img_version 2 (CRTOOLS_IMAGES_V1_1) as "every image but the
-- inventory starts with IMG_COMMON_MAGIC before its own magic" and 1 as
-- "no common magic" (criu/image.c check_img_inventory, img_check_magic:
-- "Head magic doesn't match"). crit's image.version says which one a file has.
local check = require "crit.check"
local decode = require "crit.checks.decode"
local layout = require "crit.layout"

local ipairs, pcall, string_format = ipairs, pcall, string.format
local LAYOUT = layout.HEADER_LAYOUT   -- img_version -> "1.0" or "1.1"

local function run(d, report)
  local inv = d:has("inventory") and d:image("inventory")
  local version = inv and inv.magic == "INVENTORY" and #inv == 1 and inv[1].img_version
  local want = LAYOUT[version]
  if not want then return end   -- the inventory check reports it
  for _, file in ipairs(check.files_in(d.path)) do
    local name = file:match("^(.*)%.img$")
    if name and name ~= "inventory" and decode.is_image_file(file) then
      local ok, img = pcall(d.image, d, name)
      if ok and img and not img.raw_image and img.version ~= want then
        report("error", file, nil, nil, string_format(
          "a %s header (%s), but inventory.img says img_version %d: criu wants %s headers "
          .. "(restore fails: \"Head magic doesn't match\")", img.version,
          img.version == "1.1" and "two magics" or "one magic", version, want))
      end
    end
  end
end

return {
  name = "headers",
  summary = "image headers have the layout of inventory's img_version",
  run = run,
}
