-- crit.memory: process memory through pagemap + pages, checked against
-- offsets computed by hand, on real fixtures and on synthetic dumps that
-- hold every case (holes, lazy pages, parent chains, old layouts, shmem).
local crit = require "crit"
local dir = require "crit.dir"
local memory = require "crit.memory"
local S = require "spec.support"
local M = require "spec.memory_support"

local PAGE = M.PAGE

-- The present pagemap entries of a real dump: { {vaddr=, len=} ... }
local function present_runs(path, pid)
  local runs = {}
  local pm = assert(crit.open(path .. "/pagemap-" .. pid .. ".img"))
  for k = 2, #pm do
    local e = pm[k]
    local flags = e.flags or M.PE_PRESENT
    if flags & M.PE_PRESENT ~= 0 then
      runs[#runs + 1] = { vaddr = e.vaddr, len = (e.nr_pages or e.compat_nr_pages) * PAGE }
    end
  end
  return runs
end

local function check_against_hand(path, pid)
  local m = assert(memory.open(path, pid))
  local runs = present_runs(path, pid)
  assert.is_true(#runs > 5)
  for _, r in ipairs(runs) do
    -- the whole run, a slice across its middle, the last bytes
    for _, span in ipairs({ { r.vaddr, r.len }, { r.vaddr + r.len // 2 - 7, 100 },
      { r.vaddr + r.len - 16, 16 } }) do
      local want = M.by_hand(path, pid, span[1], span[2])
      local got, holes = m:read(span[1], span[2])
      assert.is_nil(holes)
      assert.are.equal(want, got, string.format("%x+%d", span[1], span[2]))
    end
  end
end

describe("memory of a real dump", function()
  it("reads what the pagemap says, at every present run (criu 4.2 nr_pages)", function()
    check_against_hand(M.SLEEP, M.SLEEP_PID)
  end)

  it("reads the pre-4.2 layout (compat_nr_pages only)", function()
    local pm = assert(crit.open(M.SLEEP_OLD .. "/pagemap-" .. M.SLEEP_OLD_PID .. ".img"))
    assert.is_nil(pm[2].nr_pages)
    check_against_hand(M.SLEEP_OLD, M.SLEEP_OLD_PID)
  end)

  it("reads argv and the environment from the stack", function()
    local m = assert(memory.open(M.SLEEP, M.SLEEP_PID))
    local mm = m.mm
    local args = m:read(mm.mm_arg_start, mm.mm_arg_end - mm.mm_arg_start)
    assert.are.equal("sleep\0" .. "1000\0", args)
    local env = m:read(mm.mm_env_start, mm.mm_env_end - mm.mm_env_start)
    assert.truthy(env:find("SHELL=/bin/bash\0", 1, true))
  end)

  it("fills holes with zeros and says why they are holes", function()
    local m = assert(memory.open(M.SLEEP, M.SLEEP_PID))
    local regions = m:regions()
    local heap, exe, vvar
    for _, r in ipairs(regions) do
      if r.name == "[heap]" then heap = r end
      if r.name == "[vvar]" then vvar = r end
      if not exe and r.kind == "file" and r.dumped == 0 then exe = r end
    end
    assert.are.equal("anon", heap.kind)
    assert.are.equal(4 * PAGE, heap.dumped)
    -- the heap's end was never touched: not in the dump
    local bytes, holes = m:read(heap.stop - 32, 32)
    assert.are.equal(string.rep("\0", 32), bytes)
    assert.are.same({ { addr = heap.stop - 32, len = 32, why = "not-dumped" } }, holes)
    -- a clean page of the executable is the file's
    bytes, holes = m:read(exe.start, 8)
    assert.are.equal(string.rep("\0", 8), bytes)
    assert.are.equal("file", holes[1].why)
    assert.are.equal("not-dumped", select(2, m:read(vvar.start, 1))[1].why)
    -- past the last VMA below [vsyscall], and a read across a VMA's end
    local last = regions[#regions - 1]
    bytes, holes = m:read(last.stop - 8, 16)
    assert.are.equal(16, #bytes)
    assert.are.equal("unmapped", holes[#holes].why)
    assert.are.equal(last.stop, holes[#holes].addr)
  end)

  it("orders [vsyscall] last: addresses compare unsigned", function()
    local m = assert(memory.open(M.SLEEP, M.SLEEP_PID))
    local regions = m:regions()
    assert.are.equal("[vsyscall]", regions[#regions].name)
    assert.are.equal(regions[#regions], m:region_at(-10485760 + 16) and regions[#regions])
    assert.are.equal("[vsyscall]", m:region_at(-10485760 + 16).name)
  end)

  it("streams pieces that cover every region exactly", function()
    local m = assert(memory.open(M.SLEEP, M.SLEEP_PID))
    local want = {}
    for _, r in ipairs(m:regions()) do want[#want + 1] = r end
    local at, k, dumped, region = nil, 0, 0, nil
    for p in m:pieces() do
      if p.region ~= region then
        k, region = k + 1, p.region
        assert.are.equal(want[k].start, p.addr)
        if at then assert.are.equal(want[k - 1].stop, at) end
      else
        assert.are.equal(at, p.addr)
      end
      at = p.addr + p.len
      if p.pages then
        dumped = dumped + p.len
        assert.are.equal(M.by_hand(M.SLEEP, M.SLEEP_PID, p.addr, math.min(p.len, 64)),
          p.pages:slice(p.offset, math.min(p.len, 64)))
      end
    end
    assert.are.equal(#want, k)
    local present = 0
    for _, r in ipairs(present_runs(M.SLEEP, M.SLEEP_PID)) do present = present + r.len end
    assert.are.equal(present, dumped)
  end)

  it("finds strings across the whole memory", function()
    local m = assert(memory.open(M.SLEEP, M.SLEEP_PID))
    local found = {}
    for addr, bytes, region in m:find("SHELL=") do found[#found + 1] = { addr, bytes, region } end
    assert.is_true(#found >= 1)
    assert.are.equal("SHELL=", m:read(found[1][1], 6))
    assert.are.equal("[stack]", found[#found][3].name)
    local n = 0
    for _, bytes in m:find("SHELL=[%w/]+", { pattern = true }) do
      n = n + 1
      assert.are.equal("SHELL=/bin/bash", bytes)
    end
    assert.is_true(n >= 1)
  end)

  it("says a zombie has no memory", function()
    local m, err = memory.open(M.MISC, 31113)
    assert.is_nil(m)
    assert.matches("no memory image", err)
  end)
end)

describe("memory of a synthetic dump", function()
  after_each(S.cleanup)

  local PID = 42
  local A = 0x10000

  -- VMA A..A+16 pages; pagemap (deliberately out of order):
  --   A+5 1 page present "E" (first in pages-1), A 2 pages present "A","B",
  --   A+2 lazy, A+3 2 pages in parent, A+6..A+16 not in the pagemap.
  -- parent: A+3 present "P", A+4 in its parent (missing).
  local function synthetic(root, opts)
    opts = opts or {}
    local d = root .. "/dump"
    local entries = {
      { vaddr = A + 5 * PAGE, nr_pages = 1, flags = M.PE_PRESENT },
      { vaddr = A, nr_pages = 2, flags = M.PE_PRESENT },
      { vaddr = A + 2 * PAGE, nr_pages = 1, flags = M.PE_LAZY },
      { vaddr = A + 3 * PAGE, nr_pages = 2, flags = M.PE_PARENT },
    }
    M.write_dump(d, PID, { M.vma(A, A + 16 * PAGE) },
      { pages_id = 1, entries = entries, pages = M.page("E") .. M.page("A") .. M.page("B") })
    if opts.parent then
      local p = root .. "/parent-dump"
      os.execute("mkdir -p '" .. p .. "'")
      M.write_pagemap(p, "pagemap-" .. PID, { pages_id = 1, pages = M.page("P"), entries = {
        { vaddr = A + 3 * PAGE, nr_pages = 1, flags = M.PE_PRESENT },
        { vaddr = A + 4 * PAGE, nr_pages = 1, flags = M.PE_PARENT } } })
      os.execute("ln -s ../parent-dump '" .. d .. "/parent'")
    end
    return d
  end

  it("sorts the pagemap and keeps each entry's offset in pages-N", function()
    local d = synthetic(S.tmpdir())
    local m = assert(memory.open(d, PID))
    assert.are.equal(M.page("A") .. M.page("B"), (m:read(A, 2 * PAGE)))
    assert.are.equal(M.page("E"), (m:read(A + 5 * PAGE, PAGE)))
    -- a read across two entries stored in the other order in pages-1
    local bytes = m:read(A + 4 * PAGE + PAGE - 3, 6)
    assert.are.equal("\0\0\0E..", bytes)
  end)

  it("reports lazy pages, missing parent pages and untouched pages", function()
    local d = synthetic(S.tmpdir())
    local m = assert(memory.open(d, PID))
    local bytes, holes = m:read(A + PAGE, 7 * PAGE)
    assert.are.equal(7 * PAGE, #bytes)
    assert.are.equal(M.page("B"), bytes:sub(1, PAGE))
    assert.are.same({
      { addr = A + 2 * PAGE, len = PAGE, why = "lazy" },
      { addr = A + 3 * PAGE, len = 2 * PAGE, why = "parent" },
      { addr = A + 6 * PAGE, len = 2 * PAGE, why = "not-dumped" },
    }, holes)
    local r = m:regions()[1]
    assert.are.equal(3 * PAGE, r.dumped)
    assert.are.equal(PAGE, r.lazy_bytes)
    assert.are.equal(2 * PAGE, r.parent_bytes)
  end)

  it("follows the parent link for PE_PARENT pages, down the chain", function()
    local d = synthetic(S.tmpdir(), { parent = true })
    local m = assert(memory.open(d, PID))
    local bytes, holes = m:read(A + 3 * PAGE, 2 * PAGE)
    assert.are.equal(M.page("P"), bytes:sub(1, PAGE))
    assert.are.same({ { addr = A + 4 * PAGE, len = PAGE, why = "parent" } }, holes)
  end)

  it("reads images older than flags: no flags means present, in_parent means parent", function()
    local d = S.tmpdir() .. "/old"
    M.write_dump(d, PID, { M.vma(A, A + 4 * PAGE) }, { pages_id = 1,
      pages = M.page("X") .. M.page("Y"), entries = {
        { vaddr = A, compat_nr_pages = 1 },
        { vaddr = A + PAGE, compat_nr_pages = 1, in_parent = true },
        { vaddr = A + 2 * PAGE, compat_nr_pages = 1 } } })
    local m = assert(memory.open(d, PID))
    local bytes, holes = m:read(A, 3 * PAGE)
    assert.are.equal(M.page("X") .. string.rep("\0", PAGE) .. M.page("Y"), bytes)
    assert.are.same({ { addr = A + PAGE, len = PAGE, why = "parent" } }, holes)
  end)

  it("reads shared memory through pagemap-shmem, at the VMA's pgoff", function()
    local d = S.tmpdir() .. "/shm"
    local B = 0x40000
    M.write_dump(d, PID, {
      M.vma(B, B + 4 * PAGE, { status = M.VMA_REGULAR | M.VMA_ANON_SHARED, shmid = 77,
        pgoff = 2 * PAGE, flags = 0x21 }),
    }, { pages_id = 1, entries = {}, pages = "" }, {
      [77] = { pages_id = 2, pages = M.page("s2") .. M.page("s3"), entries = {
        { vaddr = 2 * PAGE, nr_pages = 2, flags = M.PE_PRESENT } } },
    })
    local m = assert(memory.open(d, PID))
    local r = m:regions()[1]
    assert.are.equal("anon-shared", r.kind)
    assert.are.equal(77, r.shmid)
    assert.are.equal("rw-s", r.perms)
    local bytes, holes = m:read(B, 3 * PAGE)
    assert.are.equal(M.page("s2") .. M.page("s3") .. string.rep("\0", PAGE), bytes)
    assert.are.same({ { addr = B + 2 * PAGE, len = PAGE, why = "not-dumped" } }, holes)
  end)

  it("reads a private memfd mapping: own pages first, the memfd's below", function()
    local d = S.tmpdir() .. "/memfd"
    local B = 0x40000
    M.write_dump(d, PID, {
      M.vma(B, B + 2 * PAGE, { status = M.VMA_REGULAR | M.VMA_FILE_PRIVATE | M.VMA_MEMFD,
        shmid = 9, flags = 0x2 }),
    }, { pages_id = 1, pages = M.page("own"), entries = {
      { vaddr = B + PAGE, nr_pages = 1, flags = M.PE_PRESENT } } }, {
      [555] = { pages_id = 2, pages = M.page("m0") .. M.page("m1"), entries = {
        { vaddr = 0, nr_pages = 2, flags = M.PE_PRESENT } } },
    })
    M.write_image(d .. "/files.img", "FILES", { { id = 9, type = "MEMFD",
      memfd = { id = 9, flags = 0, pos = 0, fown = { uid = 0, euid = 0, signum = 0,
        pid_type = 0, pid = 0 }, inode_id = 3 } } })
    M.write_image(d .. "/memfd.img", "MEMFD_INODE", { { name = "buf", uid = 0, gid = 0,
      size = 2 * PAGE, shmid = 555, inode_id = 3, seals = 0 } })
    local m = assert(memory.open(d, PID))
    local r = m:regions()[1]
    assert.are.equal("memfd", r.kind)
    assert.are.equal("/memfd:buf (deleted)", r.name)
    assert.are.equal(M.page("m0") .. M.page("own"), (m:read(B, 2 * PAGE)))
  end)

  it("finds a string split between two page runs stored apart, and across 1 MiB chunks", function()
    local d = S.tmpdir() .. "/split"
    local B = 0x100000
    local big = 300                              -- pages: more than one scan chunk
    local first = M.page("", "a"):sub(1, PAGE - 5) .. "NEEDL"   -- page at B + PAGE
    local second = "E-HERE" .. M.page("", "b"):sub(7)          -- page at B + 2 * PAGE
    local tail = {}
    for i = 1, big do tail[i] = M.page("", "c") end
    -- a marker across the 1 MiB boundary of one long run
    local run = table.concat(tail)
    local cut = (1 << 20) - 3
    run = run:sub(1, cut) .. "NEEDLE-HERE" .. run:sub(cut + 12)
    M.write_dump(d, PID, { M.vma(B, B + (3 + big) * PAGE) }, { pages_id = 1,
      pages = second .. first .. run, entries = {
        { vaddr = B + 2 * PAGE, nr_pages = 1, flags = M.PE_PRESENT },
        { vaddr = B + PAGE, nr_pages = 1, flags = M.PE_PRESENT },
        { vaddr = B + 3 * PAGE, nr_pages = big, flags = M.PE_PRESENT } } })
    local m = assert(memory.open(d, PID))
    local hits = {}
    for addr in m:find("NEEDLE-HERE") do hits[#hits + 1] = addr end
    assert.are.same({ B + 2 * PAGE - 5, B + 3 * PAGE + cut }, hits)
    hits = {}
    for addr, bytes in m:find("N[DEL]+%-HERE", { pattern = true }) do
      hits[#hits + 1] = addr
      assert.are.equal("NEEDLE-HERE", bytes)
    end
    assert.are.same({ B + 2 * PAGE - 5, B + 3 * PAGE + cut }, hits)
  end)

  it("does not join matches across a hole", function()
    local d = S.tmpdir() .. "/hole"
    local B = 0x100000
    M.write_dump(d, PID, { M.vma(B, B + 3 * PAGE) }, { pages_id = 1,
      pages = M.page("", "x"):sub(1, PAGE - 3) .. "ABC" .. M.page("DEF"), entries = {
        { vaddr = B, nr_pages = 1, flags = M.PE_PRESENT },
        { vaddr = B + 2 * PAGE, nr_pages = 1, flags = M.PE_PRESENT } } })
    local m = assert(memory.open(d, PID))
    assert.is_nil(m:find("ABCDEF")())
    assert.are.equal(B + PAGE - 3, m:find("ABC")())
  end)

  it("refuses a pages image shorter than its pagemap", function()
    local d = S.tmpdir() .. "/short"
    M.write_dump(d, PID, { M.vma(A, A + 2 * PAGE) }, { pages_id = 1, pages = M.page("A"),
      entries = { { vaddr = A, nr_pages = 2, flags = M.PE_PRESENT } } })
    local m = assert(memory.open(d, PID))
    assert.has_error(function() m:read(A, 1) end)
  end)

  it("takes a crit.dir object too", function()
    local d = synthetic(S.tmpdir())
    local m = assert(memory.open(assert(dir.open(d)), PID))
    assert.are.equal("A", m:read(A, 1))
  end)
end)

describe("memory of the shared corpus", function()
  local have = M.have_corpus()
  local test = have and it or pending
  local C = M.SHARED_CORPUS

  test("pyfds: the 1024 heap markers are all in the heap", function()
    local m = assert(memory.open(C .. "/pyfds", 31039))
    local seen, n = {}, 0
    for _, bytes, region in m:find("CRIT%-CORPUS%-MARKER%-(%d%d%d%d%d%d)%-", { pattern = true }) do
      n = n + 1
      seen[bytes:sub(20, 25)] = region.name
    end
    assert.are.equal(1024, n)
    for i = 0, 1023 do assert.are.equal("[heap]", seen[string.format("%06d", i)]) end
  end)

  test("pyfds: the memfd mapping holds the marker, read through pagemap-shmem", function()
    local m = assert(memory.open(C .. "/pyfds", 31039))
    for _, r in ipairs(m:regions()) do
      if r.name == "/memfd:crit-corpus-memfd (deleted)" then
        assert.are.equal(string.rep("CRIT-CORPUS-MARKER", 100), (m:read(r.start, 1800)))
        return
      end
    end
    error("no memfd region")
  end)

  test("ipcns: SysV shm pages at their offsets, named as the kernel does", function()
    local m = assert(memory.open(C .. "/ipcns", 31177))
    for _, r in ipairs(m:regions()) do
      if r.kind == "sysv-shm" and r.dumped > 0 then
        assert.are.equal("/SYSV00001234 (deleted)", r.name)
        assert.are.equal("CRIT-CORPUS-MARKER sysv shm attached\0", (m:read(r.start, 37)))
        assert.are.equal("third page\0", (m:read(r.start + 2 * PAGE, 11)))
        local _, holes = m:read(r.start + PAGE, PAGE)
        assert.are.equal("not-dumped", holes[1].why)
        return
      end
    end
    error("no SysV shm region")
  end)
end)
