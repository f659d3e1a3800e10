-- Check: every image's header has the layout inventory's img_version says.
-- criu reads img_version 2 (CRTOOLS_IMAGES_V1_1) as "every image but the
-- inventory starts with IMG_COMMON_MAGIC before its own magic" and 1 as
-- "no common magic" (criu/image.c check_img_inventory, img_check_magic:
-- "Head magic doesn't match"). crit's image.version says which one a file has.
local check = require "crit.check"
local layout = require "crit.layout"

local ipairs, pcall, string_format = ipairs, pcall, string.format
local LAYOUT = layout.HEADER_LAYOUT   -- img_version -> "1.0" or "1.1"

-- Every image that criu reads with a header, and its layout.
local function layouts(d)
  local out = {}
  for _, name in ipairs(check.image_names(d, "%.img$")) do
    if name ~= "inventory" then
      local ok, img = pcall(d.image, d, name)
      if ok and img and not img.raw_image then
        out[#out + 1] = { file = layout.image_file(name), version = img.version }
      end
    end
  end
  return out
end

local function run(d, report)
  local inv = d:has("inventory") and d:image("inventory")
  local version = inv and inv.magic == "INVENTORY" and #inv == 1 and inv[1].img_version
  local want = LAYOUT[version]
  if not want then return end   -- the inventory check reports it
  local all, wrong = layouts(d), {}
  for _, h in ipairs(all) do
    if h.version ~= want then wrong[#wrong + 1] = h end
  end
  if #wrong == 0 then return end
  if #wrong == #all then
    -- the images agree with each other: inventory is the one that is wrong
    local have = wrong[1].version
    report("error", "inventory.img", 1, "img_version", string_format(
      "%d, but every image has %s headers (img_version %d): restore fails (\"%s\")", version, have,
      layout.IMG_VERSION[have], want == "1.1" and "Head magic doesn't match" or "Magic doesn't match"))
    return
  end
  for _, h in ipairs(wrong) do
    report("error", h.file, nil, nil, string_format(
      "a %s header, but inventory.img says img_version %d: criu wants %s headers (restore fails: \"%s\")",
      h.version, version, want, want == "1.1" and "Head magic doesn't match" or "Magic doesn't match"))
  end
end

return {
  name = "headers",
  summary = "image headers have the layout of inventory's img_version",
  run = run,
}
