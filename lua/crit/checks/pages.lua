-- Check: each pages-N.img is as large as the pages present in the pagemap
-- that points to it (pagemap-PID.img or pagemap-shmem-N.img): shorter is an
-- error, longer a warning; and every pages image belongs to one pagemap.
local check = require "crit.check"
local layout = require "crit.layout"

local ipairs, pcall, tonumber, string_format = ipairs, pcall, tonumber, string.format
local math_tointeger = math.tointeger

local function run(d, report)
  local owner = {}      -- pages id -> pagemap file
  local first = check.live_tasks(d)[1]
  local ps = check.page_size(d, first and first.pid)
  for _, name in ipairs(check.image_names(d, "^pagemap%-")) do
    local file = name .. ".img"
    local img = d:image(name)
    if img and img.magic == "PAGEMAP" and not (d.broken_images or {})[file] and #img > 0 then
      local id = img[1].pages_id
      local present = layout.present_pages(img)
      if owner[id] then
        report("error", file, 1, "pages_id", string_format("pages-%d.img is also %s's", id, owner[id]))
      end
      owner[id] = owner[id] or file
      local pages = d:image("pages-" .. id)
      local need = present * ps
      if not pages then
        if present > 0 then
          report("error", file, 1, "pages_id", string_format(
            "pages-%d.img is missing (%d pages present)", id, present))
        end
      else
        local ok, have = pcall(pages.file_size, pages)
        -- Too short loses pages (criu even spins for ever reading them);
        -- bytes past the last page are never read (the fault campaign).
        if ok and have < need then
          report("error", "pages-" .. id .. ".img", nil, nil, string_format(
            "%d bytes, but %s has %d pages present (%d bytes): pages are lost", have, file, present, need))
        elseif ok and have > need then
          report("warning", "pages-" .. id .. ".img", nil, nil, string_format(
            "%d bytes, but %s has %d pages present (%d bytes); restore never reads the %d past them: trailing bytes",
            have, file, present, need, have - need))
        end
      end
    end
  end
  for _, name in ipairs(check.image_names(d, "^pages%-%d+%.img$")) do
    local id = math_tointeger(tonumber(name:match("%d+$")))
    if not owner[id] then
      report("warning", name .. ".img", nil, nil, "no pagemap points to it")
    end
  end
end

return {
  name = "pages",
  summary = "pages-N.img exactly as large as the pages present",
  run = run,
}
