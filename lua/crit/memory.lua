--- The memory of a dumped process: what it held at each virtual address,
-- found through the pagemap in pages-N.img (and pagemap-shmem for shared
-- memory, and the `parent` dump for PE_PARENT pages) without loading pages.
--
--   local m = assert(memory.open(dir.open("dump"), 31039))
--   local bytes, holes = m:read(0x7f3b79a57f16, 64)
--   for p in m:pieces() do ... end        -- every VMA, piece by piece
--
-- Reading memory that is not in the dump (a hole) is not an error: a
-- forensics user wants the bytes that are there and to be told exactly
-- which are not. read() fills holes with zero bytes and returns, as its
-- second result, the list of holes { {addr=, len=, why=}, ... } (nil when
-- every byte came from the dump). `why` says where the real bytes are:
--   "not-dumped"  in a VMA but not in the dump. For anonymous memory the
--                 task never touched it (it reads as zeros); criu also
--                 never dumps [vvar] and [vsyscall].
--   "file"        a file-backed page that criu did not dump because it
--                 is the mapped file's unchanged content.
--   "lazy"        PE_LAZY without PE_PRESENT: the page stayed on the source
--                 host for lazy migration (criu lazy-pages).
--   "parent"      PE_PARENT, but the parent dump (the `parent` link of an
--                 incremental dump) is missing or does not have the page.
--   "unmapped"    no VMA covers the address.
-- Addresses are Lua integers with the bits of the uint64: [vsyscall] at
-- 0xffffffffff600000 is negative, so addresses compare with math.ult.
local dir = require "crit.dir"
local core = require "crit.core"
local layout = require "crit.layout"

local ipairs, pairs, setmetatable, type, error, tostring = ipairs, pairs, setmetatable, type, error, tostring
local crit_error, is_error = core.error, core.is_error
local math_min, string_format, string_rep = math.min, string.format, string.rep
local table_concat, table_sort = table.concat, table.sort
local coroutine_wrap, coroutine_yield = coroutine.wrap, coroutine.yield
local ult = math.ult

local memory = {}

-- The pagemap's flags and counts, and the page size, are crit.layout's.
local PE = layout.PE
memory.PE_PARENT, memory.PE_LAZY, memory.PE_PRESENT = PE.PARENT, PE.LAZY, PE.PRESENT
local page_kind = layout.page_kind

-- vma_entry.status bits (criu/include/image.h), as crit.dir has them.
local VMA = dir.VMA
memory.VMA = VMA

---------------------------------------------------------------------------
-- The checkpoint directory (crit.dir) and the lookups it lacks.

local nr_pages = layout.nr_pages

--- memory.open_dir(path) -> a crit.dir object | nil, message.
function memory.open_dir(path)
  return dir.open(path)
end

-- memfd.img (MEMFD_INODE) by inode id: a memfd file entry names its
-- inode; the inode has the shmid of the memfd's pages.
local function memfd_inode(d, inode_id)
  return d:memfd_inode(inode_id)
end

---------------------------------------------------------------------------
-- A page source: one pagemap image and the pages image it points to, kept
-- as parallel arrays of its entries, sorted by address, with each present
-- entry's offset into pages-N. Built once; lookups are binary searches.

local Source = {}
Source.__index = Source

-- The flags criu's pagemap.c gives old entries.
local entry_flags = layout.pagemap_flags

local function sort_entries(src)
  local n, order = src.n, {}
  for i = 1, n do order[i] = i end
  local va = src.vaddr
  table_sort(order, function(a, b) return va[a] < va[b] end)
  local v, np, fl, po = {}, {}, {}, {}
  for k, i in ipairs(order) do
    v[k], np[k], fl[k], po[k] = va[i], src.npages[i], src.flags[i], src.pgoff[i]
  end
  src.vaddr, src.npages, src.flags, src.pgoff = v, np, fl, po
end

-- load_source(d, name, page_size) -> source | nil (no such pagemap) | raises
local function load_source(d, name, page_size)
  local pm = d:image(name)
  if not pm then return nil end
  if pm.magic ~= "PAGEMAP" then
    error(crit_error{ file = d:path_of(name), message = "not a pagemap image (" .. pm.magic .. ")" }, 0)
  end
  local src = setmetatable({
    d = d, name = name, page_size = page_size,
    vaddr = {}, npages = {}, flags = {}, pgoff = {}, n = 0,
    present_pages = 0,
  }, Source)
  local sorted, last = true, nil
  for k, e in pm:entries() do
    if k == 1 then
      src.pages_id = e.pages_id
    else
      local n, flags = nr_pages(e), entry_flags(e)
      local i = src.n + 1
      src.n = i
      src.vaddr[i], src.npages[i], src.flags[i] = e.vaddr, n, flags
      if page_kind(flags) == "present" then
        src.pgoff[i] = src.present_pages
        src.present_pages = src.present_pages + n
      else
        src.pgoff[i] = -1
      end
      if last and e.vaddr < last then sorted = false end
      last = e.vaddr
    end
  end
  if not sorted then sort_entries(src) end
  return src
end

-- The pages-N image, opened on first use and checked against the pagemap.
function Source:pages()
  local img = self._pages
  if img then return img end
  local name = "pages-" .. tostring(self.pages_id)
  local err
  img, err = self.d:image(name)
  if not img then
    if is_error(err) then err.message = err.message .. " (the pages image of " .. self.name .. ".img)" end
    error(err, 0)
  end
  local need = self.present_pages * self.page_size
  local have = img:file_size()
  if have < need then
    error(crit_error{ file = self.d:path_of(name), message = string_format(
      "%d bytes, but %s.img has %d pages present (%d bytes)", have, self.name, self.present_pages, need) }, 0)
  end
  self._pages = img
  return img
end

-- The same pagemap in the parent dump, or false.
function Source:parent()
  local p = self._parent
  if p ~= nil then return p end
  p = false
  local parent_dir = self.d:parent()
  if parent_dir and parent_dir:has(self.name) then
    p = load_source(parent_dir, self.name, self.page_size) or false
  end
  self._parent = p
  return p
end

-- The first entry that ends after addr.
function Source:search(addr)
  local va, np, ps = self.vaddr, self.npages, self.page_size
  local lo, hi = 1, self.n + 1
  while lo < hi do
    local mid = (lo + hi) // 2
    if va[mid] + np[mid] * ps <= addr then lo = mid + 1 else hi = mid end
  end
  return lo
end

-- Call emit(addr, len, pages_image, offset) for dumped pieces and
-- emit(addr, len, nil, why) for the rest, covering [from, to) in order.
-- `shift` is added to every address given to emit (shared memory lives
-- at offsets in its own pagemap, mapped at a VMA's address).
function Source:walk(from, to, shift, hole_why, emit)
  local va, np, fl, po, ps = self.vaddr, self.npages, self.flags, self.pgoff, self.page_size
  local i, a = self:search(from), from
  while a < to do
    local s = va[i]
    if not s or s >= to then
      emit(a + shift, to - a, nil, hole_why)
      return
    end
    if s > a then
      emit(a + shift, s - a, nil, hole_why)
      a = s
    end
    local stop = math_min(s + np[i] * ps, to)
    local kind = page_kind(fl[i])
    if kind == "present" then
      emit(a + shift, stop - a, self:pages(), po[i] * ps + (a - s))
    elseif kind == "parent" then
      local parent = self:parent()
      if parent then
        parent:walk(a, stop, shift, "parent", emit)
      else
        emit(a + shift, stop - a, nil, "parent")
      end
    elseif kind == "lazy" then
      emit(a + shift, stop - a, nil, "lazy")
    else
      emit(a + shift, stop - a, nil, hole_why)
    end
    a = stop
    i = i + 1
  end
end

-- Pages of the source (in its pagemap order) by flag kind: present, lazy, parent.
function Source:count(from, to)
  local n = { present = 0, lazy = 0, parent = 0 }
  local va, np, fl, ps = self.vaddr, self.npages, self.flags, self.page_size
  local i = self:search(from)
  while i <= self.n and va[i] < to do
    local s, e = va[i], va[i] + np[i] * ps
    local kind = page_kind(fl[i])
    if kind then n[kind] = n[kind] + (math_min(e, to) - (s > from and s or from)) // ps end
    i = i + 1
  end
  return n.present, n.lazy, n.parent
end

---------------------------------------------------------------------------
-- Regions: the VMAs, with what backs each of them.

local function perms(v)
  local p = v.prot
  return ((p & 1 ~= 0) and "r" or "-") .. ((p & 2 ~= 0) and "w" or "-")
    .. ((p & 4 ~= 0) and "x" or "-")
    .. ((v.status & (VMA.ANON_SHARED | VMA.FILE_SHARED | VMA.SYSVIPC) ~= 0) and "s" or "p")
end

local kind_of = dir.vma_kind

local function file_name(d, id)
  local f = d:file(id)
  if not f then return nil end
  if f.reg then return f.reg.name end
  if f.memfd then
    local inode = memfd_inode(d, f.memfd.inode_id)
    local name = inode and inode.name or "?"
    if name:sub(1, 1) == "/" then return name .. " (deleted)" end
    return "/memfd:" .. name .. " (deleted)"
  end
  return nil
end

-- The shared-memory id whose pagemap-shmem holds a VMA's pages, if any.
local function shmem_id(d, v)
  if v.status & (VMA.SYSVIPC | VMA.ANON_SHARED) ~= 0 then return v.shmid end
  if v.status & VMA.MEMFD ~= 0 then
    local f = d:file(v.shmid)
    local inode = f and f.memfd and memfd_inode(d, f.memfd.inode_id)
    return inode and inode.shmid
  end
  return nil
end

-- "/SYSV%08x (deleted)", the name the kernel gives a SysV shm mapping:
-- the key is in ipcns-shm-<ipc ns id>.img, the ns id in ids-PID.img.
local function sysv_name(d, pid, shmid)
  local ids = d:ids(pid)
  local shm = ids and d:sysv_shm(ids.ipc_ns_id, shmid)
  if shm then return string_format("/SYSV%08x (deleted)", shm.desc.key) end
  return nil
end

local function region_name(d, pid, v, kind)
  if kind == "file" or kind == "memfd" then return file_name(d, v.shmid) end
  if v.status & VMA.HEAP ~= 0 then return "[heap]" end
  if v.status & VMA.STACK ~= 0 then return "[stack]" end
  if kind == "vdso" then return "[vdso]" end
  if kind == "vvar" then return "[vvar]" end
  if kind == "vsyscall" then return "[vsyscall]" end
  if kind == "anon-shared" then return "/dev/zero (deleted)" end
  if kind == "sysv-shm" then return sysv_name(d, pid, v.shmid) or string_format("SYSV shmid %d", v.shmid) end
  if kind == "aio" then return "[aio]" end
  return nil
end

local function make_region(d, pid, v)
  local kind = kind_of(v.status)
  return {
    start = v.start, stop = v["end"], vma = v, kind = kind,
    perms = perms(v), name = region_name(d, pid, v, kind),
    shmid = shmem_id(d, v),
    file = (kind == "file" or kind == "memfd") and d:file(v.shmid) or nil,
    shared = v.status & (VMA.ANON_SHARED | VMA.FILE_SHARED | VMA.SYSVIPC) ~= 0,
    file_backed = v.status & (VMA.FILE_PRIVATE | VMA.FILE_SHARED) ~= 0
      and v.status & VMA.MEMFD == 0,
  }
end

---------------------------------------------------------------------------
-- The memory object.

local Memory = {}
Memory.__index = Memory

--- memory.open(d, pid) -> memory | nil, message. d is a directory object
--- (crit.dir) or a path. A task without mm (a zombie) returns nil, message.
function memory.open(d, pid)
  local opened, oerr = dir.of(d)
  if not opened then return nil, oerr end
  d = opened
  local mm, err = d:mm(pid)
  if not mm then
    return nil, crit_error{ file = d:path_of("mm-" .. pid), message = string_format(
      "pid %s: no memory image: %s", tostring(pid), err and (err.message or tostring(err)) or "a zombie has none") }
  end
  local page_size = layout.page_size(mm)
  local private = load_source(d, "pagemap-" .. pid, page_size)
  if not private then return nil, string_format("pid %s: no pagemap-%s.img", tostring(pid), tostring(pid)) end
  local m = setmetatable({
    d = d, pid = pid, mm = mm, page_size = page_size,
    private = private, shmem = {}, regions_ = {},
  }, Memory)
  for i, v in ipairs(d:vmas(pid) or {}) do m.regions_[i] = make_region(d, pid, v) end
  -- The kernel's "[stack]" is the VMA holding the start of the stack
  -- (criu's VMA_AREA_STACK is not always set).
  -- unsigned: [vsyscall] at 0xffffffffff600000 is a negative integer
  table_sort(m.regions_, function(a, b) return ult(a.start, b.start) end)
  local stack = mm.mm_start_stack and m:region_at(mm.mm_start_stack)
  if stack and not stack.name then stack.name = "[stack]" end
  return m
end

-- The pagemap-shmem source of a shared-memory id, or false.
function Memory:shmem_source(shmid)
  local s = self.shmem[shmid]
  if s == nil then
    s = load_source(self.d, dir.shmem_pagemap_name(shmid), self.page_size) or false
    self.shmem[shmid] = s
  end
  return s
end

--- The index of the region that holds addr, or of the first one after it.
function Memory:region_index(addr)
  local r = self.regions_
  local lo, hi = 1, #r + 1
  while lo < hi do
    local mid = (lo + hi) // 2
    if not ult(addr, r[mid].stop) then lo = mid + 1 else hi = mid end
  end
  return lo
end

--- The region (VMA) that holds addr, or nil.
function Memory:region_at(addr)
  local r = self.regions_[self:region_index(addr)]
  if r and not ult(addr, r.start) then return r end
  return nil
end

-- Walk [from, to) of one region; see Source:walk for emit.
function Memory:walk_region(r, from, to, emit)
  local hole = r.file_backed and "file" or "not-dumped"
  if r.shmid then
    local src = self:shmem_source(r.shmid)
    local delta = r.vma.pgoff - r.start   -- address -> offset in the object
    if r.shared then
      if not src then return emit(from, to - from, nil, "not-dumped") end
      return src:walk(from + delta, to + delta, -delta, "not-dumped", emit)
    end
    -- A private memfd mapping: the pages the task wrote are in its own
    -- pagemap, the others are the memfd's content.
    return self.private:walk(from, to, 0, hole, function(a, len, pages, x)
      if pages or not src then return emit(a, len, pages, x) end
      return src:walk(a + delta, a + delta + len, -delta, x, emit)
    end)
  end
  if r.shared then return emit(from, to - from, nil, hole) end
  return self.private:walk(from, to, 0, hole, emit)
end

-- Walk [from, to) across regions, calling emit(addr, len, pages, off|why, region).
function Memory:walk(from, to, emit)
  local regions = self.regions_
  local i, a = self:region_index(from), from
  while ult(a, to) do
    local r = regions[i]
    if not r or not ult(r.start, to) then
      emit(a, to - a, nil, "unmapped", nil)
      return
    end
    if ult(a, r.start) then
      emit(a, r.start - a, nil, "unmapped", nil)
      a = r.start
    end
    local stop = ult(r.stop, to) and r.stop or to
    self:walk_region(r, a, stop, function(pa, len, pages, x) return emit(pa, len, pages, x, r) end)
    a = stop
    i = i + 1
  end
end

--- m:regions() -> array of regions in address order, each
--- { start=, stop= (exclusive), perms="rw-p", kind=, name=, vma=,
---   shmid= (of its pagemap-shmem), file= (files.img entry),
---   dumped=, lazy_bytes=, parent_bytes= (bytes in the dump, lazy, in a
---   missing parent), file_backed=, shared= }. `kind` is anon, file, memfd,
--- anon-shared, sysv-shm, vdso, vvar, vsyscall or aio; `name` is what
--- /proc/PID/maps would show.
function Memory:regions()
  local out = {}
  for i, r in ipairs(self.regions_) do
    local dumped, lazy, parent = 0, 0, 0
    self:walk_region(r, r.start, r.stop, function(_, len, pages, why)
      if pages then dumped = dumped + len
      elseif why == "lazy" then lazy = lazy + len
      elseif why == "parent" then parent = parent + len end
    end)
    local copy = {}
    for k, v in pairs(r) do copy[k] = v end
    copy.dumped, copy.lazy_bytes, copy.parent_bytes = dumped, lazy, parent
    out[i] = copy
  end
  return out
end

local function add_hole(holes, addr, len, why)
  local last = holes[#holes]
  if last and last.why == why and last.addr + last.len == addr then
    last.len = last.len + len
  else
    holes[#holes + 1] = { addr = addr, len = len, why = why }
  end
end

--- m:read(addr, len) -> bytes, holes. Always len bytes: what is not in
--- the dump reads as zeros and is listed in holes (nil if none); see the
--- header of this file. For big ranges use m:pieces(): read() builds one
--- string.
function Memory:read(addr, len)
  if type(addr) ~= "number" or type(len) ~= "number" or len < 0 then
    error("read: address and length expected", 2)
  end
  local parts, holes = {}, {}
  self:walk(addr, addr + len, function(a, n, pages, x)
    if pages then
      parts[#parts + 1] = pages:slice(x, n)
    else
      parts[#parts + 1] = string_rep("\0", n)
      add_hole(holes, a, n, x)
    end
  end)
  return table_concat(parts), holes[1] and holes or nil
end

--- m:pieces([from, to]) -> iterator of pieces in address order:
---   { addr=, len=, pages=raw pages image or nil, offset= (into pages),
---     why= (for holes), region= }
--- Without a range: every region, and only them (no "unmapped" pieces).
--- Dumped bytes of a piece: piece.pages:slice(piece.offset, piece.len), or
--- piece.pages:copy_to(out, piece.offset, piece.len) to copy them
--- without a Lua string. Memory stays constant however big the dump is.
function Memory:pieces(from, to)
  return coroutine_wrap(function()
    local function yield(a, len, pages, x, r)
      if pages then
        coroutine_yield({ addr = a, len = len, pages = pages, offset = x, region = r })
      else
        coroutine_yield({ addr = a, len = len, why = x, region = r })
      end
    end
    if from then
      self:walk(from, to, yield)
    else
      for _, r in ipairs(self.regions_) do
        self:walk_region(r, r.start, r.stop, function(a, len, pages, x)
          return yield(a, len, pages, x, r)
        end)
      end
    end
  end)
end

-- A sliding window over the dumped bytes: chunks of consecutive addresses
-- are joined with the tail of the window before, so that a match across
-- two page runs (or two chunks) is found; a gap in the dump ends the window.
local function scanner(find, overlap, report)
  local buf, base, done = "", nil, nil   -- window bytes, its address, matches reported below `done`
  local function scan(limit)             -- report matches that start before buf[limit + 1]
    local i = done - base + 1
    while true do
      local s, e = find(buf, i)
      if not s or s > limit then break end
      report(base + s - 1, buf:sub(s, e))
      i = (e >= s) and e + 1 or s + 1
    end
    local upto = (i - 1 > limit) and i - 1 or limit
    done = base + upto
  end
  local w = {}
  function w.finish()
    if base then scan(#buf) end
    buf, base, done = "", nil, nil
  end
  function w.push(addr, bytes)
    if base and base + #buf ~= addr then w.finish() end
    if not base then base, done = addr, addr end
    buf = buf .. bytes
    scan(#buf - overlap)
    if #buf > overlap then           -- keep only what a later match may need
      local cut = #buf - overlap
      if done - base < cut then cut = done - base end
      buf, base = buf:sub(cut + 1), base + cut
    end
  end
  return w
end

local SCAN_CHUNK = 1 << 20

--- m:find(what [, opts]) -> iterator of addr, matched bytes, region over
--- every match in the dumped memory, in address order, in constant memory.
--- what is a plain string, or a Lua pattern with opts.pattern = true
--- (not a POSIX regex; '^' anchors are refused: memory has no lines).
--- Matches may span page runs and chunks but not holes; a pattern match
--- is at most opts.max_len bytes (default 4096) long. Matches do not
--- overlap (as with grep -o).
function Memory:find(what, opts)
  opts = opts or {}
  if type(what) ~= "string" or what == "" then error("find: a non-empty string expected", 2) end
  local find, overlap
  if opts.pattern then
    if what:sub(1, 1) == "^" then error("find: '^' anchors make no sense in memory", 2) end
    find = function(s, i) return s:find(what, i) end
    overlap = opts.max_len or 4096
  else
    find = function(s, i) return s:find(what, i, true) end
    overlap = #what - 1
  end
  return coroutine_wrap(function()
    local region
    local w = scanner(find, overlap, function(addr, bytes)
      coroutine_yield(addr, bytes, self:region_at(addr) or region)
    end)
    for p in self:pieces() do
      if p.pages then
        region = p.region
        for off = 0, p.len - 1, SCAN_CHUNK do
          local n = math_min(SCAN_CHUNK, p.len - off)
          w.push(p.addr + off, p.pages:slice(p.offset + off, n))
        end
      end
    end
    w.finish()
  end)
end

--- m:page_counts() -> present, lazy, parent pages of the private pagemap.
function Memory:page_counts()
  return self.private:count(0, math.maxinteger)
end

--- A one-line description of a region, like a line of /proc/PID/maps.
function memory.describe(r)
  return string_format("%012x-%012x %s %s%s", r.start, r.stop, r.perms, r.kind,
    r.name and ("  " .. r.name) or "")
end

return memory
