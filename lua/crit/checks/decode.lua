-- Check: every image of the directory decodes fully: known magic, every
-- entry framed and decoded with its required fields, no trailing bytes. Images with payloads are the
-- payloads check's. Records the images that fail in d.broken_images, so
-- that other checks do not report them again.
local crit = require "crit"
local core = require "crit.core"
local check = require "crit.check"
local layout = require "crit.layout"
local dirlib = require "crit.dir"

local ipairs, pcall = ipairs, pcall
local table_unpack = table.unpack

local is_image_file = layout.is_image_file

-- Magics whose entries carry payloads: the payloads check decodes them.
local PAYLOAD_MAGICS = {
  PIPES_DATA = true, FIFO_DATA = true, SK_QUEUES = true, BPFMAP_DATA = true,
  IPCNS_SHM = true, TCP_STREAM = true, IPCNS_SEM = true, IPCNS_MSG = true,
  GHOST_FILE = true,
}

-- An entry whose repeated field may hold a million elements (mm's vmas)
-- is checked without making them all into tables: its head decoded and
-- encoded, each element read on its own (every field of it, the required
-- ones checked). The field, and the names of its elements' fields.
local SPLIT = { MM = { "vmas", dirlib.VMA_FIELDS } }
local function split_field(magic)
  local s = SPLIT[magic]
  if s then return s[1], s[2] end
  return nil
end

--- decode_image(path, file, report, broken) -> the image or nil: open it and
--- decode every entry, reporting the first error.
local function decode_image(path, file, report, broken)
  local ok, img, err = pcall(crit.open, path)
  if ok and not img then
    report("error", file, nil, nil, "cannot read: " .. tostring(err))
    broken[file] = true
    return nil
  end
  if ok then
    ok, err = pcall(function()
      if img.raw_image then return end
      -- Encoding checks what decoding lets pass: required fields that
      -- protobuf-c would miss (an entry of zero bytes, say).
      local magic = img.magic
      local field, names = split_field(magic)
      if field then -- the head, then the elements one at a time
        for k = 1, #img do
          core.encode_entry(magic, k, img:entry(k, field))
          for _ in img:items(k, field, table_unpack(names)) do end
        end
        return
      end
      for k, e in img:entries() do core.encode_entry(magic, k, e) end
    end)
  else
    err = img
  end
  if not ok then
    local _, entry, fpath, what = check.error_parts(err)
    report("error", file, entry, fpath, what)
    broken[file] = true
    return nil
  end
  return img
end

local function run(d, report)
  local broken = d.broken_images or {}
  d.broken_images = broken
  for _, file in ipairs(check.files_in(d.path)) do
    if is_image_file(file) then
      local path = d.path .. "/" .. file
      local ok, img = pcall(crit.open, path)
      local payloads = ok and img and not img.raw_image and PAYLOAD_MAGICS[img.magic]
      if not payloads then decode_image(path, file, report, broken) end
    end
  end
end

return {
  name = "decode",
  summary = "every image decodes fully, with no trailing bytes",
  run = run,
  decode_image = decode_image,
  PAYLOAD_MAGICS = PAYLOAD_MAGICS,
  is_image_file = is_image_file,
}
