-- A whole dump in one process: `decode DIR -o OUTDIR` and `encode OUTDIR
-- -o DIR`. Python crit takes one image a process; a dump of a few dozen
-- images then costs a few dozen interpreter start-ups.
--
-- Every protobuf image NAME becomes NAME.json (crit's JSON, byte for byte
-- what `decode -i NAME` writes). Files that are not protobuf images (raw
-- images such as pages-N.img, tmpfs tarballs, a dump.log) cannot be
-- decoded, by crit either: they are copied unchanged, so that OUTDIR
-- holds the whole dump and encoding it back gives DIR again, every file
-- byte for byte. Sub-directories are left out (criu writes none).
local core = require "crit.core"
local layout = require "crit.layout"
local lfs = require "lfs"

local error, ipairs, pcall = error, ipairs, pcall

local dumpdir = {}

local JSON_SUFFIX = ".json"

--- dumpdir.is_dir(path) -> whether path is a directory.
function dumpdir.is_dir(path)
  return path ~= nil and lfs.attributes(path, "mode") == "directory"
end

local function make_dir(path)
  if dumpdir.is_dir(path) then return end
  local ok, err = lfs.mkdir(path)
  if not ok then error(core.error{ file = path, message = tostring(err) }, 0) end
end

-- The regular files of a directory, sorted.
local function files_of(path)
  local names = {}
  for _, name in ipairs(layout.list(path)) do
    if lfs.attributes(path .. "/" .. name, "mode") == "file" then names[#names + 1] = name end
  end
  return names
end

-- from copied to to, atomically (core.output), its bytes unchanged.
local function copy(from, to)
  local f, err = io.open(from, "rb")
  if not f then error(err, 0) end
  local out <close> = core.output(to)
  while true do
    local chunk = f:read(1 << 20)
    if not chunk then break end
    out:write(chunk)
  end
  f:close()
  out:finish()
end

-- The image at path, or nil when it is no protobuf image (raw, or no
-- image at all: both are copied).
local function protobuf_image(path)
  local ok, index = pcall(core.open, path)
  if not ok or not index then return nil end
  if index:info().raw then
    index:close()
    return nil
  end
  return index
end

--- decode(dir, outdir [, pretty]): every image of dir as crit's JSON in outdir.
function dumpdir.decode(dir, outdir, pretty)
  make_dir(outdir)
  for _, name in ipairs(files_of(dir)) do
    local from = dir .. "/" .. name
    local index = protobuf_image(from)
    if index then
      local out <close> = core.output(outdir .. "/" .. name .. JSON_SUFFIX)
      core.json_write(index, out, { pretty = pretty })
      out:finish()
      index:close()
    else
      copy(from, outdir .. "/" .. name)
    end
  end
  return true
end

--- encode(outdir, dir): the images of NAME.json in outdir back as NAME in
--- dir; every other file copied.
function dumpdir.encode(outdir, dir)
  make_dir(dir)
  for _, name in ipairs(files_of(outdir)) do
    local from = outdir .. "/" .. name
    if name:sub(-#JSON_SUFFIX) == JSON_SUFFIX and #name > #JSON_SUFFIX then
      local input, err = io.open(from, "rb")
      if not input then error(err, 0) end
      local out <close> = core.output(dir .. "/" .. name:sub(1, -#JSON_SUFFIX - 1))
      core.json_read(input, out, from)
      out:finish()
      input:close()
    else
      copy(from, dir .. "/" .. name)
    end
  end
  return true
end

return dumpdir
