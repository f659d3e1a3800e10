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
--
-- All or nothing: the files are written into a new directory beside
-- OUTDIR (OUTDIR.crit-tmp-*, same filesystem), which becomes OUTDIR (or
-- whose files are renamed into an OUTDIR that exists) only once every
-- file is written. A full disk half-way leaves OUTDIR as it was.
local core = require "crit.core"
local layout = require "crit.layout"
local transform = require "crit.transform"
local lfs = require "lfs"

local error, ipairs, pcall, tostring = error, ipairs, pcall, tostring
local os_rename = os.rename

local dumpdir = {}

local JSON_SUFFIX = ".json"

--- dumpdir.is_dir(path) -> whether path is a directory.
function dumpdir.is_dir(path)
  return path ~= nil and lfs.attributes(path, "mode") == "directory"
end

-- The regular files of a directory, sorted.
local function files_of(path)
  local names = {}
  for _, name in ipairs(layout.list(path)) do
    if lfs.attributes(path .. "/" .. name, "mode") == "file" then names[#names + 1] = name end
  end
  return names
end

-- from copied to to (named `name` in errors), atomically (core.output),
-- its bytes unchanged.
local function copy(from, to, name)
  local f, err = io.open(from, "rb")
  if not f then error(err, 0) end
  local out <close> = core.output(to, { name = name })
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

-- The files of the staging directory into outdir: the directory itself
-- when outdir does not exist, else file by file.
local function commit(stage, outdir)
  local ok, err
  if not lfs.symlinkattributes(outdir) then
    ok, err = os_rename(stage, outdir)
  else
    ok = true
    for _, name in ipairs(layout.list(stage)) do
      ok, err = os_rename(stage .. "/" .. name, outdir .. "/" .. name)
      if not ok then break end
    end
    if ok then lfs.rmdir(stage) end
  end
  if not ok then error(core.error{ file = outdir, message = tostring(err) }, 0) end
end

-- fill(write) writes each file with write(name) -> the path to write it
-- at and the name errors give it; all or nothing (see the top).
local function staged(outdir, fill)
  if lfs.symlinkattributes(outdir) and not dumpdir.is_dir(outdir) then
    error(core.error{ file = outdir, message = "not a directory" }, 0)
  end
  local stage = transform.temp_dir(outdir)
  local ok, err = pcall(fill, function(name) return stage .. "/" .. name, outdir .. "/" .. name end)
  if ok then ok, err = pcall(commit, stage, outdir) end
  if not ok then
    transform.remove_tree(stage)
    error(err, 0)
  end
  return true
end

--- decode(dir, outdir [, pretty]): every image of dir as crit's JSON in outdir.
function dumpdir.decode(dir, outdir, pretty)
  return staged(outdir, function(at)
    for _, name in ipairs(files_of(dir)) do
      local from = dir .. "/" .. name
      local index = protobuf_image(from)
      if index then
        local path, shown = at(name .. JSON_SUFFIX)
        local out <close> = core.output(path, { name = shown })
        core.json_write(index, out, { pretty = pretty })
        out:finish()
        index:close()
      else
        copy(from, at(name))
      end
    end
  end)
end

--- encode(outdir, dir): the images of NAME.json in outdir back as NAME in
--- dir; every other file copied.
function dumpdir.encode(outdir, dir)
  return staged(dir, function(at)
    for _, name in ipairs(files_of(outdir)) do
      local from = outdir .. "/" .. name
      if name:sub(-#JSON_SUFFIX) == JSON_SUFFIX and #name > #JSON_SUFFIX then
        local input, err = io.open(from, "rb")
        if not input then error(err, 0) end
        local path, shown = at(name:sub(1, -#JSON_SUFFIX - 1))
        local out <close> = core.output(path, { name = shown })
        core.json_read(input, out, from)
        out:finish()
        input:close()
      else
        copy(from, at(name))
      end
    end
  end)
end

return dumpdir
