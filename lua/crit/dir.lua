--- A checkpoint directory: the images of one `criu dump`, opened lazily and
-- cached, with the knowledge of how they refer to each other (pstree ->
-- core, ids -> fdinfo -> files, mm -> vmas, pagemap) in one place: images
-- by name, the process tree, files and sockets, namespaces, shared memory
-- (memfd inodes, pagemap-shmem, SysV shm), the `parent` dump; and the
-- tables the commands share (task states, VMA kinds, file types, pagemap
-- layouts and flags).
--
--   local d = assert(dir.open("dump"))
--   for _, t in ipairs(assert(d:tasks())) do print(t.pid, t.comm, t.state) end
--
-- Two tiers of errors, as in crit.open: an image that is not there returns
-- nil, err, errno; a corrupt image (or one of the wrong type) raises. Either
-- err is a crit.Error (see crit.error) naming the file: tostring(err) is
-- the line to print.
-- Nothing is read until it is asked for, and nothing is read twice.
local Image = require "crit.image"
local layout = require "crit.layout"
local crit_error = require("crit.core").error

local setmetatable, rawset, type, error, tostring, ipairs =
  setmetatable, rawset, type, error, tostring, ipairs
local string_format = string.format
local table_sort, pairs = table.sort, pairs

local dir = {}

-- compel's task states (compel/include/uapi/task-state.h), as criu saves
-- them in core.tc.task_state. criu dumps a zombie as "dead" (TASK_DEAD).
dir.TASK_STATES = { [1] = "alive", [2] = "dead", [3] = "stopped", [6] = "zombie" }

-- vma_entry.status bits (criu/include/image.h).
dir.VMA = {
  REGULAR = 1 << 0, STACK = 1 << 1, VSYSCALL = 1 << 2, VDSO = 1 << 3,
  HEAP = 1 << 5, FILE_PRIVATE = 1 << 6, FILE_SHARED = 1 << 7,
  ANON_SHARED = 1 << 8, ANON_PRIVATE = 1 << 9, SYSVIPC = 1 << 10,
  SOCKET = 1 << 11, VVAR = 1 << 12, AIORING = 1 << 13, MEMFD = 1 << 14,
}

-- The fields of vma_entry (images/vma.proto), for d:vma_fields.
dir.VMA_FIELDS = { "start", "end", "pgoff", "shmid", "prot", "flags", "status", "fd", "madv", "fdflags" }

-- For each fd type of files.img: the field of file_entry that holds its
-- entry, and the image that held those entries before files.img.
dir.FILE_TYPES = {
  REG = { field = "reg", legacy = "reg-files" },
  INETSK = { field = "isk", legacy = "inetsk" },
  NS = { field = "nsf", legacy = "ns-files" },
  PACKETSK = { field = "psk", legacy = "packetsk" },
  NETLINKSK = { field = "nlsk", legacy = "netlinksk" },
  EVENTFD = { field = "efd", legacy = "eventfd" },
  EVENTPOLL = { field = "epfd", legacy = "eventpoll" },
  SIGNALFD = { field = "sgfd", legacy = "signalfd" },
  TUNF = { field = "tunf", legacy = "tunfile" },
  TIMERFD = { field = "tfd", legacy = "timerfd" },
  INOTIFY = { field = "ify", legacy = "inotify" },
  FANOTIFY = { field = "ffy", legacy = "fanotify" },
  EXT = { field = "ext", legacy = "ext-files" },
  UNIXSK = { field = "usk", legacy = "unixsk" },
  FIFO = { field = "fifo", legacy = "fifo" },
  PIPE = { field = "pipe", legacy = "pipes" },
  TTY = { field = "tty", legacy = "tty" },
  MEMFD = { field = "memfd" },
  BPFMAP = { field = "bpf", legacy = "bpfmap-file" },
  PIDFD = { field = "pidfd", legacy = "pidfd" },
}
-- The order legacy images are searched in when the type is not known.
local LEGACY_ORDER = {
  "REG", "PIPE", "UNIXSK", "INETSK", "FIFO", "TTY", "EVENTFD", "EVENTPOLL",
  "SIGNALFD", "TIMERFD", "INOTIFY", "FANOTIFY", "PACKETSK", "NETLINKSK", "NS",
  "TUNF", "EXT", "BPFMAP", "PIDFD",
}

-- The dump's layout on disk is crit.layout's; these names stay for the
-- commands, checks and scripts written against crit.dir.
dir.nr_pages = layout.nr_pages
dir.pagemap_layout = layout.pagemap_layout
dir.image_file = layout.image_file
dir.kind = layout.kind
dir.PE = layout.PE
dir.pagemap_flags = layout.pagemap_flags
dir.page_counts = layout.page_counts
dir.shmem_pagemap_name = layout.shmem_pagemap_name
-- The page size when a dump does not say: use d:page_size().
dir.PAGE_SIZE = layout.DEFAULT_PAGE_SIZE
local image_file = layout.image_file

local Dir = {}
Dir.__index = Dir

--- dir.of(d) -> d when it is a dir object, else dir.open(d) (a path): for
--- the functions that take either.
function dir.of(d)
  if type(d) == "string" then return dir.open(d) end
  return d
end

--- open(path) -> dir | nil, message, errno. Opens nothing but the directory.
--- path may be a container checkpoint archive (tar, gzip, zstd): its
--- table of contents is read, and d.path is ARCHIVE//checkpoint (see
--- crit.archive); the images are read from it in place.
function dir.open(path)
  if type(path) ~= "string" then error("dir.open: a path expected", 2) end
  local err, errno
  path, err, errno = layout.dump_path(path)
  if not path then return nil, err, errno end
  return setmetatable({
    path = path,
    _prefix = path:find("/$") and path or path .. "/",
    _images = {},   -- name -> image, or {message, errno} for an absent one
    _files = nil,   -- files.img by id, built on first d:file()
    _legacy = {},   -- fd type -> { [id] = entry } of its legacy image
  }, Dir)
end

--- d:image(name) -> image | nil, message, errno. name without ".img":
--- "pstree", "core-31039", "pagemap-shmem-5", "stats-dump".
function Dir:image(name)
  local img = self._images[name]
  if img then
    if img.missing then return nil, img.missing, img.errno end
    return img
  end
  local file = self._prefix .. image_file(name)
  local index, err, errno = layout.open(file)
  if not index then
    -- layout.open says "FILE: why" for a file of ours, the whole line
    -- for anything else (a member of an archive).
    if type(err) == "string" then
      local why = err:sub(1, #file + 2) == file .. ": " and err:sub(#file + 3)
      err = why and crit_error{ file = file, message = why } or crit_error{ message = err }
    end
    self._images[name] = { missing = err, errno = errno }
    return nil, err, errno
  end
  img = Image.from_index(index)
  self._images[name] = img
  return img
end

--- d:read(file) -> the bytes of a file of the dump that is not an image
--- ("descriptors.json") | nil, message, errno.
function Dir:read(file)
  return layout.read(self._prefix .. file)
end

--- d:locate(file) -> path, offset, size: where the bytes of a file of the
--- dump are, to open and read from that offset (a file: itself from 0; an
--- image inside an archive: the archive's tar bytes) | nil.
function Dir:locate(file)
  return layout.locate(self._prefix .. file)
end

--- d:has(name) -> whether the image is in the directory.
function Dir:has(name)
  return (self:image(name)) ~= nil
end

--- d:path_of(name) -> the path of the file that holds the image `name`.
function Dir:path_of(name)
  return self._prefix .. image_file(name)
end

--- d:unchanged(name) -> whether the image `name`, as this object has it, is
--- the bytes of its file: not opened yet, or opened from that file and not
--- edited (no entry handed out for editing, see img:unchanged()), nor
--- replaced or removed with d:set_image.
function Dir:unchanged(name)
  local img = self._images[name]
  if img == nil then return true end
  if img.missing then return not img.removed end
  return img:path() == self:path_of(name) and img:unchanged()
end

--- d:opened() -> the sorted names of the images this object has looked
--- for: opened, found absent, or set with d:set_image.
function Dir:opened()
  local names = {}
  for n in pairs(self._images) do names[#names + 1] = n end
  table_sort(names)
  return names
end

--- d:close(): close every image this object opened (their mappings go);
--- the object must not be used afterwards. Also `local d <close> = ...`.
function Dir:close()
  for _, img in pairs(self._images) do
    if not img.missing then img:close() end
  end
end
Dir.__close = Dir.close

--- d:set_image(name, img): in this object only (nothing is written), the
--- image `name` is now img, or absent if img is nil (crit.transform writes
--- the result). The indexes built from images (tasks, files by id) are
--- dropped, to be rebuilt from the new images.
function Dir:set_image(name, img)
  if img == nil then
    self._images[name] = { missing = crit_error{ file = self:path_of(name), message = "removed" }, errno = 2,
      removed = true }
  else
    self._images[name] = img
  end
  for k in pairs(self) do
    if k ~= "_images" and k ~= "_prefix" and type(k) == "string" and k:find("^_") then
      self[k] = nil
    end
  end
  self._legacy = {}
end

-- The image `name`, which must hold `magic` images, or nil, err, errno.
local function typed_image(self, name, magic)
  local img, err, errno = self:image(name)
  if not img then return nil, err, errno end
  if img.magic ~= magic then
    error(crit_error{ file = self:path_of(name),
      message = string_format("a %s image expected, this is %s", magic, tostring(img.magic)) }, 0)
  end
  return img
end

-- The one entry of an image such as core-N or mm-N.
local function single_entry(self, name, magic)
  local img, err, errno = typed_image(self, name, magic)
  if not img then return nil, err, errno end
  local e = img[1]
  if not e then error(crit_error{ file = self:path_of(name), message = "no entry" }, 0) end
  return e
end

-- Every entry of an image, decoded once (img[k] caches).
local function all_entries(self, name, magic)
  local img, err, errno = typed_image(self, name, magic)
  if not img then return nil, err, errno end
  local list = {}
  for k = 1, #img do list[k] = img[k] end
  return list
end

-- A pagemap image and its head (entry 1) | nil, message, errno.
local function pagemap_image(self, name)
  local img, err, errno = typed_image(self, name, "PAGEMAP")
  if not img then return nil, err, errno end
  local head = img[1]
  if not head then error(crit_error{ file = self:path_of(name), message = "no entry" }, 0) end
  return img, head
end

-- A pagemap's head and the list of its other entries | nil, message, errno.
local function pagemap_list(self, name)
  local img, head, errno = pagemap_image(self, name)
  if not img then return nil, head, errno end
  local entries = {}
  for k = 2, #img do entries[k - 1] = img[k] end
  return head, entries
end

--- d:pstree() -> the pstree entries, in the image's order.
function Dir:pstree()
  return all_entries(self, "pstree", "PSTREE")
end

---------------------------------------------------------------------------
-- Tasks: the process tree, with each task's state read from its core image
-- only when asked for.

local Task = {}
local task_lazy = {}

function task_lazy.core(t)
  local c, err = t._dir:core(t.pid)
  if not c then error(err, 0) end
  return c
end
function task_lazy.state(t)
  local tc = t.core.tc
  local s = tc and tc.task_state
  return dir.TASK_STATES[s] or s
end
function task_lazy.zombie(t) return t.state == "dead" or t.state == "zombie" end
function task_lazy.stopped(t) return t.state == "stopped" end
function task_lazy.comm(t)
  local tc = t.core.tc
  return tc and tc.comm
end

Task.__index = function(t, k)
  local f = task_lazy[k]
  if not f then return nil end
  local v = f(t)
  rawset(t, k, v)
  return v
end

--- d:tasks() -> list of tasks in pstree order | nil, err, errno.
--- A task: pid, ppid, pgid, sid, threads (the pstree entry's: criu leaves
--- them undefined for a zombie), entry (its pstree entry, from 1), parent
--- (task or nil), children (list).
--- Read on first use from core-PID (raises if it is missing): core,
--- state ("alive", "dead" as criu saves a zombie, "stopped", "zombie", or
--- the number), zombie, stopped, comm. tasks.roots: tasks without a parent
--- in the dump (the one with ppid 0, in a well-formed dump).
function Dir:tasks()
  if self._tasks then return self._tasks end
  local entries, err, errno = self:pstree()
  if not entries then return nil, err, errno end
  local tasks, by_pid, roots, entry_of = {}, {}, {}, {}
  for k, e in ipairs(entries) do
    local t = setmetatable({
      _dir = self, pid = e.pid, ppid = e.ppid, pgid = e.pgid, sid = e.sid,
      threads = e.threads or {}, entry = k, children = {},
    }, Task)
    tasks[k] = t
    -- one task per pid: coredump would write the same core once per copy
    if entry_of[t.pid] then
      return nil, crit_error{ file = self:path_of("pstree"), entry = k, path = "pid",
        message = string_format("%s is already the task of entry %d", tostring(t.pid), entry_of[t.pid]) }
    end
    entry_of[t.pid] = k
    by_pid[t.pid] = t
  end
  for _, t in ipairs(tasks) do
    local p = t.ppid ~= 0 and by_pid[t.ppid]
    if p then
      t.parent = p
      p.children[#p.children + 1] = t
    else
      roots[#roots + 1] = t
    end
  end
  tasks.roots = roots
  self._tasks, self._by_pid = tasks, by_pid
  return tasks
end

--- d:task(pid) -> the task | nil, message.
function Dir:task(pid)
  local tasks, err, errno = self:tasks()
  if not tasks then return nil, err, errno end
  local t = self._by_pid[pid]
  if not t then return nil, self.path .. ": no task " .. tostring(pid) .. " in pstree.img" end
  return t
end

---------------------------------------------------------------------------
-- Per-task images. Each returns the entry, or nil, message, errno when the
-- image is not there (a zombie has only its core image).

--- d:core(pid) -> core_entry of the task or thread.
function Dir:core(pid)
  return single_entry(self, "core-" .. pid, "CORE")
end

--- d:ids(pid) -> task_kobj_ids_entry (ids-PID, or core's `ids` in old dumps).
function Dir:ids(pid)
  local ids, err, errno = single_entry(self, "ids-" .. pid, "IDS")
  if ids then return ids end
  if self:has("core-" .. pid) then
    local c = self:core(pid)
    if c.ids then return c.ids end
  end
  return nil, err, errno
end

--- d:mm(pid) -> mm_entry.
function Dir:mm(pid)
  return single_entry(self, "mm-" .. pid, "MM")
end

--- d:mm_head(pid) -> mm_entry without its `vmas` (d:vma_fields reads
--- them): a task with a million VMAs costs no more than one with ten. The
--- whole entry, vmas and all, when d:mm(pid) has read it.
function Dir:mm_head(pid)
  local heads = self._mm_heads
  if not heads then
    heads = {}
    self._mm_heads = heads
  end
  local e = heads[pid]
  if e then return e end
  local img, err, errno = typed_image(self, "mm-" .. pid, "MM")
  if not img then return nil, err, errno end
  e = img:entry(1, "vmas")
  if not e then error(self._prefix .. image_file("mm-" .. pid) .. ": no entry", 0) end
  heads[pid] = e
  return e
end

local function no_vma() return nil end

--- d:vma_fields(pid, name, ...) -> an iterator of i and the values of
--- those fields of each VMA of the task, in order (`for i, s, e in
--- d:vma_fields(pid, "start", "end") do`): mm's vmas, or vmas-PID's
--- entries in old dumps, read from the image's bytes without a table per
--- VMA | nil, message, errno. At most 16 names.
function Dir:vma_fields(pid, ...)
  local head, err, errno = self:mm_head(pid)
  if not head then return nil, err, errno end
  local img = self:image("mm-" .. pid)
  if img:items(1, "vmas", ...)() then return img:items(1, "vmas", ...) end
  if not self:has("vmas-" .. pid) then return no_vma end
  return typed_image(self, "vmas-" .. pid, "VMAS"):fields(...)
end

--- d:vmas(pid) -> list of vma_entry: mm's, or vmas-PID's in old dumps.
--- A table per VMA: d:vma_fields reads them in constant memory.
function Dir:vmas(pid)
  local mm, err, errno = self:mm(pid)
  if not mm then return nil, err, errno end
  if mm.vmas and #mm.vmas > 0 then return mm.vmas end
  return all_entries(self, "vmas-" .. pid, "VMAS") or {}
end

--- d:fs(pid) -> fs_entry (cwd_id, root_id, umask).
function Dir:fs(pid)
  return single_entry(self, "fs-" .. pid, "FS")
end

--- d:fdinfo(pid) -> list of fdinfo_entry (fd, type, id, flags) of the
--- task's fd table (fdinfo-N, N = ids.files_id). A table per fd, kept:
--- d:fd_fields reads them in constant memory.
function Dir:fdinfo(pid)
  local ids, err, errno = self:ids(pid)
  if not ids then return nil, err, errno end
  return all_entries(self, "fdinfo-" .. ids.files_id, "FDINFO")
end

--- d:fd_fields(pid, name, ...) -> an iterator of k and the values of
--- those fields of each fdinfo_entry of the task's fd table (`for _, fd,
--- type, id in d:fd_fields(pid, "fd", "type", "id") do`), read from the
--- image's bytes with no table per fd | nil, message, errno.
function Dir:fd_fields(pid, ...)
  local ids, err, errno = self:ids(pid)
  if not ids then return nil, err, errno end
  local img
  img, err, errno = typed_image(self, "fdinfo-" .. ids.files_id, "FDINFO")
  if not img then return nil, err, errno end
  return img:fields(...)
end

--- d:pagemap(pid) -> pagemap_head, list of pagemap_entry (use dir.nr_pages).
function Dir:pagemap(pid)
  return pagemap_list(self, "pagemap-" .. pid)
end

-- The head and an iterator of the other entries of a pagemap image.
local function pagemap_iter(self, name)
  local img, head, errno = pagemap_image(self, name)
  if not img then return nil, head, errno end
  local next_entry = img:entries()
  next_entry()  -- the head
  return head, function()
    local _, e = next_entry()
    return e
  end
end

--- d:pagemap_entries(pid) -> pagemap_head, an iterator of pagemap_entry
--- (`for e in it do`) that decodes each entry as it goes and keeps none:
--- constant memory over a huge pagemap | nil, message, errno.
function Dir:pagemap_entries(pid)
  return pagemap_iter(self, "pagemap-" .. pid)
end

--- d:shmem_pagemap_entries(shmid) -> as d:pagemap_entries, of the
--- pagemap-shmem image of that shared memory.
function Dir:shmem_pagemap_entries(shmid)
  return pagemap_iter(self, dir.shmem_pagemap_name(shmid))
end

--- d:pagemap_runs(pid) -> pagemap_head, an iterator of the runs of pages
--- (`for k, vaddr, nr_pages, compat_nr_pages, flags in it do`; the count
--- is in one of the two, see dir.nr_pages), read straight from the
--- image's bytes: no table per entry, constant memory | nil, message, errno.
function Dir:pagemap_runs(pid)
  local img, err, errno = typed_image(self, "pagemap-" .. pid, "PAGEMAP")
  if not img then return nil, err, errno end
  local head = img:entry(1)
  if not head then error(crit_error{ file = self:path_of("pagemap-" .. pid), message = "no entry" }, 0) end
  local runs = img:fields("vaddr", "nr_pages", "compat_nr_pages", "flags")
  runs() -- the head
  return head, runs
end

---------------------------------------------------------------------------
-- Files, by id: files.img (criu 3.x and later) or the per-type images of
-- older dumps (reg-files.img, pipes.img, ...).

-- id -> the position of the first entry with that id (img[k] decodes it):
-- numbers, not entries, so that a huge files.img costs little to index.
local function index_by_id(img)
  local byid = {}
  for k, e in img:entries() do
    if e.id ~= nil and byid[e.id] == nil then byid[e.id] = k end
  end
  return byid
end

local function legacy_entry(self, ftype, id)
  local ft = dir.FILE_TYPES[ftype]
  if not ft or not ft.legacy then return nil end
  local byid = self._legacy[ftype]
  if not byid then
    local img = self:image(ft.legacy)
    byid = img and index_by_id(img) or {}
    self._legacy[ftype] = byid
  end
  local k = byid[id]
  if k then return { type = ftype, id = id, [ft.field] = self:image(ft.legacy)[k] } end
  return nil
end

-- The file of a legacy image, of that type or of any.
local function legacy_file(self, id, ftype)
  if ftype then return legacy_entry(self, ftype, id) end
  for _, t in ipairs(LEGACY_ORDER) do
    local f = legacy_entry(self, t, id)
    if f then return f end
  end
  return nil
end

--- d:file(id [, type]) -> file_entry | nil. A file_entry as files.img has
--- it: { type = "REG", id = 5, reg = {...} }; the field that holds the
--- type's entry is dir.FILE_TYPES[type].field. Entries of legacy images
--- come back in the same shape. `type` narrows the legacy search.
function Dir:file(id, ftype)
  local files = self._files
  if not files then
    local img = typed_image(self, "files", "FILES")
    files = img and index_by_id(img) or {}
    self._files = files
  end
  local k = files[id]
  if k then return self:image("files")[k] end
  return legacy_file(self, id, ftype)
end

--- d:files_of(ids [, type]) -> { [id] = file_entry } of the ids of the set
--- ids ({ [id] = true }), as d:file finds them, but in one pass over
--- files.img that keeps only those: a few files of a huge files.img cost
--- little memory. The entries are passing copies.
function Dir:files_of(ids, ftype)
  local found = {}
  local img = typed_image(self, "files", "FILES")
  if img then
    -- Only the ids are read; only the entries wanted are decoded.
    for k, id in img:fields("id") do
      if ids[id] and found[id] == nil then found[id] = img:entry(k) end
    end
  end
  for id in pairs(ids) do
    if found[id] == nil then found[id] = legacy_file(self, id, ftype) end
  end
  return found
end

---------------------------------------------------------------------------
-- The directory's contents: image names, sizes, the dump's own records.

--- d:names() -> sorted list of the names of every image in the directory
--- ("core-1", "pages-1", "stats-dump", ...), as this object has them: with
--- the images d:set_image added, without those it removed. The `parent`
--- link, logs and other files are not images and are not listed.
function Dir:names()
  if self._names then return self._names end
  local set = {}
  for _, n in ipairs(layout.images(self.path)) do set[n] = true end
  for n, img in pairs(self._images) do
    if img.missing then set[n] = nil else set[n] = true end
  end
  local names = {}
  for n in pairs(set) do names[#names + 1] = n end
  table_sort(names)
  self._names = names
  return names
end

--- d:size(name) -> the image file's size in bytes | nil, message, errno.
function Dir:size(name)
  local img, err, errno = self:image(name)
  if not img then return nil, err, errno end
  return img:file_size()
end

--- d:inventory() -> inventory_entry | nil, message, errno.
function Dir:inventory()
  return single_entry(self, "inventory", "INVENTORY")
end

--- d:stats([which]) -> dump_stats_entry (which "dump", the default) or
--- restore_stats_entry ("restore") of stats-dump / stats-restore | nil, ...
function Dir:stats(which)
  which = which or "dump"
  local e, err, errno = single_entry(self, "stats-" .. which, "STATS")
  if not e then return nil, err, errno end
  return e[which]
end

---------------------------------------------------------------------------
-- Memory: pagemap flags, VMA kinds, shared memory.

--- d:page_size([pid]) -> the page size the task ran with (its mm image's
--- auxv), or without pid the dump's: that of the first task of pstree
--- with an mm image. 4096 when the dump does not say.
function Dir:page_size(pid)
  if pid then
    return layout.page_size(self:has("mm-" .. pid) and self:mm_head(pid) or nil)
  end
  for _, t in ipairs(self:tasks() or {}) do
    if self:has("mm-" .. t.pid) then return layout.page_size(self:mm_head(t.pid)) end
  end
  return layout.DEFAULT_PAGE_SIZE
end

--- dir.vma_kind(status) -> what backs a VMA: "sysv-shm", "memfd",
--- "anon-shared", "file", "vsyscall", "vvar", "vdso", "aio", "packet"
--- (an AF_PACKET ring) or "anon".
function dir.vma_kind(status)
  local V = dir.VMA
  if status & V.SYSVIPC ~= 0 then return "sysv-shm" end
  if status & V.MEMFD ~= 0 then return "memfd" end
  if status & V.ANON_SHARED ~= 0 then return "anon-shared" end
  if status & (V.FILE_PRIVATE | V.FILE_SHARED) ~= 0 then return "file" end
  if status & V.VSYSCALL ~= 0 then return "vsyscall" end
  if status & V.VVAR ~= 0 then return "vvar" end
  if status & V.VDSO ~= 0 then return "vdso" end
  if status & V.AIORING ~= 0 then return "aio" end
  if status & V.SOCKET ~= 0 then return "packet" end
  return "anon"
end

-- vma_entry.flags: mmap's flags (linux/mman.h); the stack grows down.
dir.MAP_GROWSDOWN = 0x0100

--- dir.vma_role(vma) -> "heap", "stack" or nil: what an anonymous
--- mapping (a vma_entry) is used for. criu marks the heap; it does not
--- mark [stack], which is the anonymous mapping that grows down
--- (MAP_GROWSDOWN in vma.flags).
function dir.vma_role(vma)
  local st = vma.status
  if st & dir.VMA.HEAP ~= 0 then return "heap" end
  if st & dir.VMA.STACK ~= 0 then return "stack" end
  if dir.vma_kind(st) == "anon" and (vma.flags or 0) & dir.MAP_GROWSDOWN ~= 0 then return "stack" end
  return nil
end

--- d:shmem_pagemap(shmid) -> pagemap_head, list of pagemap_entry of that
--- shared memory (addresses are offsets into it) | nil, message, errno.
function Dir:shmem_pagemap(shmid)
  return pagemap_list(self, dir.shmem_pagemap_name(shmid))
end

--- d:memfd_inode(inode_id) -> memfd_inode_entry of memfd.img (name, size,
--- shmid of its pagemap-shmem, seals) | nil.
function Dir:memfd_inode(inode_id)
  local byid = self._memfd_inodes
  if not byid then
    byid = {}
    local img = typed_image(self, "memfd", "MEMFD_INODE")
    if img then
      for _, e in img:entries() do byid[e.inode_id] = e end
    end
    self._memfd_inodes = byid
  end
  return byid[inode_id]
end

--- d:sysv_shm(ipc_ns_id, shmid) -> ipc_shm_entry (desc.key, desc.id, size,
--- in_pagemaps) of ipcns-shm-<ipc_ns_id> | nil.
function Dir:sysv_shm(ipc_ns_id, shmid)
  if ipc_ns_id == nil then return nil end
  self._sysv = self._sysv or {}
  local byid = self._sysv[ipc_ns_id]
  if not byid then
    byid = {}
    local img = typed_image(self, "ipcns-shm-" .. tostring(ipc_ns_id), "IPCNS_SHM")
    if img then
      for _, e in img:entries() do byid[e.desc.id] = e end
    end
    self._sysv[ipc_ns_id] = byid
  end
  return byid[shmid]
end

---------------------------------------------------------------------------
-- Every file, and the sockets among them.

-- f(file_entry) for every file of the dump (files.img's, then the entries
-- of legacy per-type images not already there), each decoded as it comes:
-- only a dump with legacy images keeps a set of the ids seen.
local function each_file(self, f)
  local legacy = {}
  for _, ftype in ipairs(LEGACY_ORDER) do
    if self:has(dir.FILE_TYPES[ftype].legacy) then legacy[#legacy + 1] = ftype end
  end
  local seen = #legacy > 0 and {} or nil
  local img = typed_image(self, "files", "FILES")
  if img then
    for _, e in img:entries() do
      f(e)
      if seen then seen[e.type .. "." .. tostring(e.id)] = true end
    end
  end
  for _, ftype in ipairs(legacy) do
    local ft = dir.FILE_TYPES[ftype]
    for _, e in self:image(ft.legacy):entries() do
      if e.id ~= nil and not seen[ftype .. "." .. tostring(e.id)] then
        f({ type = ftype, id = e.id, [ft.field] = e })
      end
    end
  end
end

--- d:files() -> list of every file_entry (files.img's, then the entries of
--- legacy per-type images not already there), in the file_entry shape of
--- d:file(). A table per file: d:file_types() counts them in constant
--- memory.
function Dir:files()
  if self._all_files then return self._all_files end
  local list = {}
  each_file(self, function(e) list[#list + 1] = e end)
  self._all_files = list
  return list
end

--- d:file_types() -> { [type] = count }, total: the files d:files() lists,
--- counted by type, decoded one at a time and kept by none.
function Dir:file_types()
  local by_type, total = {}, 0
  each_file(self, function(e)
    local t = tostring(e.type)
    by_type[t], total = (by_type[t] or 0) + 1, total + 1
  end)
  return by_type, total
end

-- Socket families, types and states by number (linux/socket.h, net.h,
-- tcp_states.h) as criu saves them.
dir.AF = { [1] = "unix", [2] = "inet", [10] = "inet6", [16] = "netlink", [17] = "packet" }
dir.SOCK = { [1] = "stream", [2] = "dgram", [3] = "raw", [4] = "rdm", [5] = "seqpacket",
  [10] = "packet" }
dir.TCP_STATE = { [1] = "established", [2] = "syn-sent", [3] = "syn-recv", [4] = "fin-wait1",
  [5] = "fin-wait2", [6] = "time-wait", [7] = "close", [8] = "close-wait", [9] = "last-ack",
  [10] = "listen", [11] = "closing", [12] = "new-syn-recv" }
local SOCKET_FAMILY = { UNIXSK = 1, PACKETSK = 17, NETLINKSK = 16 }

--- d:sockets() -> list of { id=, ftype= ("UNIXSK", "INETSK", "PACKETSK",
--- "NETLINKSK"), family=, type=, state= (names of dir.AF, dir.SOCK,
--- dir.TCP_STATE, or the number), protocol=, entry= (the socket's entry) }.
function Dir:sockets()
  local list = {}
  -- Only the sockets are kept: a huge files.img of other files costs
  -- an entry's table at a time.
  local files = self._all_files
  local each = files and function(f) for _, e in ipairs(files) do f(e) end end
    or function(f) each_file(self, f) end
  each(function(f)
    local ft = dir.FILE_TYPES[f.type]
    local e = ft and f[ft.field]
    local family = SOCKET_FAMILY[f.type] or (f.type == "INETSK" and e and e.family)
    if family and e then
      local stype = e.type  -- netlink_sk_entry does not keep it
      list[#list + 1] = {
        id = f.id, ftype = f.type, entry = e, protocol = e.protocol,
        family = dir.AF[family] or family,
        type = stype and (dir.SOCK[stype] or stype),
        state = e.state and (dir.TCP_STATE[e.state] or e.state),
      }
    end
  end)
  return list
end

---------------------------------------------------------------------------
-- Namespaces: ids-PID's *_ns_id name them; their images carry the id.

--- dir.NAMESPACES: each kind, the field of task_kobj_ids_entry, and the
--- image kinds that hold a namespace's state ("<kind>-<ns id>").
dir.NAMESPACES = {
  { kind = "pid", field = "pid_ns_id", images = { "pidns" } },
  { kind = "net", field = "net_ns_id",
    images = { "netns", "netdev", "ifaddr", "route", "route6", "rule", "nftables",
      "iptables", "ip6tables", "netnf-ct", "netnf-exp" } },
  { kind = "ipc", field = "ipc_ns_id", images = { "ipcns-var", "ipcns-shm", "ipcns-sem", "ipcns-msg" } },
  { kind = "uts", field = "uts_ns_id", images = { "utsns" } },
  { kind = "mnt", field = "mnt_ns_id", images = { "mountpoints" } },
  { kind = "user", field = "user_ns_id", images = { "userns" } },
  { kind = "cgroup", field = "cgroup_ns_id", images = {} },
  { kind = "time", field = "time_ns_id", images = { "timens" } },
}

--- d:namespaces() -> list, in dir.NAMESPACES order then by id, of
--- { kind=, id=, pids= {pid, ...} (the tasks in it), root= (whether it is
--- criu's own, inventory root_ids), images= {name, ...} (its images) }.
function Dir:namespaces()
  local found, list = {}, {}
  local function add(ns, id, pid)
    if id == nil then return end
    local key = ns.kind .. "." .. id
    local n = found[key]
    if not n then
      n = { kind = ns.kind, id = id, pids = {}, root = false, images = {} }
      found[key] = n
      list[#list + 1] = n
    end
    if pid then n.pids[#n.pids + 1] = pid else n.root = true end
  end
  local inv = self:has("inventory") and self:inventory()
  for _, t in ipairs(self:tasks() or {}) do
    local ids = self:ids(t.pid)
    if ids then
      for _, ns in ipairs(dir.NAMESPACES) do add(ns, ids[ns.field], t.pid) end
    end
  end
  if inv and inv.root_ids then
    for _, ns in ipairs(dir.NAMESPACES) do add(ns, inv.root_ids[ns.field], nil) end
  end
  local order = {}
  for i, ns in ipairs(dir.NAMESPACES) do order[ns.kind] = i end
  table_sort(list, function(a, b)
    if a.kind ~= b.kind then return order[a.kind] < order[b.kind] end
    return a.id < b.id
  end)
  local owner = {}
  for _, ns in ipairs(dir.NAMESPACES) do
    for _, k in ipairs(ns.images) do owner[k] = ns.kind end
  end
  for _, name in ipairs(self:names()) do
    local k, id = dir.kind(name)
    local kind = owner[k]
    local n = kind and id and found[kind .. "." .. id]
    if n then n.images[#n.images + 1] = name end
  end
  return list
end

---------------------------------------------------------------------------
-- Incremental dumps: `parent` is a link to the previous dump's directory.

--- d:parent() -> the parent dump as a dir | nil (no `parent` link, or it
--- leads nowhere). Opened once.
function Dir:parent()
  local p = self._parent
  if p == nil then
    p = dir.open(self._prefix .. "parent") or false
    self._parent = p
  end
  return p or nil
end

return dir
