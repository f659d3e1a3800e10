-- ELF core files from checkpoints: our own reading of the file (headers,
-- notes, segments), then what gdb and readelf make of it.
local coredump = require "crit.coredump"
local dir = require "crit.dir"
local memory = require "crit.memory"
local S = require "spec.support"
local M = require "spec.memory_support"

local PAGE = M.PAGE
local NT = { PRSTATUS = 1, FPREGSET = 2, PRPSINFO = 3, AUXV = 6, SIGINFO = 0x53494749,
  FILE = 0x46494c45, X86_XSTATE = 0x202 }

-- A small ELF64 core reader: header, program headers (PN_XNUM too), notes.
local function read_elf(path)
  local bytes = S.read(path)
  local e = {}
  e.ident, e.type, e.machine, e.version, e.entry, e.phoff, e.shoff, e.flags, e.ehsize,
    e.phentsize, e.phnum, e.shentsize, e.shnum, e.shstrndx =
    string.unpack("<c16I2I2I4i8i8i8I4I2I2I2I2I2I2", bytes)
  if e.phnum == 0xffff then
    e.phnum = string.unpack("<I4", bytes, e.shoff + 44 + 1)   -- section 0's sh_info
  end
  e.phdrs, e.notes = {}, {}
  for i = 0, e.phnum - 1 do
    local p = {}
    p.type, p.flags, p.offset, p.vaddr, p.paddr, p.filesz, p.memsz, p.align =
      string.unpack("<I4I4i8i8i8i8i8i8", bytes, e.phoff + i * 56 + 1)
    e.phdrs[#e.phdrs + 1] = p
  end
  local note = e.phdrs[1]
  local pos, stop = note.offset + 1, note.offset + note.filesz + 1
  while pos < stop do
    local namesz, descsz, ntype = string.unpack("<I4I4I4", bytes, pos)
    pos = pos + 12
    local name = bytes:sub(pos, pos + namesz - 2)
    pos = pos + (namesz + 3) // 4 * 4
    e.notes[#e.notes + 1] = { name = name, type = ntype, desc = bytes:sub(pos, pos + descsz - 1) }
    pos = pos + (descsz + 3) // 4 * 4
  end
  e.bytes = bytes
  return e
end

local function notes_of(e, ntype)
  local out = {}
  for _, n in ipairs(e.notes) do if n.type == ntype then out[#out + 1] = n end end
  return out
end

-- pr_pid and the 27 registers of an x86_64 NT_PRSTATUS.
local function prstatus(desc)
  local pid = string.unpack("<i4", desc, 33)
  local regs = { string.unpack("<" .. string.rep("i8", 27), desc, 113) }
  return pid, regs
end
local RIP, RSP = 17, 20   -- positions in user_regs_struct

local function sh(cmd)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  p:close()
  return out
end

local function write_core(path_dir, pid, opts)
  local out = S.tmpdir() .. "/core." .. pid
  local ok, plan = coredump.write(path_dir, pid, out, opts)
  assert(ok, plan)
  return out, plan
end

describe("coredump of the sleep fixture", function()
  after_each(S.cleanup)
  local pid = M.SLEEP_PID
  local d = assert(dir.open(M.SLEEP))
  local core = assert(d:core(pid))
  local mm = assert(d:mm(pid))

  it("is an x86_64 ET_CORE with a PT_NOTE and a PT_LOAD per VMA", function()
    local e = read_elf(write_core(M.SLEEP, pid))
    assert.are.equal("\127ELF\2\1\1", e.ident:sub(1, 7))
    assert.are.equal(4, e.type)
    assert.are.equal(62, e.machine)
    assert.are.equal(4, e.phdrs[1].type)
    for i = 2, #e.phdrs do
      local p = e.phdrs[i]
      assert.are.equal(1, p.type)
      assert.are.equal(0, p.offset % PAGE)
      assert.is_true(p.filesz == 0 or p.filesz == p.memsz)
    end
    -- anonymous VMAs are whole segments
    for _, v in ipairs(mm.vmas) do
      if v.status & M.VMA_ANON_PRIVATE ~= 0 then
        local found = false
        for i = 2, #e.phdrs do
          if e.phdrs[i].vaddr == v.start then
            found = true
            assert.are.equal(v["end"] - v.start, e.phdrs[i].memsz)
          end
        end
        assert.is_true(found)
      end
    end
  end)

  it("has the notes in the kernel's order", function()
    local e = read_elf(write_core(M.SLEEP, pid))
    local types = {}
    for i, n in ipairs(e.notes) do types[i] = n.type end
    assert.are.same({ NT.PRSTATUS, NT.PRPSINFO, NT.SIGINFO, NT.AUXV, NT.FILE, NT.FPREGSET,
      NT.X86_XSTATE }, types)
    assert.are.equal(336, #e.notes[1].desc)
    assert.are.equal(136, #e.notes[2].desc)
    assert.are.equal(128, #e.notes[3].desc)
    assert.are.equal(512, #e.notes[6].desc)
    assert.are.equal("LINUX", e.notes[7].name)
  end)

  it("puts the thread's registers in NT_PRSTATUS", function()
    local e = read_elf(write_core(M.SLEEP, pid))
    local tid, regs = prstatus(e.notes[1].desc)
    assert.are.equal(pid, tid)
    local g = core.thread_info.gpregs
    assert.are.equal(g.ip, regs[RIP])
    assert.are.equal(g.sp, regs[RSP])
    assert.are.equal(g.r15, regs[1])
    assert.are.equal(g.gs, regs[27])
  end)

  it("writes NT_PRPSINFO from the core and the command line", function()
    local e = read_elf(write_core(M.SLEEP, pid))
    local desc = e.notes[2].desc
    assert.are.equal("S", desc:sub(2, 2))
    assert.are.equal(pid, string.unpack("<i4", desc, 25))
    assert.are.equal("sleep", desc:sub(41, 56):match("^[^\0]*"))
    assert.are.equal("sleep 1000", desc:sub(57, 136):match("^[^\0]*"))
  end)

  it("writes NT_AUXV as (type, value) pairs ending with AT_NULL", function()
    local e = read_elf(write_core(M.SLEEP, pid))
    local desc = notes_of(e, NT.AUXV)[1].desc
    local a, k = mm.mm_saved_auxv, 0
    for pos = 1, #desc, 16 do
      local t, v = string.unpack("<i8i8", desc, pos)
      k = k + 1
      if t == 0 then
        assert.are.equal(#desc, pos + 15)
      else
        assert.are.equal(a[2 * k - 1], t)
        assert.are.equal(a[2 * k], v)
      end
    end
    local t6 = desc:find(string.pack("<i8i8", 6, 4096), 1, true)
    assert.truthy(t6, "AT_PAGESZ 4096")
  end)

  it("lists the mapped files in NT_FILE", function()
    local e = read_elf(write_core(M.SLEEP, pid))
    local desc = notes_of(e, NT.FILE)[1].desc
    local count, page = string.unpack("<i8i8", desc)
    assert.are.equal(PAGE, page)
    local files = 0
    for _, v in ipairs(mm.vmas) do
      if v.status & (64 | 128) ~= 0 then files = files + 1 end
    end
    assert.are.equal(files, count)
    local names = {}
    for name in desc:sub(17 + 24 * count):gmatch("([^\0]+)\0") do names[#names + 1] = name end
    assert.are.equal(count, #names)
    assert.are.equal("/usr/bin/sleep", names[1])
    local start, stop, off = string.unpack("<i8i8i8", desc, 17 + 24)   -- the second mapping
    assert.are.equal(mm.vmas[2].start, start)
    assert.are.equal(mm.vmas[2]["end"], stop)
    assert.are.equal(mm.vmas[2].pgoff // PAGE, off)
  end)

  it("rebuilds the XSAVE area: legacy, XCR0 at 464, header, components", function()
    local e = read_elf(write_core(M.SLEEP, pid))
    local xs = notes_of(e, NT.X86_XSTATE)[1].desc
    local fp = core.thread_info.fpregs
    assert.are.equal(notes_of(e, NT.FPREGSET)[1].desc:sub(1, 464), xs:sub(1, 464))
    local xcr0 = string.unpack("<i8", xs, 465)
    assert.are.equal(fp.xsave.xstate_bv & xcr0, string.unpack("<i8", xs, 513))
    assert.are.equal(3, xcr0 & 3)
    if xcr0 & 0xe0 == 0xe0 then assert.are.equal(2688, #xs) end
    local ymmh = { string.unpack("<" .. string.rep("I4", 64), xs, 577) }
    for i = 1, 64 do assert.are.equal(fp.xsave.ymmh_space[i], ymmh[i]) end
  end)

  it("holds the dumped bytes at the right file offsets", function()
    local e = read_elf(write_core(M.SLEEP, pid))
    local m = assert(memory.open(M.SLEEP, pid))
    local checked = 0
    for p in m:pieces() do
      if p.pages then
        for i = 2, #e.phdrs do
          local h = e.phdrs[i]
          if h.filesz > 0 and h.vaddr <= p.addr and p.addr + p.len <= h.vaddr + h.filesz then
            local at = h.offset + (p.addr - h.vaddr)
            assert.are.equal(p.pages:slice(p.offset, p.len), e.bytes:sub(at + 1, at + p.len))
            checked = checked + 1
          end
        end
      end
    end
    assert.is_true(checked > 5)
  end)

  it("writes zeros for untouched anonymous memory, nothing for a file's clean pages", function()
    local path, plan = write_core(M.SLEEP, pid)
    local e = read_elf(path)
    local heap, empty_files = nil, 0
    coredump.each_segment(plan, function(s) if s.region.name == "[heap]" then heap = s end end)
    assert.are.equal(heap.memsz, heap.filesz)
    local last = e.bytes:sub(heap.offset + heap.filesz - 99, heap.offset + heap.filesz)
    assert.are.equal(string.rep("\0", 100), last)
    coredump.each_segment(plan, function(s)
      if s.region.kind == "file" and plan.memory:dumped(s.region.index) == 0 then
        assert.are.equal(0, s.filesz)
        empty_files = empty_files + 1
      end
      if s.region.kind == "vvar" then assert.are.equal(0, s.filesz) end
    end)
    assert.is_true(empty_files > 0)
  end)

  it("leaves no file when writing fails half-way", function()
    local out = S.tmpdir() .. "/core.x"
    local calls = 0
    assert.has_error(function()
      coredump.write(M.SLEEP, pid, out, { progress = function()
        calls = calls + 1
        if calls == 3 then error("disk on fire") end
      end })
    end, "disk on fire")
    assert.is_false(S.exists(out))
  end)

  it("copies mapped files' contents with --with-files", function()
    local f = io.open("/usr/bin/sleep", "rb")
    local size = f and f:seek("end")
    if f then f:close() end
    local reg = d:file(mm.vmas[1].shmid).reg
    if size ~= reg.size then
      pending("/usr/bin/sleep here is not the dumped one")
      return
    end
    local path, plan = write_core(M.SLEEP, pid, { with_files = true })
    local e = read_elf(path)
    local seg
    coredump.each_segment(plan, function(s) seg = seg or s end)
    assert.are.equal(mm.vmas[1].start, seg.vaddr)
    assert.are.equal(seg.memsz, seg.filesz)
    assert.are.equal("\127ELF", e.bytes:sub(seg.offset + 1, seg.offset + 4))
  end)
end)

describe("coredump of many processes", function()
  after_each(S.cleanup)

  it("skips the zombie with a note and writes the others", function()
    local out = S.tmpdir()
    local status, stdout, stderr = M.run("coredump", { M.MISC, "-o", out })
    assert.are.equal(0, status)
    assert.matches("skipping pid 31113: a zombie has no memory", stderr)
    local tasks = assert(assert(dir.open(M.MISC)):tasks())
    for _, t in ipairs(tasks) do
      assert.are.equal(not t.zombie, S.exists(out .. "/core." .. t.pid), "core." .. t.pid)
    end
    assert.matches("core%.31110: 1 thread, %d+ segments, %d+ bytes", stdout)
  end)

  it("writes one process with --pid", function()
    local out = S.tmpdir()
    local status = M.run("coredump", { M.MISC, "-o", out, "--pid", "31114" })
    assert.are.equal(0, status)
    assert.are.same({ "core.31114" }, S.ls(out))
  end)

  it("fails on a missing directory", function()
    local status, _, err = M.run("coredump", { "/nonexistent/dump" })
    assert.are.equal(1, status)
    assert.matches("nonexistent", err)
  end)
end)

describe("ELF layout", function()
  after_each(S.cleanup)

  it("counts more than 65535 segments with PN_XNUM", function()
    local segs = {}
    for i = 1, 70000 do
      segs[i] = { vaddr = 0x10000000 + i * 2 * PAGE, memsz = PAGE, filesz = 0, flags = 6 }
    end
    segs[70000].filesz = PAGE
    local notes = coredump.note("CORE", NT.PRSTATUS, string.rep("\0", 336))
    local path = S.tmpdir() .. "/xnum.core"
    S.write(path, coredump.layout(62, notes, segs, PAGE) .. string.rep("Z", PAGE))
    local e = read_elf(path)
    assert.are.equal(0xffff, string.unpack("<I2", e.bytes, 57))
    assert.are.equal(70001, e.phnum)
    assert.are.equal(1, e.shnum)
    assert.are.equal(segs[70000].vaddr, e.phdrs[70001].vaddr)
    assert.are.equal("Z", e.bytes:sub(e.phdrs[70001].offset + 1, e.phdrs[70001].offset + 1))
    if M.have("readelf") then
      assert.matches("Number of program headers:%s+65535 %(70001%)", sh("readelf -h " .. path))
    end
  end)

  it("leaves long zero runs as holes of a sparse file, sized at the end", function()
    local path = S.tmpdir() .. "/sparse"
    local out = require("crit.core").output(path)
    out:write("ab")
    out:zeros(8 << 20)
    out:write("cd")
    out:zeros(1 << 20)
    out:finish()
    local bytes = S.read(path)
    assert.are.equal(2 + (8 << 20) + 2 + (1 << 20), #bytes)
    assert.are.equal("ab", bytes:sub(1, 2))
    assert.are.equal("cd", bytes:sub(3 + (8 << 20), 4 + (8 << 20)))
    assert.is_nil(bytes:find("[^\0]", 3 + (8 << 20) + 2))
    local blocks = tonumber(sh("stat -c %b " .. path):match("%d+"))
    assert.is_true(blocks * 512 < (1 << 20), "the holes take no space: " .. blocks .. " blocks")
  end)

  it("pads note names and descriptions to 4 bytes", function()
    local n = coredump.note("LINUX", 0x401, "abcde")
    assert.are.equal(12 + 8 + 8, #n)
    local namesz, descsz, ntype = string.unpack("<I4I4I4", n)
    assert.are.same({ 6, 5, 0x401 }, { namesz, descsz, ntype })
  end)

  it("has an aarch64 register layout", function()
    local a = coredump.ARCH.AARCH64
    local regs = {}
    for i = 1, 31 do regs[i] = i end
    local ti = { tls = 7, gpregs = { regs = regs, sp = 32, pc = 33, pstate = 34 },
      fpsimd = { vregs = {}, fpsr = 1, fpcr = 2 } }
    local g = a.gpregs(ti)
    assert.are.equal(34 * 8, #g)
    assert.are.equal(33, string.unpack("<i8", g, 32 * 8 + 1))
    local notes = a.thread_notes(ti)
    assert.are.equal(12 + 8 + 528, #notes[1])
    assert.are.equal(183, a.machine)
  end)
end)

local have_gdb = M.have("gdb")
local with_gdb = have_gdb and it or pending

-- gdb -batch on a core: its output.
local function gdb(core, ...)
  local cmd = { "gdb -batch -nx -c '" .. core .. "'" }
  for _, c in ipairs({ ... }) do cmd[#cmd + 1] = "-ex '" .. c .. "'" end
  return sh(table.concat(cmd, " "))
end

-- { [lwp] = { rip =, rsp = } } from `thread apply all info registers rip rsp`.
local function gdb_threads(out)
  local threads, lwp = {}, nil
  for line in out:gmatch("[^\n]+") do
    local l = line:match("^Thread %d+ %(LWP (%d+)%)")
    if l then lwp = tonumber(l); threads[lwp] = {} end
    local reg, v = line:match("^(r[is]p)%s+0x(%x+)")
    if lwp and reg then threads[lwp][reg] = tonumber(v, 16) end
  end
  return threads
end

describe("gdb on a core", function()
  after_each(S.cleanup)

  with_gdb("sees the thread, its registers and the command line of sleep", function()
    local pid = M.SLEEP_PID
    local d = assert(dir.open(M.SLEEP))
    local path = write_core(M.SLEEP, pid)
    local mm = d:mm(pid)
    local out = gdb(path, "info threads", "thread apply all info registers rip rsp",
      string.format("x/s 0x%x", mm.mm_arg_start))
    assert.matches("LWP " .. pid, out)
    local g = d:core(pid).thread_info.gpregs
    assert.are.same({ [pid] = { rip = g.ip, rsp = g.sp } }, gdb_threads(out))
    assert.matches(string.format('0x%x:%%s+"sleep"', mm.mm_arg_start), out)
    assert.matches("Core was generated by `sleep 1000'", out)
  end)

  local corpus_gdb = (have_gdb and M.have_corpus()) and it or pending
  corpus_gdb("sees all 5 threads of pyfds with their registers, and the heap marker", function()
    local C = M.SHARED_CORPUS .. "/pyfds"
    local d = assert(dir.open(C))
    local task = assert(d:task(31039))
    local path = write_core(C, 31039)
    local m = assert(memory.open(d, 31039))
    local marker = m:find("CRIT-CORPUS-MARKER-000000-")()
    local out = gdb(path, "info threads", "thread apply all info registers rip rsp",
      string.format("x/s 0x%x", marker))
    local threads = gdb_threads(out)
    assert.are.equal(5, #task.threads)
    for _, tid in ipairs(task.threads) do
      local g = d:core(tid).thread_info.gpregs
      assert.are.same({ rip = g.ip, rsp = g.sp }, threads[tid], "thread " .. tid)
    end
    assert.matches(string.format('0x%x:%%s+"CRIT%%-CORPUS%%-MARKER%%-000000%%-', marker), out)
  end)
end)

local with_readelf = M.have("readelf") and it or pending

describe("readelf on a core", function()
  after_each(S.cleanup)

  with_readelf("lists every note type", function()
    local out = sh("readelf -n -W " .. write_core(M.SLEEP, M.SLEEP_PID))
    for _, name in ipairs({ "NT_PRSTATUS", "NT_PRPSINFO", "NT_AUXV", "NT_FILE", "NT_FPREGSET",
      "NT_SIGINFO", "NT_X86_XSTATE" }) do
      assert.truthy(out:find(name, 1, true), name)
    end
  end)

  with_readelf("finds nothing to warn about", function()
    local cores = { (write_core(M.SLEEP, M.SLEEP_PID)), (write_core(M.SLEEP_OLD, M.SLEEP_OLD_PID)) }
    if M.have_corpus() then
      cores[#cores + 1] = (write_core(M.SHARED_CORPUS .. "/pyfds", 31039))
      cores[#cores + 1] = (write_core(M.SHARED_CORPUS .. "/ipcns", 31177))
    end
    for _, path in ipairs(cores) do
      for line in sh("readelf -a -W " .. path):gmatch("[^\n]+") do
        local l = line:lower()
        assert.is_nil(l:find("warning", 1, true) or l:find("error", 1, true), line)
      end
    end
  end)
end)
