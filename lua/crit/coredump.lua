--- ELF core files (what gdb reads) from a checkpoint: one per process, with
-- the notes the kernel writes and the dumped memory, copied from pages-N
-- straight into the output. See docs/coredump.md for the layout.
--
--   local ok, err = coredump.write(d, pid, "core." .. pid, { with_files = true })
local core = require "crit.core"
local dir = require "crit.dir"
local memory = require "crit.memory"
local lfs = require "lfs"

local ipairs, error, tostring = ipairs, error, tostring
local crit_error = core.error
local string_pack, string_unpack, string_rep, string_format = string.pack, string.unpack, string.rep, string.format
local table_concat, table_unpack = table.concat, table.unpack
local math_min = math.min
local io_open = io.open

local coredump = {}

-- <elf.h>
local ET_CORE, EV_CURRENT, PT_LOAD, PT_NOTE = 4, 1, 1, 4
local PF_X, PF_W, PF_R = 1, 2, 4
local PN_XNUM = 0xffff
local EHDR_SIZE, PHDR_SIZE, SHDR_SIZE = 64, 56, 64
local NT_PRSTATUS, NT_FPREGSET, NT_PRPSINFO, NT_AUXV = 1, 2, 3, 6
local NT_SIGINFO, NT_FILE = 0x53494749, 0x46494c45
local NT_X86_XSTATE, NT_ARM_TLS = 0x202, 0x401
local SIGINFO_SIZE = 128
local COPY_STEP = 1 << 20

-- compel's task states (core.tc.task_state; see dir.TASK_STATES)
local TASK_ALIVE, TASK_DEAD, TASK_STOPPED, TASK_ZOMBIE = 1, 2, 3, 6

---------------------------------------------------------------------------
-- Packing helpers. 64-bit fields pack with "i8": same bits, any sign.

local function pad4(s)
  local r = #s % 4
  return r == 0 and s or s .. string_rep("\0", 4 - r)
end

local function fixed(s, n)     -- s cut or NUL-padded to n bytes
  s = s or ""
  if #s >= n then return s:sub(1, n) end
  return s .. string_rep("\0", n - #s)
end

-- n values of `fmt` from a repeated field, zeros where it is short.
local function array(list, n, fmt)
  local vals = {}
  for i = 1, n do vals[i] = (list and list[i]) or 0 end
  return string_pack("<" .. string_rep(fmt, n), table_unpack(vals))
end

local function note(name, type_, desc)
  return string_pack("<I4I4I4", #name + 1, #desc, type_) .. pad4(name .. "\0") .. pad4(desc)
end

---------------------------------------------------------------------------
-- Architectures: where the registers are in core-TID.img and how the
-- kernel lays them out in the notes. To add one: machine, info (the
-- core_entry field), gpregs (the elf_gregset_t bytes) and thread_notes.

local X86_GPREGS = { "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8",
  "ax", "cx", "dx", "si", "di", "orig_ax", "ip", "cs", "flags", "sp", "ss",
  "fs_base", "gs_base", "ds", "es", "fs", "gs" }   -- struct user_regs_struct

-- struct user_fpregs_struct (the FXSAVE area), 512 bytes.
local function x86_fxsave(fp)
  return string_pack("<I2I2I2I2i8i8I4I4", fp.cwd & 0xffff, fp.swd & 0xffff, fp.twd & 0xffff,
      fp.fop & 0xffff, fp.rip, fp.rdp, fp.mxcsr, fp.mxcsr_mask)
    .. array(fp.st_space, 32, "I4") .. array(fp.xmm_space, 64, "I4")
    .. array(fp.padding, 24, "I4")
end

-- XSAVE components in the standard (non-compacted) format, at the offsets
-- Intel CPUs report in CPUID leaf 0xD, which is where gdb looks for them.
local XSAVE_COMPONENTS = {
  { bit = 2, offset = 576,  field = "ymmh_space",   fmt = "I4", count = 64 },  -- AVX
  { bit = 3, offset = 960,  field = "bndreg_state", fmt = "i8", count = 8 },   -- MPX
  { bit = 4, offset = 1024, field = "bndcsr_state", fmt = "i8", count = 8 },
  { bit = 5, offset = 1088, field = "opmask_reg",   fmt = "i8", count = 8 },   -- AVX-512
  { bit = 6, offset = 1152, field = "zmm_upper",    fmt = "i8", count = 64 },
  { bit = 7, offset = 1664, field = "hi16_zmm",     fmt = "i8", count = 128 },
  { bit = 9, offset = 2688, field = "pkru",         fmt = "I4", count = 2 },   -- PKRU
}
local XSAVE_LEGACY_SW_BYTES = 464   -- the kernel puts XCR0 here (gdb reads it)

-- The XSAVE area of NT_X86_XSTATE, or nil when the image has no xsave.
-- criu keeps xstate_bv and the component contents but not XCR0: we set
-- XCR0 to x87|SSE plus every component the image holds, and the size to
-- the end of the last one (832 with AVX, 2688 with AVX-512, 2696 with PKRU).
local function x86_xsave(fp)
  local xs = fp.xsave
  if not xs then return nil end
  local xcr0, parts = 3, {}
  for _, c in ipairs(XSAVE_COMPONENTS) do
    local list = xs[c.field]
    if list and #list > 0 then
      xcr0 = xcr0 | (1 << c.bit)
      parts[#parts + 1] = { offset = c.offset, bytes = array(list, c.count, c.fmt) }
    end
  end
  local legacy = x86_fxsave(fp):sub(1, XSAVE_LEGACY_SW_BYTES)
    .. string_pack("<i8", xcr0) .. string_rep("\0", 40)
  local out = { legacy, string_pack("<i8i8", xs.xstate_bv & xcr0, 0), string_rep("\0", 48) }
  local at = 576
  for _, p in ipairs(parts) do
    if p.offset > at then out[#out + 1] = string_rep("\0", p.offset - at) end
    out[#out + 1] = p.bytes
    at = p.offset + #p.bytes
  end
  return table_concat(out)
end

local ARCH = {
  X86_64 = {
    machine = 62,   -- EM_X86_64
    info = "thread_info",
    compat = function(ti) return ti.gpregs.mode == "COMPAT" or ti.gpregs.mode == 2 end,
    gpregs = function(ti)
      local g = ti.gpregs
      local vals = {}
      for i, name in ipairs(X86_GPREGS) do vals[i] = g[name] end
      return string_pack("<" .. string_rep("i8", #vals), table_unpack(vals))
    end,
    thread_notes = function(ti)
      local notes = { note("CORE", NT_FPREGSET, x86_fxsave(ti.fpregs)) }
      local xsave = x86_xsave(ti.fpregs)
      if xsave then notes[#notes + 1] = note("LINUX", NT_X86_XSTATE, xsave) end
      return notes
    end,
  },
  AARCH64 = {
    machine = 183,  -- EM_AARCH64
    info = "ti_aarch64",
    gpregs = function(ti)   -- struct user_pt_regs
      local g = ti.gpregs
      return array(g.regs, 31, "i8") .. string_pack("<i8i8i8", g.sp, g.pc, g.pstate)
    end,
    thread_notes = function(ti)   -- struct user_fpsimd_state; the TLS register
      local f = ti.fpsimd
      return {
        note("CORE", NT_FPREGSET, array(f.vregs, 64, "i8") .. string_pack("<I4I4", f.fpsr, f.fpcr)
          .. string_rep("\0", 8)),
        note("LINUX", NT_ARM_TLS, string_pack("<i8", ti.tls)),
      }
    end,
  },
}
coredump.ARCH = ARCH

---------------------------------------------------------------------------
-- Notes

-- struct elf_prstatus: signal info, pids, times (zero), registers.
local function prstatus(arch, ti, tid, task, thread_core)
  local sighold = thread_core and thread_core.blk_sigset or 0
  return string_pack("<i4i4i4i2xxi8i8i4i4i4i4", 0, 0, 0, 0, 0, sighold,
      tid, task.ppid, task.pgid, task.sid)
    .. string_rep("\0", 64)                       -- utime, stime, cutime, cstime
    .. arch.gpregs(ti)
    .. string_pack("<i4xxxx", 1)                  -- pr_fpvalid
end

-- pr_state as the kernel numbers it ("RSDTZW"): criu does not record
-- whether an alive task was running or sleeping; we say sleeping.
local STATE = { [TASK_ALIVE] = 1, [TASK_STOPPED] = 3, [TASK_ZOMBIE] = 4, [TASK_DEAD] = 4 }

-- The command line, as the kernel fills pr_psargs: NULs as spaces, 79 bytes.
local function psargs(m)
  local mm = m.mm
  local len = math_min(mm.mm_arg_end - mm.mm_arg_start, 79)
  if len <= 0 then return "" end
  local s = m:read(mm.mm_arg_start, len)
  return (s:gsub("\0+$", ""):gsub("\0", " "))
end

-- struct elf_prpsinfo
local function prpsinfo(task, main, m)
  local tc, thc = main.tc or {}, main.thread_core or {}
  local state = STATE[tc.task_state] or 0
  local creds = thc.creds or {}
  return string_pack("<BBBbxxxxi8I4I4i4i4i4i4", state, ("RSDTZW"):byte(state + 1),
      state == 4 and 1 or 0, thc.sched_nice or 0, tc.flags or 0, creds.uid or 0,
      creds.gid or 0, task.pid, task.ppid, task.pgid, task.sid)
    .. fixed(tc.comm, 16) .. fixed(psargs(m), 80)
end

-- The saved auxiliary vector as (type, value) pairs up to AT_NULL.
local function auxv(mm)
  local a, parts = mm.mm_saved_auxv or {}, {}
  for i = 1, #a - 1, 2 do
    if a[i] == 0 then break end
    parts[#parts + 1] = string_pack("<i8i8", a[i], a[i + 1])
  end
  parts[#parts + 1] = string_pack("<i8i8", 0, 0)
  return table_concat(parts)
end

-- Regions the kernel lists in NT_FILE: those with a file (or shmem) name.
local function mapped_file_name(r)
  if r.kind == "file" or r.kind == "memfd" or r.kind == "anon-shared" or r.kind == "sysv-shm" then
    local name = r.name
    if name and name:sub(1, 1) == "/" then return name end
  end
  return nil
end

-- count, page size, (start, end, offset in pages) triples, then the names.
local function nt_file(m, page_size)
  local triples, names = {}, {}
  for i = 1, m.n do
    local r = m:region(i)
    local name = mapped_file_name(r)
    if name then
      triples[#triples + 1] = string_pack("<i8i8i8", r.start, r.stop, r.vma.pgoff // page_size)
      names[#names + 1] = name .. "\0"
    end
  end
  return string_pack("<i8i8", #triples, page_size) .. table_concat(triples) .. table_concat(names)
end

---------------------------------------------------------------------------
-- The checkpoint: the process, its threads and their registers.

local function core_of(d, tid)
  local c, err = d:core(tid)
  if not c then error(err, 0) end
  return c
end

local function thread_list(task)
  local tids = { task.pid }
  for _, tid in ipairs(task.threads or {}) do
    if tid ~= task.pid then tids[#tids + 1] = tid end
  end
  return tids
end

-- A core file holds pids in 32 signed bits (the kernel's are below 2^22):
-- a larger one in pstree.img is an error naming its entry and field.
local function check_pids(d, task)
  local function check(v, path)
    if v < 0 or v > 0x7fffffff then
      error(crit_error{ file = d:path_of("pstree"), entry = task.entry, path = path,
        message = string_format("%d is not a pid (a core file holds 0..2^31-1)", v) }, 0)
    end
  end
  for _, f in ipairs({ "pid", "ppid", "pgid", "sid" }) do check(task[f], f) end
  for i, tid in ipairs(task.threads or {}) do check(tid, "threads[" .. i .. "]") end
end

-- PRSTATUS, PRPSINFO, SIGINFO, AUXV, FILE for the main thread (the order
-- the kernel writes), then PRSTATUS and the register notes of each thread.
local function build_notes(d, task, m)
  check_pids(d, task)
  local main = task.core
  local arch = ARCH[main.mtype]
  if not arch then
    error(crit_error{ file = d:path_of("core-" .. task.pid), entry = 1, path = "mtype",
      message = "no core file support for " .. tostring(main.mtype) .. " tasks" }, 0)
  end
  local notes = {}
  for k, tid in ipairs(thread_list(task)) do
    local c = k == 1 and main or core_of(d, tid)
    local ti = c[arch.info]
    if not ti then
      error(crit_error{ file = d:path_of("core-" .. tid), entry = 1, path = arch.info, message = "missing" }, 0)
    end
    if arch.compat and arch.compat(ti) then
      error(crit_error{ file = d:path_of("core-" .. tid), entry = 1, path = arch.info .. ".gpregs.mode",
        message = "32-bit (compat) tasks are not supported" }, 0)
    end
    notes[#notes + 1] = note("CORE", NT_PRSTATUS, prstatus(arch, ti, tid, task, c.thread_core))
    if k == 1 then
      notes[#notes + 1] = note("CORE", NT_PRPSINFO, prpsinfo(task, main, m))
      notes[#notes + 1] = note("CORE", NT_SIGINFO, string_rep("\0", SIGINFO_SIZE))
      notes[#notes + 1] = note("CORE", NT_AUXV, auxv(m.mm))
      notes[#notes + 1] = note("CORE", NT_FILE, nt_file(m, m.page_size))
    else
      notes[#notes + 1] = note("CORE", NT_SIGINFO, string_rep("\0", SIGINFO_SIZE))
    end
    for _, n in ipairs(arch.thread_notes(ti)) do notes[#notes + 1] = n end
  end
  return arch, table_concat(notes)
end

---------------------------------------------------------------------------
-- Segments: one PT_LOAD per VMA, with what the dump has of it.

local function elf_flags(prot)
  return ((prot & 1 ~= 0) and PF_R or 0) | ((prot & 2 ~= 0) and PF_W or 0)
    | ((prot & 4 ~= 0) and PF_X or 0)
end

-- "rwxr-x---" (lfs) -> 0750.
local function permission_bits(perms)
  local bits = 0
  for i = 1, 9 do
    if perms:sub(i, i) ~= "-" then bits = bits | (1 << (9 - i)) end
  end
  return bits
end

-- The GNU build-id of the ELF file at path, as criu records it in
-- reg_file_entry.build_id (the note's bytes as little-endian 32-bit
-- words), or nil: not a 64-bit little-endian ELF, or no such note.
local NT_GNU_BUILD_ID = 3
local function build_id(path)
  local f = io_open(path, "rb")
  if not f then return nil end
  local function at(off, n) f:seek("set", off); return f:read(n) or "" end
  local ehdr = at(0, 64)
  local id
  if #ehdr == 64 and ehdr:sub(1, 6) == "\127ELF\2\1" then
    local phoff, phentsize, phnum = string_unpack("<I8", ehdr, 33), string_unpack("<I2", ehdr, 55),
      string_unpack("<I2", ehdr, 57)
    for i = 0, phnum - 1 do
      local ph = at(phoff + i * phentsize, 56)
      if #ph == 56 and string_unpack("<I4", ph) == PT_NOTE then
        local notes = at(string_unpack("<I8", ph, 9), math_min(string_unpack("<I8", ph, 33), 65536))
        local pos = 1
        while not id and pos + 12 <= #notes do
          local namesz, descsz, ntype = string_unpack("<I4I4I4", notes, pos)
          local name_at = pos + 12
          local desc_at = name_at + (namesz + 3) // 4 * 4
          if ntype == NT_GNU_BUILD_ID and notes:sub(name_at, name_at + 3) == "GNU\0" then
            local desc = notes:sub(desc_at, desc_at + descsz - 1)
            desc = desc .. string_rep("\0", (4 - #desc % 4) % 4)
            id = {}
            for k = 1, #desc, 4 do id[#id + 1] = string_unpack("<I4", desc, k) end
          end
          pos = desc_at + (descsz + 3) // 4 * 4
        end
      end
      if id then break end
    end
  end
  f:close()
  return id
end

local function same_build_id(a, b)
  if not a or #a ~= #b then return false end
  for i = 1, #b do if a[i] ~= b[i] then return false end end
  return true
end

-- The mapped file of a region, when it exists here with the size, the
-- permissions and (where the dump has one) the build-id the dump recorded: a dump names any path, and a file that
-- is not the one dumped (or one whose size the entry leaves out) must not
-- end up in a core. The core file itself is 0600 (coredump.write).
local function host_file(r, warn)
  local reg = r.file and r.file.reg
  if not reg or not r.name then return nil end
  local attr = lfs.attributes(reg.name)
  if not attr or attr.mode ~= "file" then return nil end
  if not reg.size or attr.size ~= reg.size then
    warn(string_format("%s: %d bytes here, %s when dumped: not used", reg.name, attr.size,
      reg.size and tostring(reg.size) or "no size"))
    return nil
  end
  local bits = permission_bits(attr.permissions)
  if not reg.mode or reg.mode & 511 ~= bits then
    warn(string_format("%s: mode %03o here, %s when dumped: not used", reg.name, bits,
      reg.mode and string_format("%03o", reg.mode & 511) or "no mode"))
    return nil
  end
  if reg.build_id and #reg.build_id > 0 and not same_build_id(build_id(reg.name), reg.build_id) then
    warn(string_format("%s: not the build-id recorded when dumped: not used", reg.name))
    return nil
  end
  return reg.name
end

-- Call add(from, to) for each run of consecutive dumped bytes of region i;
-- -> whether there was one.
local function dumped_runs(m, i, add)
  local from, to
  m:walk_region(i, m.vma.start[i], m.vma["end"][i], function(a, len, pages)
    if not pages then return end
    if to == a then to = a + len; return end
    if from then add(from, to) end
    from, to = a, a + len
  end)
  if from then add(from, to) end
  return from ~= nil
end

-- Anonymous memory that is not in the dump is zeros, so a VMA with any
-- dumped byte is written whole, its holes as zeros. A file-backed VMA's
-- missing pages are the file's, not zeros: without --with-files it gets a
-- segment per dumped run only, so that gdb reads the rest from the files
-- NT_FILE names. A VMA with nothing dumped has a segment without bytes
-- (p_filesz 0), as the kernel writes for untouched memory.
-- host(i, r) is the host file to copy region i from, or nil.
local function plan_region(m, i, host, emit)
  local r = m:region(i)
  local flags = elf_flags(r.vma.prot)
  local function add(from, to, filesz, file)
    emit({ vaddr = from, memsz = to - from, filesz = filesz, flags = flags, file = file, region = r })
  end
  local file = r.file_backed and host(i, r)
  if file then return add(r.start, r.stop, r.stop - r.start, file) end
  if r.kind == "vvar" or r.kind == "vsyscall" then return add(r.start, r.stop, 0) end
  if not r.file_backed then
    if dumped_runs(m, i, function() end) then return add(r.start, r.stop, r.stop - r.start) end
    return add(r.start, r.stop, 0)
  end
  if not dumped_runs(m, i, function(from, to) add(from, to, to - from) end) then add(r.start, r.stop, 0) end
end

--- coredump.each_segment(plan, fn): fn(seg) for each PT_LOAD segment in
--- order, seg = { vaddr=, memsz=, filesz=, flags=, file= (--with-files),
--- region= (m:region), offset= (in the core file) }: a table at a time,
--- made again on each call, however many VMAs (a core has a segment per
--- VMA).
function coredump.each_segment(plan, fn)
  local m, offset = plan.memory, plan.head_size
  for i = 1, m.n do
    plan_region(m, i, plan.host, function(s)
      if offset then s.offset, offset = offset, offset + s.filesz end
      return fn(s)
    end)
  end
end

-- host(i, r) for plan_region: with --with-files, the file on this host of a
-- file-backed region, checked once (and warned about once) per region.
local function host_files(with_files, warn)
  if not with_files then return function() return nil end end
  local known = {}
  return function(i, r)
    local file = known[i]
    if file == nil then
      file = host_file(r, warn) or false
      known[i] = file
    end
    return file or nil
  end
end

---------------------------------------------------------------------------
-- The ELF file

local function align(n, a) return (n + a - 1) // a * a end

local function elf_header(machine, phnum, shoff)
  local xnum = phnum >= PN_XNUM
  return string_pack("<c16I2I2I4i8i8i8I4I2I2I2I2I2I2",
    "\127ELF\2\1\1" .. string_rep("\0", 9),      -- 64-bit, little endian, SysV ABI
    ET_CORE, machine, EV_CURRENT, 0, EHDR_SIZE, xnum and shoff or 0, 0,
    EHDR_SIZE, PHDR_SIZE, xnum and PN_XNUM or phnum,
    xnum and SHDR_SIZE or 0, xnum and 1 or 0, 0)
end

-- With PN_XNUM, section header 0 holds the real number of segments.
local function extnum_section(phnum)
  return string_pack("<I4I4i8i8i8i8I4I4i8i8", 0, 0, 0, 0, 0, 0, 0, phnum, 0, 0)
end

local function phdr(type_, flags, offset, vaddr, filesz, memsz, align_)
  return string_pack("<I4I4i8i8i8i8i8i8", type_, flags, offset, vaddr, 0, filesz, memsz, align_)
end

-- Write the bytes before the first segment (headers, notes, padding) with
-- write(string): nsegs PT_LOAD headers, from each(fn) calling fn(seg) for
-- each segment in order. -> the size of those bytes.
local function write_head(write, machine, notes, nsegs, each, page_size)
  local phnum = nsegs + 1
  local xnum = phnum >= PN_XNUM
  local shoff = EHDR_SIZE + phnum * PHDR_SIZE
  local notes_at = shoff + (xnum and SHDR_SIZE or 0)
  local first = align(notes_at + #notes, page_size)
  write(elf_header(machine, phnum, shoff))
  write(phdr(PT_NOTE, 0, notes_at, 0, #notes, 0, 4))
  local offset = first
  each(function(s)
    write(phdr(PT_LOAD, s.flags, offset, s.vaddr, s.filesz, s.memsz, page_size))
    offset = offset + s.filesz
  end)
  if xnum then write(extnum_section(phnum)) end
  write(notes)
  if nsegs == 0 then return notes_at + #notes end
  write(string_rep("\0", first - notes_at - #notes))
  return first
end

--- coredump.layout(machine, notes, segs, page_size) -> the bytes before
--- the first segment (headers, notes, padding) of a list of segments;
--- sets seg.offset.
function coredump.layout(machine, notes, segs, page_size)
  local out = {}
  local size = write_head(function(bytes) out[#out + 1] = bytes end, machine, notes, #segs, function(fn)
    for _, seg in ipairs(segs) do fn(seg) end
  end, page_size)
  local offset = size
  for _, seg in ipairs(segs) do
    seg.offset = offset
    offset = offset + seg.filesz
  end
  return table_concat(out)
end

-- Copy `len` bytes of a file from `offset`, zeros past its end.
local function copy_file(out, path, offset, len)
  local f = assert(io_open(path, "rb"))
  f:seek("set", offset)
  while len > 0 do
    local s = f:read(math_min(len, 1 << 20))
    if not s then break end
    out:write(s)
    len = len - #s
  end
  f:close()
  if len > 0 then out:zeros(len) end
end

-- Write one segment's bytes: pages by copy_to (no Lua string), holes as
-- zeros or, for --with-files, the mapped file's bytes.
local function write_segment(out, m, s, progress)
  if s.filesz == 0 then return end
  local pgoff, done = s.region.vma.pgoff, 0
  for p in m:pieces(s.vaddr, s.vaddr + s.filesz) do
    if p.pages then
      -- in bounded steps: the output buffers what it is given at once
      for off = 0, p.len - 1, COPY_STEP do
        p.pages:copy_to(out, p.offset + off, math_min(COPY_STEP, p.len - off))
      end
    elseif s.file and p.why == "file" then
      copy_file(out, s.file, pgoff + (p.addr - s.region.start), p.len)
    else
      out:zeros(p.len)
    end
    done = done + p.len
    if progress then progress(p.len) end
  end
  if done ~= s.filesz then error("internal: segment size mismatch", 0) end
end

---------------------------------------------------------------------------

--- coredump.plan(d, pid [, opts]) -> plan | nil, message. The plan has
--- nsegs (PT_LOAD segments: coredump.each_segment gives them), total (file
--- size), pid, threads, memory, notes, arch. A zombie (no memory) returns
--- nil, "zombie".
function coredump.plan(d, pid, opts)
  opts = opts or {}
  local warn = opts.warn or function() end
  local opened, oerr = dir.of(d)
  if not opened then return nil, oerr end
  d = opened
  local task, err = d:task(pid)
  if not task then return nil, err end
  if task.zombie then
    return nil, string_format("pid %d: a zombie has no memory to dump", pid), "zombie"
  end
  local m
  m, err = memory.open(d, pid)
  if not m then return nil, err end
  local arch, notes = build_notes(d, task, m)
  local plan = { pid = pid, threads = thread_list(task), memory = m, arch = arch, notes = notes,
    host = host_files(opts.with_files, warn) }
  local nsegs, bytes = 0, 0
  coredump.each_segment(plan, function(s) nsegs, bytes = nsegs + 1, bytes + s.filesz end)
  plan.nsegs = nsegs
  plan.head_size = write_head(function() end, arch.machine, notes, nsegs, function() end, m.page_size)
  plan.total = plan.head_size + bytes
  return plan
end

--- coredump.write(d, pid, path [, opts]) -> true, plan | nil, message, why.
--- opts.with_files: fill file-backed VMAs from the files on this host;
--- opts.progress(done_bytes, total_bytes); opts.warn(message).
--- The file appears only when complete (an error leaves none).
function coredump.write(d, pid, path, opts)
  opts = opts or {}
  local plan, err, why = coredump.plan(d, pid, opts)
  if not plan then return nil, err, why end
  local out <close> = core.output(path, { private = true })
  local function each(fn) coredump.each_segment(plan, fn) end
  write_head(function(bytes) out:write(bytes) end, plan.arch.machine, plan.notes, plan.nsegs, each,
    plan.memory.page_size)
  local done, report = plan.head_size, opts.progress
  local progress = report and function(n) done = done + n; report(done, plan.total) end
  each(function(s) write_segment(out, plan.memory, s, progress) end)
  out:finish()
  return true, plan
end

coredump.note = note
coredump.x86_xsave = x86_xsave
return coredump
