-- A checkpoint directory: the images of one `criu dump`, opened lazily and
-- cached, with the knowledge of how they refer to each other (pstree ->
-- core, ids -> fdinfo -> files, mm -> vmas, pagemap) in one place.
--
--   local d = assert(dir.open("dump"))
--   for _, t in ipairs(assert(d:tasks())) do print(t.pid, t.comm, t.state) end
--
-- Two tiers of errors, as in crit.open: an image that is not there returns
-- nil, message, errno; a corrupt image (or one of the wrong type) raises.
-- Nothing is read until it is asked for, and nothing is read twice.
local core = require "crit.core"
local Image = require "crit.image"

local setmetatable, rawset, type, error, tostring, ipairs =
  setmetatable, rawset, type, error, tostring, ipairs
local io_open, string_format = io.open, string.format

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

--- nr_pages(pagemap_entry) -> its page count. criu 4.2 writes the count in
--- `nr_pages` and 0 in `compat_nr_pages`; older criu has only the latter.
function dir.nr_pages(e)
  return e.nr_pages or e.compat_nr_pages
end

-- The file name of an image: "core-1" -> "core-1.img". criu names the
-- stats and irmap-cache images without the suffix.
local function image_file(name)
  if name:find("%.img$") or name:find("^stats%-") or name == "irmap-cache" then
    return name
  end
  return name .. ".img"
end

local Dir = {}
Dir.__index = Dir

--- open(path) -> dir | nil, message, errno. Opens nothing but the directory.
function dir.open(path)
  if type(path) ~= "string" then error("dir.open: a path expected", 2) end
  local f, err, errno = io_open(path .. "/.", "rb")
  if not f then
    return nil, path .. ": " .. (err:match(":%s*([^:]*)$") or err), errno
  end
  f:close()
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
  local index, err, errno = core.open(self._prefix .. image_file(name))
  if not index then
    self._images[name] = { missing = err, errno = errno }
    return nil, err, errno
  end
  img = Image.from_index(index)
  self._images[name] = img
  return img
end

--- d:has(name) -> whether the image is in the directory.
function Dir:has(name)
  return (self:image(name)) ~= nil
end

-- The image `name`, which must hold `magic` images, or nil, err, errno.
local function typed_image(self, name, magic)
  local img, err, errno = self:image(name)
  if not img then return nil, err, errno end
  if img.magic ~= magic then
    error(string_format("%s%s: a %s image expected, this is %s", self._prefix,
      image_file(name), magic, tostring(img.magic)), 0)
  end
  return img
end

-- The one entry of an image such as core-N or mm-N.
local function single_entry(self, name, magic)
  local img, err, errno = typed_image(self, name, magic)
  if not img then return nil, err, errno end
  local e = img[1]
  if not e then
    error(self._prefix .. image_file(name) .. ": no entry", 0)
  end
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

--- d:tasks() -> list of tasks in pstree order | nil, message, errno.
--- A task: pid, ppid, pgid, sid, threads (the pstree entry's: criu leaves
--- them undefined for a zombie), parent (task or nil), children (list).
--- Read on first use from core-PID (raises if it is missing): core,
--- state ("alive", "dead" as criu saves a zombie, "stopped", "zombie", or
--- the number), zombie, stopped, comm. tasks.roots: tasks without a parent
--- in the dump (the one with ppid 0, in a well-formed dump).
function Dir:tasks()
  if self._tasks then return self._tasks end
  local entries, err, errno = self:pstree()
  if not entries then return nil, err, errno end
  local tasks, by_pid, roots = {}, {}, {}
  for k, e in ipairs(entries) do
    local t = setmetatable({
      _dir = self, pid = e.pid, ppid = e.ppid, pgid = e.pgid, sid = e.sid,
      threads = e.threads or {}, children = {},
    }, Task)
    tasks[k] = t
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

--- d:vmas(pid) -> list of vma_entry: mm's, or vmas-PID's in old dumps.
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
--- task's fd table (fdinfo-N, N = ids.files_id).
function Dir:fdinfo(pid)
  local ids, err, errno = self:ids(pid)
  if not ids then return nil, err, errno end
  return all_entries(self, "fdinfo-" .. ids.files_id, "FDINFO")
end

--- d:pagemap(pid) -> pagemap_head, list of pagemap_entry (use dir.nr_pages).
function Dir:pagemap(pid)
  local img, err, errno = typed_image(self, "pagemap-" .. pid, "PAGEMAP")
  if not img then return nil, err, errno end
  local head, entries = img[1], {}
  if not head then error(self._prefix .. "pagemap-" .. pid .. ".img: no entry", 0) end
  for k = 2, #img do entries[k - 1] = img[k] end
  return head, entries
end

---------------------------------------------------------------------------
-- Files, by id: files.img (criu 3.x and later) or the per-type images of
-- older dumps (reg-files.img, pipes.img, ...).

local function index_by_id(img)
  local byid = {}
  for _, e in img:entries() do
    if e.id ~= nil and byid[e.id] == nil then byid[e.id] = e end
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
  local e = byid[id]
  if e then return { type = ftype, id = id, [ft.field] = e } end
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
  local f = files[id]
  if f then return f end
  if ftype then return legacy_entry(self, ftype, id) end
  for _, t in ipairs(LEGACY_ORDER) do
    f = legacy_entry(self, t, id)
    if f then return f end
  end
  return nil
end

return dir
