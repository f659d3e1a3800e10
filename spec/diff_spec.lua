-- crit.diff and `crit.lua diff`: copies of fixture dumps, edited with the
-- Lua API, against the originals.
local S = require "spec.support"
local sh = S.sh
local crit = require "crit"
local diff = require "crit.diff"

local FIX = "spec/fixtures/corpus"


-- A copy of a fixture dump in a fresh temporary directory.
local copy, edit = S.copy_dump, S.edit_image

describe("crit.diff", function()
  after_each(S.cleanup)

  it("finds nothing between a dump and its copy", function()
    local b = copy("sleep")
    assert.same({}, diff.dirs(FIX .. "/sleep", b))
    local res = sh("./crit.lua diff " .. FIX .. "/sleep " .. b)
    assert.equal(0, res.code)
    assert.equal("", res.out)
    assert.equal("", res.err)
  end)

  it("finds exactly the field that was changed, with old and new", function()
    local b = copy("sleep")
    edit(b .. "/core-30956.img", function(img) img[1].tc.comm = "renamed" end)
    local changes = diff.dirs(FIX .. "/sleep", b)
    assert.same({ { image = "core-30956", entry = 1, what = "changed", path = "tc.comm",
      old = "sleep", new = "renamed" } }, changes)
    local res = sh("./crit.lua diff " .. FIX .. "/sleep " .. b)
    assert.equal(1, res.code)
    assert.equal('core-30956[1] tc.comm: "sleep" -> "renamed"\n', res.out)
    assert.equal("", res.err)
    assert.equal(1, sh("./crit.lua diff -q " .. FIX .. "/sleep " .. b).code)
    assert.equal("", sh("./crit.lua diff -q " .. FIX .. "/sleep " .. b).out)
  end)

  it("names list elements and prints uint64 above 2^63 unsigned too", function()
    local b = copy("sleep")
    -- not [vsyscall]'s own address (the last VMA): each VMA is paired by its start
    edit(b .. "/mm-30956.img", function(img) img[1].vmas[2].start = 0xffffffffff500000 end)
    local old = assert(crit.open(FIX .. "/sleep/mm-30956.img"))[1].vmas[2].start
    local res = sh("./crit.lua diff " .. FIX .. "/sleep " .. b)
    assert.equal(1, res.code)
    assert.equal(string.format("mm-30956[1] vmas[2].start: %d -> -11534336 (uint64 18446744073698017280)\n",
      old), res.out)
  end)

  it("lists images only in one side", function()
    local b = copy("sleep")
    os.remove(b .. "/timens-0.img")
    assert(os.execute("cp " .. b .. "/fs-30956.img " .. b .. "/fs-4242.img"))
    local res = sh("./crit.lua diff " .. FIX .. "/sleep " .. b)
    assert.equal(1, res.code)
    assert.equal("fs-4242: only in the second\ntimens-0: only in the first\n", res.out)
    assert.same({ { image = "fs-4242", what = "added" }, { image = "timens-0", what = "removed" } },
      diff.dirs(FIX .. "/sleep", b))
  end)

  it("finds entries added or removed", function()
    local b = copy("sleep")
    edit(b .. "/fdinfo-2.img", function(img) img:remove() end)
    assert.same({ { image = "fdinfo-2", entry = 3, what = "removed", key = { { "fd", 2 } } } },
      diff.dirs(FIX .. "/sleep", b))
    assert.same({ { image = "fdinfo-2", entry = 3, what = "added", key = { { "fd", 2 } } } },
      diff.dirs(b, FIX .. "/sleep"))
    assert.equal("fdinfo-2[3] (fd 2): entry only in the first\n", diff.text(diff.dirs(FIX .. "/sleep", b)))
  end)

  it("compares payloads as bytes and says their sizes", function()
    local b = copy("pyfds")
    local e = assert(crit.open(FIX .. "/pyfds/pipes-data.img"))[1]
    edit(b .. "/pipes-data.img", function(img)
      img[1].extra = string.rep("x", #e.extra)
    end)
    local res = sh("./crit.lua diff " .. FIX .. "/pyfds " .. b)
    assert.equal(1, res.code)
    assert.equal(string.format("pipes-data[1]: payload differs (%d bytes -> %d bytes)\n", #e.extra, #e.extra),
      res.out)
  end)

  it("compares raw images as bytes", function()
    local b = copy("sleep")
    local pages = S.read(b .. "/pages-1.img")
    S.write(b .. "/pages-1.img", pages:sub(1, 5000) .. "X" .. pages:sub(5002))
    local changes = diff.dirs(FIX .. "/sleep", b)
    assert.same({ { image = "pages-1", what = "bytes", old = #pages, new = #pages, offset = 5000 } }, changes)
    assert.equal(string.format("pages-1: bytes differ from offset 5000 (%d bytes -> %d bytes)", #pages, #pages),
      diff.format(changes[1]))
  end)

  it("compares images in memory, decoding only entries whose bytes differ", function()
    local a = assert(crit.open(FIX .. "/misc/pstree.img"))
    local b = assert(crit.open(FIX .. "/misc/pstree.img"))
    assert.same({}, diff.images(a, b, "pstree"))
    assert.is_true(a:unchanged() and b:unchanged())
    b[3].pgid = 1
    local changes = diff.images(a, b, "pstree")
    assert.equal(1, #changes)
    assert.equal("pgid", changes[1].path)
    assert.equal(3, changes[1].entry)
    assert.is_true(a:unchanged())
    assert.same({ { path = "x[2]", old = 2, new = 5 }, { path = "y", old = nil, new = "s" } },
      diff.entries({ x = { 1, 2 } }, { x = { 1, 5 }, y = "s" }))
    assert.equal("9223372036854775809", diff.value(math.mininteger + 1))
    assert.equal("-1000 (uint64 18446744073709550616)", diff.value(-1000))
    assert.equal('"a"', diff.value("a"))
    assert.equal("<2 bytes: 00ff>", diff.value("\0\255"))
  end)

  it("takes dir objects as they are in memory (transform --dry-run)", function()
    local a, b = assert(crit.dir(FIX .. "/sleep")), assert(crit.dir(FIX .. "/sleep"))
    assert(a:tasks())
    assert.equal("sleep", b:tasks()[1].comm)  -- read, not changed
    assert.same({}, diff.dirs(a, b))
    b:image("core-30956")[1].tc.comm = "x"
    b:set_image("timens-0", nil)
    local fs = crit.new("FS")
    fs:append({ cwd_id = 1, root_id = 2, umask = 18 })
    b:set_image("fs-9", fs)
    assert.equal('core-30956[1] tc.comm: "sleep" -> "x"\nfs-9: only in the second\n'
      .. "timens-0: only in the first\n", diff.text(diff.dirs(a, b)))
  end)

  it("reports a header change, and entries encoded differently with the same fields", function()
    local b = copy("sleep")
    edit(b .. "/fs-30956.img", function(img) img:set_version("1.0") end)
    assert.same({ { image = "fs-30956", what = "header", path = "version", old = "1.1", new = "1.0" } },
      diff.dirs(FIX .. "/sleep", b))
    local fields = S.key(1, 0) .. S.varint(1) .. S.key(2, 0) .. S.varint(2)
    local plain = crit.load(S.image({ S.IMG_COMMON, S.MAGIC.FS }, { fields }), "fs-1.img")
    -- cwd_id = 1 as an overlong varint: the same value in two bytes
    local overlong = S.key(1, 0) .. "\x81\x00" .. S.key(2, 0) .. S.varint(2)
    local other = crit.load(S.image({ S.IMG_COMMON, S.MAGIC.FS }, { overlong }), "fs-1.img")
    local changes = diff.images(plain, other, "fs-1")
    assert.same({ { image = "fs-1", entry = 1, what = "encoding", old = 4, new = 5 } }, changes)
    assert.equal("fs-1[1]: same fields, encoded differently (4 bytes -> 5 bytes)", diff.format(changes[1]))
    -- fields the schema does not know are compared as their bytes
    local unknown = crit.load(S.image({ S.IMG_COMMON, S.MAGIC.FS }, { fields .. S.key(99, 0) .. S.varint(7) }),
      "fs-1.img")
    changes = diff.images(plain, unknown, "fs-1")
    assert.equal(1, #changes)
    assert.equal("changed", changes[1].what)
  end)

  it("compares two image files", function()
    local b = copy("sleep")
    edit(b .. "/core-30956.img", function(img) img[1].tc.comm = "renamed" end)
    local res = sh("./crit.lua diff " .. FIX .. "/sleep/core-30956.img " .. b .. "/core-30956.img")
    assert.equal(1, res.code)
    assert.equal('core-30956[1] tc.comm: "sleep" -> "renamed"\n', res.out)
  end)

  it("fails with a message and exit 2 (as diff(1)), and exit 2 on wrong usage", function()
    local res = sh("./crit.lua diff " .. FIX .. "/sleep /no/such/dump")
    assert.equal(2, res.code)
    assert.equal("", res.out)
    assert.matches("^crit.lua: /no/such/dump", res.err)
    assert.equal(2, sh("./crit.lua diff " .. FIX .. "/sleep").code)
    local help = sh("./crit.lua diff --help")
    assert.equal(0, help.code)
    assert.matches("Exit status (as diff(1)):", help.out, 1, true)
  end)

  it("exits 2 on a corrupt image, with no list of differences", function()
    local b = copy("sleep")
    S.write(b .. "/fs-30956.img", S.read(b .. "/fs-30956.img"):sub(1, 10))
    local res = sh("./crit.lua diff " .. FIX .. "/sleep " .. b)
    assert.equal(2, res.code)
    assert.equal("", res.out)
    assert.matches("fs%-30956.img", res.err)
  end)
end)

describe("crit.diff pairs what belongs together", function()
  after_each(S.cleanup)

  it("reports a removed file once, and the files after it not at all", function()
    local b = copy("pyfds")
    local id
    edit(b .. "/files.img", function(img) id = img[28].id; img:remove(28) end)
    local changes = diff.dirs(FIX .. "/pyfds", b)
    assert.same({ { image = "files", entry = 28, what = "removed", key = { { "id", id } } } }, changes)
    local res = sh("./crit.lua diff " .. FIX .. "/pyfds " .. b)
    assert.equal(1, res.code)
    assert.equal(("files[28] (id %d): entry only in the first\n"):format(id), res.out)
    -- and the other way round: added once
    assert.same({ { image = "files", entry = 28, what = "added", key = { { "id", id } } } },
      diff.dirs(b, FIX .. "/pyfds"))
  end)

  it("reports a removed VMA once, and a removed pagemap entry once", function()
    local b = copy("sleep")
    local start, vaddr
    edit(b .. "/mm-30956.img", function(img) start = img[1].vmas[5].start; table.remove(img[1].vmas, 5) end)
    edit(b .. "/pagemap-30956.img", function(img) vaddr = img[4].vaddr; img:remove(4) end)
    local changes = diff.dirs(FIX .. "/sleep", b)
    assert.same({
      { image = "mm-30956", entry = 1, what = "removed", path = "vmas[5]", key = { { "start", start } } },
      { image = "pagemap-30956", entry = 4, what = "removed", key = { { "vaddr", vaddr } } },
    }, changes)
    assert.equal(("mm-30956[1] vmas[5] (start %d): only in the first\n"):format(start),
      diff.format(changes[1]) .. "\n")
  end)

  it("an mm with no VMAs against one with some: each VMA only in one side, both ways", function()
    local b = copy("sleep")
    local n
    edit(b .. "/mm-30956.img", function(img) n = #img[1].vmas; img[1].vmas = {} end)
    local removed = diff.dirs(FIX .. "/sleep", b)
    local added = diff.dirs(b, FIX .. "/sleep")
    assert.equal(n, #removed)
    assert.equal(n, #added)
    for i = 1, n do
      assert.equal("removed", removed[i].what)
      assert.equal("added", added[i].what)
      assert.equal("vmas[" .. i .. "]", added[i].path)
      assert.same(removed[i].key, added[i].key)
    end
  end)

  it("pairs the tasks of two dumps of the same program, and their images", function()
    local a, b = FIX .. "/sleep", FIX .. "/sleep-criu4.1.1"
    local changes = diff.dirs(a, b)
    assert.same({ image = "pstree", what = "task", old = 30956, new = 8139, comm = "sleep" }, changes[1])
    for _, c in ipairs(changes) do
      assert.is_nil(c.what ~= "task" and c.image:find("^pstree") and c or nil)  -- pids renamed
      assert.is_falsy((c.what == "added" or c.what == "removed") and not c.entry)  -- no image alone
      if c.image:find("^core%-") then
        assert.equal("core-30956/8139", c.image)
        assert.equal("core-8139", c.image_b)
      end
    end
    local res = sh("./crit.lua diff " .. a .. " " .. b)
    assert.equal(1, res.code)
    local lines = select(2, res.out:gsub("\n", ""))
    -- before pairing: 25 lines, every image of the task "only in" one dump
    -- and nothing compared; now the images are compared, in 21 lines
    assert.is_true(lines <= 25, res.out)
    assert.matches("pstree: task 30956 (sleep) is 8139 in the second\n", res.out, 1, true)
    assert.matches("mm-30956/8139[1] vmas[*].start: 35 changes, first: ", res.out, 1, true)
    local all = sh("./crit.lua diff --all " .. a .. " " .. b)
    assert.equal(#changes, select(2, all.out:gsub("\n", "")))
  end)

  it("pairs the tasks of a tree by place and comm when the pids differ", function()
    if not S.have_corpus() then
      pending("no corpus at " .. S.CORPUS .. " (CRIT_CORPUS)")
      return
    end
    local a, b = S.CORPUS .. "/tree", S.CORPUS .. "/tree-criu4.1.1"
    local partner, tids = diff.tasks(crit.dir(a), crit.dir(b))
    local pairs_seen = {}
    for x, y in pairs(partner) do pairs_seen[#pairs_seen + 1] = x.pid .. ">" .. y.pid .. " " .. x.comm end
    table.sort(pairs_seen)
    assert.same({ "30984>8196 bash", "30991>8203 sleep", "30992>8204 sleep", "30993>8205 sleep",
      "30994>8206 cat", "30995>8207 bash", "30996>8208 sleep", "30997>8209 sleep",
      "30998>8210 flock", "31000>8212 sleep" }, pairs_seen)
    assert.equal(8212, tids[31000])
    local res = sh("./crit.lua diff " .. a .. " " .. b)
    assert.equal(1, res.code)
    local lines = select(2, res.out:gsub("\n", ""))
    -- before pairing: 186 lines; now 66 (1693 with --all)
    assert.is_true(lines <= 70, lines .. " lines:\n" .. res.out)
    assert.is_nil(res.out:find("filelocks", 1, true))  -- its pid is the paired task's
    assert.is_nil(res.out:find(": only in the", 1, true))  -- every image has its partner
  end)

  it("writes every change as JSON with exact 64-bit integers", function()
    local b = copy("sleep")
    edit(b .. "/mm-30956.img", function(img) img[1].vmas[2].start = 0xffffffffff500000 end)
    edit(b .. "/fdinfo-2.img", function(img) img:remove() end)
    local res = sh("./crit.lua diff --json " .. FIX .. "/sleep " .. b)
    assert.equal(1, res.code)
    assert.matches('^{"same": false, "changes": %[\n', res.out)
    assert.matches('{"image": "fdinfo-2", "what": "removed", "entry": 3, "key": {"fd": 2}}', res.out, 1, true)
    assert.matches('"path": "vmas%[2%]%.start", "old": %d+, "new": %-11534336, "new_uint64": 18446744073698017280}',
      res.out)
    res = sh("./crit.lua diff --json " .. FIX .. "/sleep " .. FIX .. "/sleep")
    assert.equal(0, res.code)
    assert.equal('{"same": true, "changes": []}\n', res.out)
  end)

  it("sums up alike changes in one line, and --all shows each", function()
    local changes = {}
    for i = 1, 5 do
      changes[i] = { image = "core-" .. i, entry = 1, what = "changed", path = "tc.comm", old = "a", new = "b" }
    end
    changes[6] = { image = "fs-1", entry = 1, what = "changed", path = "umask", old = 1, new = 2 }
    assert.equal('core-*[1] tc.comm: 5 changes, first: core-1[1] tc.comm: "a" -> "b"\n'
      .. "fs-1[1] umask: 1 -> 2\n", diff.summary(changes))
    assert.equal(6, select(2, diff.text(changes):gsub("\n", "")))
    local regs = {}
    for i, r in ipairs({ "ip", "sp", "bp", "ax" }) do
      regs[i] = { image = "core-1", entry = 1, what = "changed", path = "thread_info.gpregs." .. r, old = 1, new = 2 }
    end
    assert.equal("core-1[1] thread_info.gpregs.{ip,sp,bp,ax}: 4 changes\n", diff.summary(regs))
  end)
end)

describe("crit.lua diff on two real dumps of the same program #restore", function()
  local RS = require "spec.restore_support"
  local first, second
  after_each(function()
    RS.cleanup(first)
    RS.cleanup(second)
    first, second = nil, nil
  end)

  it("pairs the tasks and gives a short list", function()
    local why = RS.skip_reason()
    if why then return pending(why) end
    -- the same program started twice: other pids, other addresses (ASLR)
    first = RS.start("plain")
    local a = RS.dump(first)
    second = RS.start("plain")
    local b = RS.dump(second)
    assert.are_not.equal(first.pid, second.pid)
    local res = S.sh("./crit.lua diff " .. a .. " " .. b)
    assert.equal(1, res.code, res.err)
    assert.matches(("pstree: task %d (crit-plain) is %d in the second\n"):format(first.pid, second.pid),
      res.out, 1, true)
    assert.is_nil(res.out:find(": only in the", 1, true), res.out)  -- each image has its partner
    local lines = select(2, res.out:gsub("\n", ""))
    local all = select(2, S.sh("./crit.lua diff --all " .. a .. " " .. b).out:gsub("\n", ""))
    -- measured: 24 lines, where --all has 224 (without pairing, every
    -- image of the task was "only in" one dump: nothing compared)
    assert.is_true(lines <= 45, lines .. " lines:\n" .. res.out)
    assert.is_true(all > 3 * lines, all .. " changes in all")
  end)
end)
