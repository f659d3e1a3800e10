-- crit.lua x: explore a checkpoint directory (ps, fds, mems, rss), in crit
-- 4.2's text formats, over the directory model of crit.dir.
local core = require "crit.core"
local dirlib = require "crit.dir"
local stdio = require "crit.cmd.stdio"

local ipairs, pairs, next, error, tostring, collectgarbage, setmetatable =
  ipairs, pairs, next, error, tostring, collectgarbage, setmetatable
local io_tmpfile, io_stdout = io.tmpfile, io.stdout
local string_format, string_rep = string.format, string.rep
local table_concat = table.concat
local math_type, rawget = math.type, rawget
local VMA = dirlib.VMA

local x = {}

local DESCRIPTION = [[
Explore a checkpoint directory: the images of one `criu dump`.

   ps    the process tree: PID, PGID, SID and command, children indented
         under their parent.
   fds   for each process, its open files by fd, then its cwd and root.
         Regular files show their path; pipes pipe[inode]; unix sockets
         unix[inode (peer inode) name]; others TYPE.id (files.img id).
   mems  for each process, its executable and its memory mappings: address
         range, protection (rwx) and what is mapped: a file (+ offset, (s)
         when shared), shmem[n], ips[n] (SysV IPC), packet[n], [stack],
         [vsyscall], [vdso]; '*' marks special areas that are not regular
         mappings (such as [vsyscall]).
   rss   for each process, the dumped pages: each pagemap run (address /
         pages) next to the mappings it covers (start / pages, and the file);
         '~' is the mapping of the previous line again.

The formats are crit 4.2's, byte for byte. Where crit fails, crit.lua does
not: a zombie (it has only a core image) is listed by ps and shows
"(zombie)" in place of its files and memory; images of criu 4.1 and older
(pagemap counts in compat_nr_pages) and files kept in the per-type images of
old dumps (reg-files.img, pipes.img, ...) are read too.]]

local EPILOG = [[
Examples:
   crit.lua x dump ps
   crit.lua x dump fds
   crit.lua x dump mems | grep '(s)$'

Exit status: 0 on success, 1 on an error (a missing or corrupt image: the
message names it), 2 on wrong usage.]]

function x.add_to_parser(parser)
  local cmd = parser:command("x")
    :summary("Explore a checkpoint directory: ps, fds, mems, rss.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("DIR"):target("dir")
    :description("The checkpoint directory (criu dump's --images-dir), or a\n"
      .. "container checkpoint archive (podman, CRI-O: tar, gzip or zstd).")
  cmd:argument("what")
    :argname("{ps,fds,mems,rss}")
    :choices({ "ps", "fds", "mems", "rss" })
    :description("What to show.")
end

-- The value, or raise its error (an image every task must have).
local function need(v, err)
  if v == nil then error(err, 0) end
  return v
end

-- What a zombie shows in place of its files or memory.
local ZOMBIE_LINE = "\t(zombie)\n"

-- The image data a task's report needs: v, or nil for a zombie (criu
-- dumps only its core), or raise the error (a live task must have it).
-- The core image is read only when the data is missing.
local function unless_zombie(t, v, err)
  if v ~= nil then return v end
  if t.zombie then return nil end
  error(err, 0)
end

-- Each task's report as crit lays it out: its pid on a line, then
-- body(t, data) with data = get(t) (an image the report needs), or the
-- zombie line when the task is a zombie without it.
local function per_task(d, out, get, body)
  for _, t in ipairs(need(d:tasks())) do
    out(string_format("%d\n", t.pid))
    local data = unless_zombie(t, get(t))
    if data == nil then out(ZOMBIE_LINE) else body(t, data) end
  end
end

---------------------------------------------------------------------------
-- How crit names a file: Python's quopri for unix socket names, and the
-- lookups of crit's ftype_* functions.

-- How crit shows a unix socket's name (the (criu).conv option): Python's
-- quopri.encodestring, which the JSON writer implements.
local quopri = core.quopri
x.quopri = quopri

local function reg_name(f)
  local name = f and f.reg and f.reg.name
  return (name and name ~= "") and name or "unknown path"
end

-- file_namer(d) -> name, prefetch. name(type, id) -> crit's name for the
-- file. prefetch(ids) names the REG files of the set ids in one pass over
-- files.img (d:files_of), not through d:file's index of every file: the
-- few files of a task's mappings, out of a huge files.img, cost little.
local function file_namer(d)
  local cache = {}
  local function name_of(ftype, id)
    if ftype == "REG" then
      return reg_name(d:file(id, "REG"))
    elseif ftype == "PIPE" then
      local f = d:file(id, "PIPE")
      local p = f and f.pipe
      return p and string_format("pipe[%d]", p.pipe_id) or "pipe[?]"
    elseif ftype == "UNIXSK" then
      local f = d:file(id, "UNIXSK")
      local ux = f and f.usk
      if not ux then return "unix[?]" end
      local name = ux.name and quopri(ux.name) or ""
      return string_format("unix[%d (%d)%s]", ux.ino, ux.peer, name ~= "" and " " .. name or "")
    end
    return string_format("%s.%d", tostring(ftype), id)
  end
  local function name(ftype, id)
    local key = tostring(ftype) .. "." .. tostring(id)
    local s = cache[key]
    if not s then
      s = name_of(ftype, id)
      cache[key] = s
    end
    return s
  end
  local function prefetch(ids)
    local wanted = {}
    for id in pairs(ids) do
      if not cache["REG." .. tostring(id)] then wanted[id] = true end
    end
    if next(wanted) == nil then return end
    local found = d:files_of(wanted, "REG")
    for id in pairs(wanted) do cache["REG." .. tostring(id)] = reg_name(found[id]) end
    -- The pass left the heap full of decoded entries: collect them now,
    -- rather than let the pagemap walk pile its own on top (-12 MiB).
    collectgarbage()
  end
  return name, prefetch
end

-- The set of ids of the files mapped by the task's VMAs, and of exe_id if
-- given. The VMAs are read from the image's bytes, a few fields at a time:
-- a million of them make no table each.
local function mapped_file_ids(d, pid, exe_id)
  local ids = {}
  if exe_id then ids[exe_id] = true end
  for _, status, shmid in need(d:vma_fields(pid, "status", "shmid")) do
    if status & (VMA.FILE_PRIVATE | VMA.FILE_SHARED) ~= 0 then ids[shmid] = true end
  end
  return ids
end

---------------------------------------------------------------------------
-- The explorers.

local explorers = {}

function explorers.ps(d, out)
  local tasks = need(d:tasks())
  local function show(t, depth)
    out(string_format("%7d%7d%7d   %s%s\n", t.pid, t.pgid, t.sid, string_rep(" ", 4 * depth),
      t.comm or ""))
    for _, kid in ipairs(t.children) do show(kid, depth + 1) end
  end
  out(string_format("%7s%7s%7s   %s\n", "PID", "PGID", "SID", "COMM"))
  for _, root in ipairs(tasks.roots) do show(root, 0) end
end

function explorers.fds(d, out)
  local file_name = file_namer(d)
  per_task(d, out, function(t) return d:fd_fields(t.pid, "fd", "type", "id") end, function(t, fds)
    for _, fd, ftype, id in fds do
      out(string_format("\t%7d: %s\n", fd, file_name(ftype, id)))
    end
    local fs = need(d:fs(t.pid))
    out(string_format("\t%7s: %s\n", "cwd", file_name("REG", fs.cwd_id)))
    out(string_format("\t%7s: %s\n", "root", file_name("REG", fs.root_id)))
  end)
end

-- What crit shows after a mapping's range and protection.
local function vma_what(vma, file_name, vma_ids)
  local st = vma.status
  local fn
  if st & VMA.SYSVIPC ~= 0 then
    fn = string_format(" ips[%x]", vma_ids(vma.shmid))
  elseif st & VMA.ANON_SHARED ~= 0 then
    fn = string_format(" shmem[%x]", vma_ids(vma.shmid))
  elseif st & VMA.SOCKET ~= 0 then
    fn = string_format(" packet[%x]", vma_ids(vma.shmid))
  elseif st & (VMA.FILE_PRIVATE | VMA.FILE_SHARED) ~= 0 then
    fn = " " .. file_name("REG", vma.shmid)
    if vma.pgoff ~= 0 then fn = fn .. string_format(" + %#x", vma.pgoff) end
    if st & VMA.FILE_SHARED ~= 0 then fn = fn .. " (s)" end
  elseif st & VMA.STACK ~= 0 then
    fn = " [stack]"
  elseif st & VMA.VSYSCALL ~= 0 then
    fn = " [vsyscall]"
  elseif st & VMA.VDSO ~= 0 then
    fn = " [vdso]"
  elseif vma.flags & dirlib.MAP_GROWSDOWN ~= 0 then
    fn = " [stack?]"
  else
    fn = ""
  end
  if st & VMA.REGULAR == 0 then fn = fn .. " *" end
  return fn
end

local function prot_string(prot)
  return (prot & 1 ~= 0 and "r" or "-") .. (prot & 2 ~= 0 and "w" or "-")
    .. (prot & 4 ~= 0 and "x" or "-")
end

function explorers.mems(d, out)
  local file_name, prefetch = file_namer(d)
  -- shmem/ips/packet mappings are numbered 1, 2, ... across all tasks.
  local ids, last = {}, 0
  local function vma_ids(shmid)
    local n = ids[shmid]
    if not n then
      last = last + 1
      n = last
      ids[shmid] = n
    end
    return n
  end
  local vma = {} -- one table, refilled for each VMA
  per_task(d, out, function(t) return d:mm_head(t.pid) end, function(t, mm)
    prefetch(mapped_file_ids(d, t.pid, mm.exe_file_id))
    out(string_format("\t%-36s    %s\n", "exe", file_name("REG", mm.exe_file_id)))
    for _, start, stop, prot, status, shmid, pgoff, flags in
        need(d:vma_fields(t.pid, "start", "end", "prot", "status", "shmid", "pgoff", "flags")) do
      vma.status, vma.shmid, vma.pgoff, vma.flags = status, shmid, pgoff, flags
      out(string_format("\t%-36s%s%s\n", string_format("%08x-%08x", start, stop),
        prot_string(prot), vma_what(vma, file_name, vma_ids)))
    end
  end)
end

-- What a mapping shows in rss the first time it is met (file: the id of
-- the file it maps, or nil).
local function rss_vma_text(start, stop, file, file_name)
  local s = string_format(" %08x / %-8d", start, (stop - start) >> 12)
  if file then s = s .. " " .. file_name("REG", file) end
  return s
end

local RSS_NEXT_LINE = "\n\t" .. string_rep(" ", 23)
local RSS_BATCH = 4096 -- pieces of lines written at once
local SIGN = math.mininteger

-- One task's rss lines: crit's loop over the pagemap (an iterator of its
-- runs), with Python's list indexing (vmi can step back to -1, which is
-- the last mapping). A million runs make a million lines, so the loop is
-- kept lean: the mappings' bounds read once into arrays of integers (no
-- table per VMA), flipped so that `<` compares them as unsigned, their
-- text made once, and the pieces of the lines joined a batch at a time.
local function rss_task(d, pid, runs, file_name, out)
  local starts, ends, files, texts = {}, {}, {}, {}
  local n = 0
  for i, start, stop, status, shmid in need(d:vma_fields(pid, "start", "end", "status", "shmid")) do
    starts[i], ends[i], n = start ~ SIGN, stop ~ SIGN, i
    if status & (VMA.FILE_PRIVATE | VMA.FILE_SHARED) ~= 0 then files[i] = shmid end
  end
  -- [vmi + 1] with vmi < 0 counts from the end, as in Python; only such
  -- keys reach __index, so the loop's lookups pay nothing for it.
  local function from_end(t, i)
    if math_type(i) == "integer" and i <= 0 and i > -n then return rawget(t, n + i) end
    return nil
  end
  setmetatable(starts, { __index = from_end })
  setmetatable(ends, { __index = from_end })
  local pieces, np = {}, 0
  local vmi, pvmi = 0, -1
  for _, vaddr, nr, compat_nr in runs do
    nr = nr or compat_nr
    local pstr = string_format("\t%x / %-8d", vaddr, nr)
    if #pstr < 24 then pstr = pstr .. string_rep(" ", 24 - #pstr) end
    np = np + 1
    pieces[np] = pstr
    local addr = vaddr ~ SIGN
    while vmi < n do
      local e = ends[vmi + 1]
      if e == nil or addr < e then break end
      vmi = vmi + 1
    end
    local pme = (vaddr + (nr << 12)) ~ SIGN -- crit's 4 KiB pages, whatever the dump's page size
    while vmi < n do
      local j = vmi + 1
      local st = starts[j]
      if st == nil or st >= pme then break end
      local text = " ~"
      if vmi ~= pvmi then
        text = texts[j]
        if not text then
          local v = j > 0 and j or n + j
          text = rss_vma_text(starts[v] ~ SIGN, ends[v] ~ SIGN, files[v], file_name)
          texts[j] = text
        end
        pvmi = vmi
      end
      pieces[np + 1], pieces[np + 2] = text, RSS_NEXT_LINE
      np = np + 2
      vmi = vmi + 1
    end
    vmi = vmi - 1
    np = np + 1
    pieces[np] = "\n"
    if np >= RSS_BATCH then
      out(table_concat(pieces, "", 1, np))
      np = 0
    end
  end
  if np > 0 then out(table_concat(pieces, "", 1, np)) end
end

function explorers.rss(d, out)
  local file_name, prefetch = file_namer(d)
  per_task(d, out, function(t) return d:mm_head(t.pid) end, function(t)
    local head, runs = d:pagemap_runs(t.pid)
    need(head, runs)
    prefetch(mapped_file_ids(d, t.pid))
    rss_task(d, t.pid, runs, file_name, out)
  end)
end

--- explorers.WHAT(d, out): the report on the dir d, line by line to out(s).
x.explorers = explorers

function x.command(args)
  local d, err = dirlib.open(args.dir)
  if not d then return nil, err end
  -- mems and rss decode millions of short-lived entries next to a few MiB
  -- of long-lived ones (the VMAs): a shorter GC pause than Lua's 200%
  -- keeps the heap nearer those (35 -> 30 MiB on 1M pagemap entries, at
  -- no measurable cost in time). Restored on the way out, error or not.
  local pause <close> = stdio.gc_pause(150) -- luacheck: ignore 211 (held for its __close)
  -- Spooled to a temporary file, then copied to stdout: an error half-way
  -- (a missing image) prints the error, not half a report, and memory
  -- stays flat however long the report. Without a temporary file (no
  -- writable /tmp) the report goes straight to stdout.
  local spool <close> = io_tmpfile()
  local sink = spool or io_stdout
  explorers[args.what](d, function(s)
    local ok, werr = sink:write(s)
    if not ok then
      error(core.error{ file = spool and "temporary file" or stdio.stdout_name(), message = tostring(werr) }, 0)
    end
  end)
  if spool then
    spool:seek("set")
    for chunk in spool:lines(65536) do stdio.write_stdout(chunk) end
  end
  stdio.flush_stdout()
  return true
end

return x
