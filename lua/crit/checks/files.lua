-- Check: the entries of files.img hold the entry of their type, and their
-- references resolve: the mount of a file (when criu dumped mount
-- namespaces), a fifo's and a tty's regular file, a tty's tty-info,
-- a memfd's inode (memfd.img), and every remap of remap-fpath.img (a ghost
-- file's ghost-file-N.img, a linked remap's file).
local dirlib = require "crit.dir"
local check = require "crit.check"

local ipairs, tostring, string_format = ipairs, tostring, string.format

-- Ids of the entries of an image, by `field` ("id", "inode_id").
local function ids_of(d, name, field)
  local img = d:has(name) and d:image(name)
  local out = {}
  if img then
    for _, e in img:entries() do out[e[field]] = true end
  end
  return out
end

-- criu/include/image.h: remap_id's high bit marks a ghost in old images.
local REMAP_GHOST = 0x80000000

local function check_remaps(d, report)
  if not d:has("remap-fpath") then return end
  local file = "remap-fpath.img"
  for k, e in d:image("remap-fpath"):entries() do
    if not d:file(e.orig_id, "REG") then
      report("error", file, k, "orig_id", string_format("file id %d is not in files.img", e.orig_id))
    end
    local rtype, rid = e.remap_type, e.remap_id
    if rtype == nil then
      rtype = (rid & REMAP_GHOST ~= 0) and "GHOST" or "LINKED"
      rid = rid & ~REMAP_GHOST
    end
    if rtype == "GHOST" and not d:has("ghost-file-" .. rid) then
      report("error", file, k, "remap_id", string_format("ghost-file-%d.img is missing", rid))
    elseif rtype == "LINKED" and not d:file(rid, "REG") then
      report("error", file, k, "remap_id", string_format("linked remap: file id %d is not in files.img", rid))
    end
  end
end

-- The mount ids of the dump's mount namespaces, or nil when criu dumped
-- none (the tasks share criu's: files then carry no mount to check).
local function mount_ids(d)
  local names = check.image_names(d, "^mountpoints%-")
  if #names == 0 then return nil end
  local ids = {}
  for _, name in ipairs(names) do
    for _, e in d:image(name):entries() do ids[e.mnt_id] = true end
  end
  return ids
end

-- tty-data.img: queued input for a tty of the dump (criu: "No tty found
-- to queued data").
local function check_tty_data(d, report, tty_info_ids)
  if not d:has("tty-data") then return end
  for k, e in d:image("tty-data"):entries() do
    if not tty_info_ids[e.tty_id] then
      report("error", "tty-data.img", k, "tty_id",
        string_format("data for tty %d, which no tty of files.img has", e.tty_id))
    end
  end
end

local function run(d, report)
  check_remaps(d, report)
  local mounts = mount_ids(d)
  local ttys = {}
  local img = d:has("files") and d:image("files")
  if not img then return end
  local tty_infos, memfd_inodes
  for k, f in img:entries() do
    local ft = dirlib.FILE_TYPES[f.type]
    local sub = ft and f[ft.field]
    if not ft then
      report("warning", "files.img", k, "type", "unknown file type " .. tostring(f.type))
    elseif not sub then
      report("error", "files.img", k, ft.field, string_format("a %s file without its %s entry", f.type, ft.field))
    else
      if sub.id ~= nil and sub.id ~= f.id then
        report("error", "files.img", k, ft.field .. ".id", string_format("%d, but the file's id is %d", sub.id, f.id))
      end
      if (f.type == "FIFO" or f.type == "TTY") and sub.regf_id and not d:file(sub.regf_id, "REG") then
        report("error", "files.img", k, ft.field .. ".regf_id",
          string_format("file id %d is not in files.img", sub.regf_id))
      end
      if mounts and sub.mnt_id and sub.mnt_id ~= -1 and not mounts[sub.mnt_id] then
        report("error", "files.img", k, ft.field .. ".mnt_id",
          string_format("mount %d is in no mountpoints image", sub.mnt_id))
      end
      if f.type == "TTY" then
        ttys[sub.tty_info_id] = true
        tty_infos = tty_infos or ids_of(d, "tty-info", "id")
        if not tty_infos[sub.tty_info_id] then
          report("error", "files.img", k, "tty.tty_info_id",
            string_format("tty-info.img has no entry %d", sub.tty_info_id))
        end
      elseif f.type == "MEMFD" then
        memfd_inodes = memfd_inodes or ids_of(d, "memfd", "inode_id")
        if not memfd_inodes[sub.inode_id] then
          report("error", "files.img", k, "memfd.inode_id",
            string_format("memfd.img has no inode %d", sub.inode_id))
        end
      end
    end
  end
  check_tty_data(d, report, ttys)
end

return {
  name = "files",
  summary = "files.img complete; mounts, fifo, tty, memfd, remaps resolve",
  run = run,
}
