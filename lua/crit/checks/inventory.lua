-- Check: inventory.img is there, is an inventory, and has an image version
-- criu knows (criu/image.c, check_img_inventory).
local tostring, string_format = tostring, string.format

local KNOWN_VERSIONS = { [1] = "CRTOOLS_IMAGES_V1", [2] = "CRTOOLS_IMAGES_V1_1" }

local function run(d, report)
  local img, _, errno = d:image("inventory")
  if not img then
    report("error", "inventory.img", nil, nil, errno == 2 and "missing: criu restore cannot start without it"
      or "cannot be read: criu restore cannot start without it")
    return
  end
  if img.magic ~= "INVENTORY" then
    report("error", "inventory.img", nil, nil, "an INVENTORY image expected, this is " .. tostring(img.magic))
    return
  end
  if #img ~= 1 then
    report("error", "inventory.img", nil, nil, string_format("%d entries, criu reads exactly one", #img))
    if #img == 0 then return end
  end
  local inv = img[1]
  if not KNOWN_VERSIONS[inv.img_version] then
    report("error", "inventory.img", 1, "img_version",
      string_format("unknown image version %s (criu knows 1 and 2)", tostring(inv.img_version)))
  end
end

return {
  name = "inventory",
  summary = "inventory.img present, one entry, image version known",
  run = run,
}
