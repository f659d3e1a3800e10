-- crit.layout: how criu lays a dump out on disk, in one place. Which files
-- of a directory are images and what they are called, the pagemap's flags
-- and page counts, and the page size. crit.dir, crit.check, crit.transform,
-- crit.memory and crit.stats ask this module; none of them knows these rules.
local core = require "crit.core"
local archive = require "crit.archive"
local lfs = require "lfs"

local ipairs, tostring, table_sort = ipairs, tostring, table.sort

local layout = {}

---------------------------------------------------------------------------
-- File names: "core-1" is kept in core-1.img; criu writes its stats images
-- (stats-dump, stats-restore) and irmap-cache without the suffix.

local function unsuffixed(name)
  return name:find("^stats%-") ~= nil or name == "irmap-cache"
end

--- layout.is_image_file(file) -> whether a file of a dump directory is an
--- image (the `parent` link, logs and criu's other files are not).
function layout.is_image_file(file)
  return file:find("%.img$") ~= nil or unsuffixed(file)
end

--- layout.image_name(file) -> the image's name ("core-1.img" -> "core-1",
--- "stats-dump" -> "stats-dump"), or nil when the file is not an image.
function layout.image_name(file)
  if unsuffixed(file) then return file end
  return file:match("^(.+)%.img$")
end

--- layout.image_file(name) -> the file that holds the image `name`:
--- "core-1" -> "core-1.img", "stats-dump" -> "stats-dump". A name that
--- already ends in ".img" is its own file.
function layout.image_file(name)
  if name:find("%.img$") or unsuffixed(name) then return name end
  return name .. ".img"
end

--- layout.kind(name) -> the image kind: its name without the trailing id
--- ("core-31039" -> "core", "pagemap-shmem-1110" -> "pagemap-shmem",
--- "tcp-stream-114bf" -> "tcp-stream", "tmpfs-dev-22.tar.gz" -> "tmpfs-dev"),
--- and the id as a string, or nil.
function layout.kind(name)
  local base = name:gsub("%.tar%.gz$", "")
  local kind, id = base:match("^(.-)%-(%x+)$")
  if kind and kind ~= "stats" then return kind, id end
  return base, nil
end

--- layout.shmem_pagemap_name(shmid) -> "pagemap-shmem-<shmid>": the pagemap
--- of a shared memory segment (anon shared, SysV shm, memfd).
function layout.shmem_pagemap_name(shmid)
  return "pagemap-shmem-" .. tostring(shmid)
end

---------------------------------------------------------------------------
-- Where a dump is: a directory, or a container checkpoint archive (plain,
-- gzip or zstd tar) read in place, whose images directory is named
-- ARCHIVE//checkpoint (crit.archive). Every path below may be either.

--- layout.open(path) -> a crit.core index of the image file | nil,
--- message, errno: a file, or ARCHIVE//MEMBER.
function layout.open(path)
  local index, err, errno = core.open(path)
  if index or path:find("//", 1, true) == nil then return index, err, errno end
  local member, merr, merrno = archive.open_image(path)
  if member or merr then return member, merr, merrno end
  return nil, err, errno
end

--- layout.read(path) -> the bytes of a file that is not an image
--- (descriptors.json beside the images) | nil, message, errno: a file, or
--- ARCHIVE//MEMBER.
function layout.read(path)
  local f, err, errno = io.open(path, "rb")
  if f then
    local s = f:read("a")
    f:close()
    return s
  end
  local file, member = archive.split(path)
  if not file then return nil, err, errno end
  local a, aerr, aerrno = archive.open(file)
  if not a then return nil, aerr, aerrno end
  return a:read(member)
end

--- layout.locate(path) -> where the bytes of a file are: a path to open,
--- the offset in it and the size (a file: itself, 0, its size; a member of
--- an archive: the archive's bytes, the member's offset) | nil for what is
--- not a regular file.
function layout.locate(path)
  local attr = lfs.attributes(path)
  if attr then
    if attr.mode ~= "file" then return nil end
    return path, 0, attr.size
  end
  return archive.locate(path)
end

--- layout.is_dump(path) -> whether path is a dump rather than an image:
--- a directory, an archive, or a directory inside an archive.
function layout.is_dump(path)
  local mode = lfs.attributes(path, "mode")
  if mode == "directory" then return true end
  if mode == "file" then return archive.sniff(path) end
  return archive.is_dir(path)
end

--- layout.dump_path(path) -> the path of the images directory: path
--- itself, or ARCHIVE//checkpoint for an archive | nil, message, errno.
--- Raises for an archive it cannot read.
function layout.dump_path(path)
  if lfs.attributes(path, "mode") == "file" then
    if not archive.sniff(path) then
      return nil, path .. ": not a directory, nor a checkpoint archive (tar, gzip or zstd)", 20
    end
    return archive.images_path(path)
  end
  if lfs.attributes(path, "mode") == "directory" or archive.is_dir(path) then return path end
  local _, err, errno = lfs.attributes(path)
  return nil, path .. ": " .. (err and err:match(":%s*([^:]*)$") or "No such file or directory"),
    errno or 2
end

--- layout.list(path) -> the sorted names of everything in a directory
--- ("." and ".." left out), on disk or in an archive. Raises when it
--- cannot be read.
function layout.list(path)
  if lfs.attributes(path, "mode") ~= "directory" then
    local in_archive = archive.list(path)
    if in_archive then return in_archive end
  end
  local names = {}
  for f in lfs.dir(path) do
    if f ~= "." and f ~= ".." then names[#names + 1] = f end
  end
  table_sort(names)
  return names
end

--- layout.images(path) -> the sorted names of the images in a directory.
function layout.images(path)
  local names = {}
  for _, f in ipairs(layout.list(path)) do
    local n = layout.image_name(f)
    if n then names[#names + 1] = n end
  end
  return names
end

---------------------------------------------------------------------------
-- Image headers. inventory.img's img_version says which header layout every
-- other image has, all or none (criu/image.c: check_img_inventory sets
-- img_common_magic, img_check_magic then wants the head magic or not):
-- 1 (CRTOOLS_IMAGES_V1) the image's magic alone, 2 (CRTOOLS_IMAGES_V1_1)
-- IMG_COMMON or IMG_SERVICE first. inventory.img itself has one magic.
layout.IMG_VERSION = { ["1.0"] = 1, ["1.1"] = 2 }
layout.HEADER_LAYOUT = { [1] = "1.0", [2] = "1.1" }

---------------------------------------------------------------------------
-- Pagemaps: the head, then entries of runs of pages.

-- pagemap_entry.flags (criu/include/pagemap.h).
layout.PE = { PARENT = 1, LAZY = 2, PRESENT = 4 }
local PE = layout.PE

--- layout.nr_pages(e) -> a pagemap_entry's page count. criu 4.2 writes the
--- count in `nr_pages` and 0 in `compat_nr_pages`; older criu has only the latter.
function layout.nr_pages(e)
  return e.nr_pages or e.compat_nr_pages
end

--- layout.pagemap_layout(e) -> the field a pagemap_entry keeps its count in,
--- and the criu that writes that layout: "nr_pages", "4.2 or later" or
--- "compat_nr_pages", "4.1 or earlier".
function layout.pagemap_layout(e)
  if e.nr_pages ~= nil then return "nr_pages", "4.2 or later" end
  return "compat_nr_pages", "4.1 or earlier"
end

--- layout.pagemap_flags(e) -> the entry's PE flags, with criu's meaning for
--- old entries (pagemap.c init_compat_pagemap_entry): in_parent is
--- PE_PARENT, no flags at all is PE_PRESENT.
function layout.pagemap_flags(e)
  return layout.pagemap_flags_of(e.flags, e.in_parent)
end

--- layout.pagemap_flags_of(flags, in_parent) -> the same, from the two
--- fields (read with img:fields, without an entry table).
function layout.pagemap_flags_of(flags, in_parent)
  if in_parent then return PE.PARENT end
  if flags == nil then return PE.PRESENT end
  return flags
end

--- layout.page_kind(flags) -> where the pages of an entry with these PE
--- flags are: "present" (in pages-N), "parent" (in the parent dump),
--- "lazy" (left on the source host) or nil (none of these). PRESENT wins
--- over PARENT, PARENT over LAZY, as criu's restore reads them.
function layout.page_kind(flags)
  if flags & PE.PRESENT ~= 0 then return "present" end
  if flags & PE.PARENT ~= 0 then return "parent" end
  if flags & PE.LAZY ~= 0 then return "lazy" end
  return nil
end

--- layout.page_counts(entries) -> present, lazy, parent: the pages of a list
--- of pagemap_entry (without the head) by where they are.
function layout.page_counts(entries)
  local n = { present = 0, lazy = 0, parent = 0 }
  for _, e in ipairs(entries) do
    local kind = layout.page_kind(layout.pagemap_flags(e))
    if kind then n[kind] = n[kind] + (layout.nr_pages(e) or 0) end
  end
  return n.present, n.lazy, n.parent
end

--- layout.present_pages(img) -> the pages present in pages-N of a pagemap
--- image, its entries decoded one at a time (constant memory).
function layout.present_pages(img)
  local present = 0
  for k, e in img:entries() do
    if k > 1 and layout.page_kind(layout.pagemap_flags(e)) == "present" then
      present = present + (layout.nr_pages(e) or 0)
    end
  end
  return present
end

---------------------------------------------------------------------------
-- The page size: the kernel's AT_PAGESZ in the task's saved auxv
-- (mm_entry.mm_saved_auxv, pairs of type and value); 4096 when it does not
-- say. aarch64 and ppc64 kernels run with 16 or 64 KiB pages.

layout.AT_PAGESZ = 6
layout.DEFAULT_PAGE_SIZE = 4096

--- layout.page_size(mm) -> the page size of the task of an mm_entry (nil:
--- the default).
function layout.page_size(mm)
  local auxv = mm and mm.mm_saved_auxv
  if auxv then
    for i = 1, #auxv - 1, 2 do
      if auxv[i] == layout.AT_PAGESZ and auxv[i + 1] > 0 then return auxv[i + 1] end
    end
  end
  return layout.DEFAULT_PAGE_SIZE
end

return layout
