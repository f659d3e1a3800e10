-- crit.archive: container checkpoint archives (podman, CRI-O, kubelet: a
-- tar, plain, gzip or zstd) read in place, and the paths that name what is
-- inside one: ARCHIVE//MEMBER ("bb.tar.gz//checkpoint/core-1.img",
-- "bb.tar.gz//checkpoint" for the images directory). A regular file has
-- nothing under it, so "FILE//..." never names a file of the filesystem:
-- the double slash is unambiguous. crit.layout asks this module when a path
-- is not a file or directory on disk; nothing else needs to know.
local core = require "crit.core"
local lfs = require "lfs"

local setmetatable, ipairs, pairs, type, error = setmetatable, ipairs, pairs, type, error
local io_open, table_sort = io.open, table.sort

local archive = {}

archive.SEP = "//"

-- Archives opened in this process, by path: the table of contents is read
-- once however many images are opened. Weak: an archive goes when nothing
-- (a dir, an image of it) holds it.
local opened = setmetatable({}, { __mode = "v" })
-- archive -> { [dir member] = sorted base names }, built on first listing
local listings = setmetatable({}, { __mode = "k" })

--- archive.sniff(path) -> whether the file starts like an archive (gzip,
--- zstd, or a tar header with a good checksum), by content, not by name.
function archive.sniff(path)
  local f = io_open(path, "rb")
  if not f then return false end
  local head = f:read(512) or ""
  f:close()
  return core.archive_sniff(head)
end

--- archive.open(path) -> the archive (crit.core) | nil, message, errno.
--- Raises "path: what" for a file that is not a readable archive.
function archive.open(path)
  local a = opened[path]
  if a then return a end
  local err, errno
  a, err, errno = core.archive(path)
  if not a then return nil, err, errno end
  opened[path] = a
  return a
end

-- "./checkpoint//core-1.img/" -> "checkpoint/core-1.img", "checkpoint/../
-- spec.dump" -> "spec.dump"; "" is the root. A ".." above the root stays
-- at the root (nothing is ever outside an archive).
local function clean(member)
  local parts = {}
  for p in member:gmatch("[^/]+") do
    if p == ".." then
      parts[#parts] = nil
    elseif p ~= "." then
      parts[#parts + 1] = p
    end
  end
  return table.concat(parts, "/")
end
archive.clean = clean

--- archive.split(path) -> the archive's path, the member ("" for its
--- root) when path is ARCHIVE//MEMBER with ARCHIVE a regular file; else nil.
function archive.split(path)
  local from = 1
  while true do
    local at = path:find("//", from, true)
    if not at then return nil end
    local file = path:sub(1, at - 1)
    local mode = file ~= "" and lfs.attributes(file, "mode")
    if mode == "file" then return file, clean(path:sub(at + 2)) end
    if mode ~= "directory" then return nil end
    from = at + 2
  end
end

local function listing(a)
  local dirs = listings[a]
  if dirs then return dirs end
  dirs = { [""] = {} }
  local function add(parent, base)
    local list = dirs[parent]
    if not list then list = {} dirs[parent] = list end
    if not list[base] then
      list[base] = true
      list[#list + 1] = base
    end
  end
  for _, m in ipairs(a:members()) do
    -- every directory on the way, listed or not
    local parent = ""
    for part in m.name:gmatch("[^/]+") do
      add(parent, part)
      parent = parent == "" and part or parent .. "/" .. part
    end
  end
  for _, list in pairs(dirs) do table_sort(list) end
  listings[a] = dirs
  return dirs
end

--- archive.list(path) -> sorted names in the archive directory ARCHIVE//DIR
--- | nil (not such a path). Raises for a corrupt archive.
function archive.list(path)
  local file, member = archive.split(path)
  if not file then return nil end
  local a = archive.open(file)
  if not a then return nil end
  local names = listing(a)[member]
  if not names then return nil end
  local copy = {}
  for i, n in ipairs(names) do copy[i] = n end
  return copy
end

--- archive.is_dir(path) -> whether path is ARCHIVE//DIR, a directory
--- inside an archive (its root included).
function archive.is_dir(path)
  local file, member = archive.split(path)
  if not file then return false end
  local a = archive.open(file)
  return a ~= nil and listing(a)[member] ~= nil
end

--- archive.open_image(path) -> a crit.core index of ARCHIVE//MEMBER, named
--- path in its errors | nil, message, errno.
function archive.open_image(path)
  local file, member = archive.split(path)
  if not file then return nil end
  local a, err, errno = archive.open(file)
  if not a then return nil, err, errno end
  return a:open(member, path)
end

--- archive.locate(path) -> for ARCHIVE//MEMBER, a path that opens the tar
--- bytes, the member's offset in them and its size | nil, message, errno.
function archive.locate(path)
  local file, member = archive.split(path)
  if not file then return nil end
  local a, err, errno = archive.open(file)
  if not a then return nil, err, errno end
  return a:locate(member)
end

-- Where criu's images are in a container archive: checkpoint/ (podman,
-- CRI-O, kubelet), or the top (a tar of a bare images directory).
local IMAGES_DIRS = { "checkpoint", "" }

--- archive.images_path(path) -> ARCHIVE//checkpoint (or ARCHIVE//. for an
--- archive of a bare images directory) | nil, message. Raises for an
--- archive it cannot read.
function archive.images_path(path)
  local a, err, errno = archive.open(path)
  if not a then return nil, err, errno end
  for _, d in ipairs(IMAGES_DIRS) do
    local prefix = d == "" and "" or d .. "/"
    if a:member(prefix .. "inventory.img") or a:member(prefix .. "pstree.img") then
      return path .. archive.SEP .. (d == "" and "." or d)
    end
  end
  return nil, path .. ": an archive without checkpoint images (no checkpoint/inventory.img)"
end

--- archive.of(path) -> the archive and its path when path is an archive
--- or a path inside one; nil otherwise.
function archive.of(path)
  if type(path) ~= "string" then error("archive.of: a path expected", 2) end
  local file = archive.split(path)
  if not file and lfs.attributes(path, "mode") == "file" and archive.sniff(path) then file = path end
  if not file then return nil end
  local a = archive.open(file)
  return a, file
end

return archive
