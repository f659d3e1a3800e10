-- Bounded memory and hostile dumps: raw data is copied in bounded chunks
-- and holes stay holes; duplicate tasks are an error; coredump copies a
-- host file only when it is the file the dump recorded.
local crit = require "crit"
local core = require "crit.core"
local S = require "spec.support"

local LUA = "lua5.4 -e 'package.path=\"./lua/?.lua;./lua/?/init.lua;\"..package.path; "
  .. "package.cpath=\"" .. S.CPATH .. ";\"..package.cpath' "

-- Give the sleep dump's task one more anonymous private VMA of `pages`
-- pages at `start` (above its stack, below vsyscall), present in the dump:
-- its pages are appended to pages-1.img by the caller.
local function edit_mm_and_pagemap(dir, start, pages)
  local mm = assert(crit.open(dir .. "/mm-30956.img"))
  local vmas = mm[1].vmas
  table.insert(vmas, #vmas, { start = start, ["end"] = start + pages * 4096, pgoff = 0, shmid = 0,
    prot = 3, flags = 0x22, status = 0x21, fd = -1 }) -- RW, MAP_PRIVATE|MAP_ANONYMOUS; REGULAR|ANON_PRIVATE
  mm:write(dir .. "/mm-30956.img")
  local pm = assert(crit.open(dir .. "/pagemap-30956.img"))
  pm:append({ vaddr = start, compat_nr_pages = 0, nr_pages = pages, flags = 4 }) -- PE_PRESENT
  pm:write(dir .. "/pagemap-30956.img")
end

describe("bounded", function()
  after_each(S.cleanup)

  it("writing a 256 MiB raw image takes a few MiB, and its holes stay holes", function()
    if not S.exists("/usr/bin/time") then return pending("no /usr/bin/time") end
    local dir = S.tmpdir()
    local src, dst = dir .. "/pages-7.img", dir .. "/out-pages-7.img"
    assert(os.execute("truncate -s 256M " .. src))
    local f = assert(io.open(src, "r+b"))
    f:seek("set", 100 << 20)
    f:write("data in the middle")
    f:close()
    local script = dir .. "/w.lua"
    S.write(script, ("local crit = require 'crit'; assert(crit.open(%q)):write(%q)"):format(src, dst))
    local r = S.sh("/usr/bin/time -f '%M' " .. LUA .. script)
    assert.are.equal(0, r.code, r.err)
    local kib = tonumber(r.err:match("(%d+)%s*$"))
    assert.is_true(kib < 64 * 1024, "peak " .. kib .. " KiB")
    assert.are.equal(0, S.sh("cmp " .. src .. " " .. dst).code)
    local blocks = tonumber(S.sh("stat -c %b " .. dst).out:match("%d+"))
    assert.is_true(blocks * 512 < (1 << 20), "the holes take no space: " .. blocks .. " blocks")
  end)

  it("img:items reads mm's VMAs as decoding lists them, and names the element of an error", function()
    local dir = S.copy_dump("sleep")
    local img = assert(crit.open(dir .. "/mm-30956.img"))
    local want = img:entry(1).vmas
    local head = img:entry(1, "vmas")
    assert.is_nil(head.vmas)
    assert.are.equal(img:entry(1).exe_file_id, head.exe_file_id)
    local n = 0
    for j, s, e, st, fd in img:items(1, "vmas", "start", "end", "status", "fd") do
      n = j
      assert.are.same({ want[j].start, want[j]["end"], want[j].status, want[j].fd }, { s, e, st, fd })
    end
    assert.are.equal(#want, n)
    -- the same through d:vma_fields, and over an edited entry (a table)
    local d = assert(require("crit.dir").open(dir))
    n = 0
    for j, s in d:vma_fields(30956, "start") do n = j; assert.are.equal(want[j].start, s) end
    assert.are.equal(#want, n)
    img[1].vmas[2].start = 4096
    local starts = {}
    for j, s in img:items(1, "vmas", "start") do starts[j] = s end
    assert.are.equal(4096, starts[2])
    -- an element without a required field (the encoder refuses to make
    -- one: the bytes by hand): the error names it
    local vma = core.encode_entry("VMAS", 1, { start = 0, ["end"] = 4096, pgoff = 0, shmid = 0, prot = 0,
      flags = 0, status = 0, fd = -1 })
    local no_end = vma:gsub("^(\8\0)\16[\128-\255]*[\0-\127]", "%1")
    local fresh = assert(crit.open(dir .. "/mm-30956.img"))
    local msg = core.encode_entry("MM", 1, fresh:entry(1, "vmas")) .. "\114" .. string.char(#vma) .. vma
      .. "\114" .. string.char(#no_end) .. no_end
    local path = dir .. "/mm-30956.img"
    S.write(path, core.header("MM") .. S.u32(#msg) .. msg)
    local bad = assert(crit.open(path))
    local ok, err = pcall(function() for _ in bad:items(1, "vmas", "start", "end") do end end)
    assert.is_false(ok)
    assert.matches("mm%-30956%.img: entry 1 at offset %d+: vmas%[2%]%.end: missing required field", tostring(err))
  end)

  it("coredump of a dump whose pages image has a 256 MiB hole: a few MiB, and the hole stays a hole", function()
    if not S.exists("/usr/bin/time") then return pending("no /usr/bin/time") end
    local dir = S.copy_dump("sleep")
    local start, pages = 0x7ffd00000000, 65536 -- 256 MiB of anonymous memory above the stack
    edit_mm_and_pagemap(dir, start, pages)
    local f = assert(io.open(dir .. "/pages-1.img", "r+b"))
    local size = f:seek("end")
    f:close()
    assert(os.execute(("truncate -s %d %s/pages-1.img"):format(size + pages * 4096, dir)))
    f = assert(io.open(dir .. "/pages-1.img", "r+b"))
    f:seek("set", size + 100 * 4096 + 17) -- page 100 of the new VMA, offset 17
    f:write("MARKER-IN-THE-HOLE")
    f:close()
    local out = S.tmpdir()
    local r = S.sh(("/usr/bin/time -f '%%M' ./crit.lua coredump -o %s %s"):format(out, dir))
    assert.are.equal(0, r.code, r.err)
    local kib = tonumber(r.err:match("(%d+)%s*$"))
    if not os.getenv("CRIT_SANITIZED") then
      assert.is_true(kib < 64 * 1024, "peak " .. kib .. " KiB")
    end
    local core_file = out .. "/core.30956"
    local bytes = tonumber(S.sh("stat -c %s " .. core_file).out:match("%d+"))
    local blocks = tonumber(S.sh("stat -c %b " .. core_file).out:match("%d+"))
    assert.is_true(bytes > pages * 4096, "the core holds the 256 MiB: " .. bytes)
    assert.is_true(blocks * 512 < (16 << 20), "the hole takes no space: " .. blocks .. " blocks")
    -- the marker sits where the ELF program header of the new VMA says
    local c = assert(io.open(core_file, "rb"))
    local ehdr = c:read(64)
    local phoff = string.unpack("<I8", ehdr, 33)
    local phentsize, phnum = string.unpack("<I2I2", ehdr, 55)
    c:seek("set", phoff)
    local phdrs = c:read(phentsize * phnum)
    local found
    for i = 0, phnum - 1 do
      local ptype, _, offset, vaddr = string.unpack("<I4I4I8I8", phdrs, i * phentsize + 1)
      if ptype == 1 and vaddr == start then found = offset end
    end
    assert.truthy(found, "a PT_LOAD for the new VMA")
    c:seek("set", found + 100 * 4096 + 17)
    assert.are.equal("MARKER-IN-THE-HOLE", c:read(18))
    c:close()
  end)

  it("1,001 copies of a pstree entry: one error, not 1,001 cores", function()
    local dir = S.copy_dump("sleep")
    local img = assert(crit.open(dir .. "/pstree.img"))
    local e = img:entry(1)
    for _ = 1, 1000 do img:append(e) end
    img:write(dir .. "/pstree.img")
    local out = S.tmpdir()
    local r = S.sh("./crit.lua coredump -o " .. out .. " " .. dir)
    assert.are.equal(1, r.code)
    assert.are.equal("crit.lua: " .. dir .. "/pstree.img: entry 2: pid: 30956 is already the task of entry 1\n", r.err)
    assert.are.same({}, S.ls(out))
    r = S.sh("./crit.lua check " .. dir)
    assert.are.equal(1, r.code)
    assert.matches("pstree.img entry 2 pid: pid 30956 is already the task of entry 1", r.out, 1, true)
  end)

  it("coredump --with-files copies no host file the dump does not describe exactly", function()
    local dir = S.copy_dump("sleep")
    local secret = S.tmpdir() .. "/secret"
    S.write(secret, string.rep("TOPSECRET", 43888 // 9 + 1):sub(1, 43888))
    assert(os.execute("chmod 600 " .. secret))
    local files = assert(crit.open(dir .. "/files.img"))
    local reg = files[1].reg
    assert.are.equal("/usr/bin/sleep", reg.name)
    reg.name = secret
    reg.size = nil -- the size left out
    files:write(dir .. "/files.img")
    local out = S.tmpdir()
    local r = S.sh("./crit.lua coredump --with-files -o " .. out .. " " .. dir)
    assert.are.equal(0, r.code, r.err)
    assert.matches(secret .. ": 43888 bytes here, no size when dumped: not used", r.err, 1, true)
    assert.is_nil(S.read(out .. "/core.30956"):find("TOPSECRET", 1, true))
    assert.are.equal("rw-------", require("lfs").attributes(out .. "/core.30956", "permissions"))
    -- the size right, but not the mode (0755 dumped, 0600 here)
    files = assert(crit.open(dir .. "/files.img"))
    files[1].reg.size = 43888
    files:write(dir .. "/files.img")
    r = S.sh("./crit.lua coredump --with-files -o " .. out .. " " .. dir)
    assert.are.equal(0, r.code, r.err)
    assert.matches(secret .. ": mode 600 here, 755 when dumped: not used", r.err, 1, true)
    assert.is_nil(S.read(out .. "/core.30956"):find("TOPSECRET", 1, true))
  end)

  it("coredump --with-files refuses a file of the right size and mode but another build-id", function()
    local dir = S.copy_dump("sleep")
    local elf = S.tmpdir() .. "/not-sleep"
    S.write(elf, S.read("/usr/bin/true"))
    assert(os.execute("chmod 755 " .. elf))
    local files = assert(crit.open(dir .. "/files.img"))
    local reg = files[1].reg
    assert.are.equal(5, #reg.build_id) -- /usr/bin/sleep's, when dumped
    reg.name, reg.size = elf, S.size_of(elf)
    files:write(dir .. "/files.img")
    local r = S.sh("./crit.lua coredump --with-files -o " .. S.tmpdir() .. " " .. dir)
    assert.are.equal(0, r.code, r.err)
    assert.matches(elf .. ": not the build-id recorded when dumped: not used", r.err, 1, true)
  end)
end)
