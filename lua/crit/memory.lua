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

local ipairs, setmetatable, type, error, tostring = ipairs, setmetatable, type, error, tostring
local crit_error, is_error = core.error, core.is_error
local math_min, string_format, string_rep = math.min, string.format, string.rep
local table_concat, table_sort, table_unpack = table.concat, table.sort, table.unpack
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
local entry_flags_of = layout.pagemap_flags_of

-- Reorder parallel arrays in place so that element order[k] comes to k,
-- one cycle of the permutation at a time: a million entries are sorted
-- without a second copy of them.
local function permute(arrays, order)
  local n = #order
  for _, a in ipairs(arrays) do
    for k = 1, n do
      if order[k] > 0 then
        local first, j = a[k], k
        while true do
          local from = order[j]
          order[j] = -from
          if from == k then a[j] = first; break end
          a[j], j = a[from], from
        end
      end
    end
    for k = 1, n do order[k] = -order[k] end
  end
end

-- Sort parallel arrays by keys[i], compared by less.
local function sort_arrays(arrays, keys, n, less)
  local order = {}
  for i = 1, n do order[i] = i end
  table_sort(order, function(a, b) return less(keys[a], keys[b]) end)
  permute(arrays, order)
end

local function signed_less(a, b) return a < b end

-- load_source(d, name, page_size) -> source | nil (no such pagemap) | raises.
-- The entries are read a few fields at a time from the image's bytes, into
-- four integer arrays: no table per entry.
local function load_source(d, name, page_size)
  local pm = d:image(name)
  if not pm then return nil end
  if pm.magic ~= "PAGEMAP" then
    error(crit_error{ file = d:path_of(name), message = "not a pagemap image (" .. pm.magic .. ")" }, 0)
  end
  local head = pm:entry(1)
  if not head then error(crit_error{ file = d:path_of(name), message = "no entry" }, 0) end
  local src = setmetatable({
    d = d, name = name, page_size = page_size, pages_id = head.pages_id,
    vaddr = {}, npages = {}, flags = {}, pgoff = {}, n = 0,
    present_pages = 0,
  }, Source)
  local va, np, fl, po = src.vaddr, src.npages, src.flags, src.pgoff
  local sorted, last, n, present = true, nil, 0, 0
  for k, vaddr, nr, compat_nr, flags, in_parent in pm:fields("vaddr", "nr_pages", "compat_nr_pages", "flags",
      "in_parent") do
    if k > 1 then
      local count = nr or compat_nr
      flags = entry_flags_of(flags, in_parent)
      n = n + 1
      va[n], np[n], fl[n] = vaddr, count, flags
      if page_kind(flags) == "present" then
        po[n] = present
        present = present + count
      else
        po[n] = -1
      end
      if last and vaddr < last then sorted = false end
      last = vaddr
    end
  end
  src.n, src.present_pages = n, present
  if not sorted then sort_arrays({ va, np, fl, po }, va, n, signed_less) end
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
local function shmem_id(d, status, shmid)
  if status & (VMA.SYSVIPC | VMA.ANON_SHARED) ~= 0 then return shmid end
  if status & VMA.MEMFD ~= 0 then
    local f = d:file(shmid)
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

-- The fields of a VMA a memory object keeps, one integer array each but
-- prot and flags, both uint32, which share one (`mmap`: the two arguments
-- of mmap(2), flags in the high half): 16 bytes less per VMA.
local VMA_READ = { "start", "end", "pgoff", "shmid", "prot", "flags", "status" }
local VMA_KEPT = { "start", "end", "pgoff", "shmid", "mmap", "status" }

---------------------------------------------------------------------------
-- The memory object. The VMAs are kept as integer arrays (m.vma.start[i],
-- m.vma["end"][i], ...; m.n of them, in address order), never as a table
-- each: a region table is made when asked for (m:region(i)).

local Memory = {}
Memory.__index = Memory

--- memory.open(d, pid) -> memory | nil, message. d is a directory object
--- (crit.dir) or a path. A task without mm (a zombie) returns nil, message.
function memory.open(d, pid)
  local opened, oerr = dir.of(d)
  if not opened then return nil, oerr end
  d = opened
  local mm, err = d:mm_head(pid)
  if not mm then
    return nil, crit_error{ file = d:path_of("mm-" .. pid), message = string_format(
      "pid %s: no memory image: %s", tostring(pid), err and (err.message or tostring(err)) or "a zombie has none") }
  end
  local page_size = layout.page_size(mm)
  local private = load_source(d, "pagemap-" .. pid, page_size)
  if not private then return nil, string_format("pid %s: no pagemap-%s.img", tostring(pid), tostring(pid)) end
  local m = setmetatable({
    d = d, pid = pid, mm = mm, page_size = page_size,
    private = private, shmem = {}, vma = {}, n = 0,
  }, Memory)
  m:read_vmas()
  -- The kernel's "[stack]" is the VMA holding the start of the stack
  -- (criu's VMA_AREA_STACK is not always set).
  if mm.mm_start_stack then
    local i = m:region_index(mm.mm_start_stack)
    if i <= m.n and not ult(mm.mm_start_stack, m.vma.start[i]) then m.stack_index = i end
  end
  return m
end

-- The task's VMAs into m.vma's arrays, sorted by address (unsigned:
-- [vsyscall] at 0xffffffffff600000 is a negative integer).
function Memory:read_vmas()
  local arrays = {}
  for k, name in ipairs(VMA_KEPT) do
    arrays[k] = {}
    self.vma[name] = arrays[k]
  end
  local st, en, pg, sh, mm, ss = table_unpack(arrays)
  local n, sorted, last = 0, true, nil
  local it, err = self.d:vma_fields(self.pid, table_unpack(VMA_READ))
  if not it then error(err, 0) end
  for _, start, stop, pgoff, shmid, prot, flags, status in it do
    n = n + 1
    st[n], en[n], pg[n], sh[n], mm[n], ss[n] = start, stop, pgoff, shmid, flags << 32 | prot, status
    if last and ult(start, last) then sorted = false end
    last = start
  end
  self.n = n
  if not sorted then sort_arrays(arrays, st, n, ult) end
end

local function is_shared(status) return status & (VMA.ANON_SHARED | VMA.FILE_SHARED | VMA.SYSVIPC) ~= 0 end
local function is_file_backed(status)
  return status & (VMA.FILE_PRIVATE | VMA.FILE_SHARED) ~= 0 and status & VMA.MEMFD == 0
end

--- m:region(i) -> region i (1 <= i <= m.n, in address order), a new table:
--- { index=i, start=, stop= (exclusive), perms="rw-p", kind=, name=, vma=,
---   shmid= (of its pagemap-shmem), file= (files.img entry),
---   file_backed=, shared= }. `kind` is anon, file, memfd, anon-shared,
--- sysv-shm, vdso, vvar, vsyscall or aio; `name` is what /proc/PID/maps
--- would show; `vma` has the vma_entry fields start, end, pgoff, shmid,
--- prot, flags, status.
function Memory:region(i)
  local d, a = self.d, self.vma
  local mmap = a.mmap[i]
  local v = { start = a.start[i], ["end"] = a["end"][i], pgoff = a.pgoff[i], shmid = a.shmid[i],
    prot = mmap & 0xffffffff, flags = mmap >> 32, status = a.status[i] }
  local kind = kind_of(v.status)
  local name = region_name(d, self.pid, v, kind)
  if not name and i == self.stack_index then name = "[stack]" end
  return {
    index = i, start = v.start, stop = v["end"], vma = v, kind = kind,
    perms = perms(v), name = name,
    shmid = shmem_id(d, v.status, v.shmid),
    file = (kind == "file" or kind == "memfd") and d:file(v.shmid) or nil,
    shared = is_shared(v.status),
    file_backed = is_file_backed(v.status),
  }
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

--- The index of the region that holds addr, or of the first one after it
--- (m.n + 1 when none).
function Memory:region_index(addr)
  local stops = self.vma["end"]
  local lo, hi = 1, self.n + 1
  while lo < hi do
    local mid = (lo + hi) // 2
    if not ult(addr, stops[mid]) then lo = mid + 1 else hi = mid end
  end
  return lo
end

--- The region (VMA) that holds addr, or nil.
function Memory:region_at(addr)
  local i = self:region_index(addr)
  if i <= self.n and not ult(addr, self.vma.start[i]) then return self:region(i) end
  return nil
end

-- Walk [from, to) of region i; see Source:walk for emit.
function Memory:walk_region(i, from, to, emit)
  local v = self.vma
  local status, start = v.status[i], v.start[i]
  local shared = is_shared(status)
  local hole = is_file_backed(status) and "file" or "not-dumped"
  local shmid = shmem_id(self.d, status, v.shmid[i])
  if shmid then
    local src = self:shmem_source(shmid)
    local delta = v.pgoff[i] - start   -- address -> offset in the object
    if shared then
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
  if shared then return emit(from, to - from, nil, hole) end
  return self.private:walk(from, to, 0, hole, emit)
end

-- Walk [from, to) across regions, calling emit(addr, len, pages, off|why,
-- i) with i the region's index (nil where unmapped).
function Memory:walk(from, to, emit)
  local starts, stops = self.vma.start, self.vma["end"]
  local i, a = self:region_index(from), from
  while ult(a, to) do
    local start = starts[i]
    if not start or not ult(start, to) then
      emit(a, to - a, nil, "unmapped", nil)
      return
    end
    if ult(a, start) then
      emit(a, start - a, nil, "unmapped", nil)
      a = start
    end
    local stop = ult(stops[i], to) and stops[i] or to
    self:walk_region(i, a, stop, function(pa, len, pages, x) return emit(pa, len, pages, x, i) end)
    a = stop
    i = i + 1
  end
end

--- m:dumped(i) -> the bytes of region i in the dump, lazy, and in a
--- missing parent.
function Memory:dumped(i)
  local dumped, lazy, parent = 0, 0, 0
  self:walk_region(i, self.vma.start[i], self.vma["end"][i], function(_, len, pages, why)
    if pages then dumped = dumped + len
    elseif why == "lazy" then lazy = lazy + len
    elseif why == "parent" then parent = parent + len end
  end)
  return dumped, lazy, parent
end

--- m:each_region() -> an iterator of i, region (m:region(i) with dumped=,
--- lazy_bytes=, parent_bytes=: bytes in the dump, lazy, in a missing
--- parent) in address order: one table at a time, however many VMAs.
function Memory:each_region()
  local i = 0
  return function()
    i = i + 1
    if i > self.n then return nil end
    local r = self:region(i)
    r.dumped, r.lazy_bytes, r.parent_bytes = self:dumped(i)
    return i, r
  end
end

--- m:regions() -> array of the regions of m:each_region(), for scripts: a
--- table per VMA.
function Memory:regions()
  local out = {}
  for i, r in self:each_region() do out[i] = r end
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
      local r   -- one region table for all the pieces of a region
      self:walk(from, to, function(a, len, pages, x, i)
        if i and (not r or r.index ~= i) then r = self:region(i) end
        return yield(a, len, pages, x, i and r or nil)
      end)
    else
      for i = 1, self.n do
        local r = self:region(i)
        self:walk_region(i, r.start, r.stop, function(a, len, pages, x)
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
      -- mostly in the region being scanned: no new region table per match
      local r = region
      if not (r and not ult(addr, r.start) and ult(addr, r.stop)) then r = self:region_at(addr) or region end
      coroutine_yield(addr, bytes, r)
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
