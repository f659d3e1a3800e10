-- crit.lua x (ps, fds, mems, rss) against crit 4.2's output, where crit
-- fails (zombies, criu 4.1 pagemaps, legacy file images), and the
-- checkpoint-directory model it stands on (crit.dir).
local crit = require "crit"
local dir = require "crit.dir"
local S = require "spec.support"
local sh = S.sh

local FIXTURES = "spec/fixtures/corpus"
local GOLDEN = "spec/fixtures/golden"
local CRIT = "./crit.lua"
local WHATS = { "ps", "fds", "mems", "rss" }

local tmp

local function x(path, what)
  return sh(CRIT .. " x '" .. path .. "' " .. what)
end

-- The lines of a report for one pid (its pid line to the next pid line).
local function section(report, pid)
  return report:match("\n" .. pid .. "\n(.-)\n%d+\n") or report:match("\n" .. pid .. "\n(.*)$")
    or report:match("^" .. pid .. "\n(.-)\n%d+\n")
end

-- A copy of a fixture dump in a fresh directory, to take apart.
local function copy_dump(name)
  local d = S.tmpdir()
  assert(os.execute("cp " .. FIXTURES .. "/" .. name .. "/* " .. d))
  return d
end

describe("crit.lua x", function()
  setup(function() tmp = S.tmpdir() end)
  teardown(function() S.cleanup() end)

  describe("equals crit 4.2 byte for byte where crit succeeds", function()
    local n = 0
    for _, name in ipairs(S.lines_of("ls " .. GOLDEN)) do
      for _, what in ipairs(WHATS) do
        local golden = GOLDEN .. "/" .. name .. "/x-" .. what .. ".txt"
        if S.exists(golden) then
          n = n + 1
          it(name .. " " .. what, function()
            local r = x(FIXTURES .. "/" .. name, what)
            assert.are.equal(0, r.code, r.err)
            assert.are.equal("", r.err)
            assert.are.equal(S.read(golden), r.out)
          end)
        end
      end
    end
    it("(has golden reports to compare with)", function()
      assert.is_true(n >= 8, n .. " golden reports")
    end)
  end)

  describe("a zombie (misc: crit fails on fds, mems and rss)", function()
    local misc = FIXTURES .. "/misc"
    local ZOMBIE = 31113

    it("ps lists it like crit", function()
      assert.are.equal(S.read(GOLDEN .. "/misc/x-ps.txt"), x(misc, "ps").out)
    end)

    for _, what in ipairs({ "fds", "mems", "rss" }) do
      it(what .. " marks it and reports every other task", function()
        local r = x(misc, what)
        assert.are.equal(0, r.code, r.err)
        assert.are.equal("", r.err)
        assert.are.equal("\t(zombie)", section(r.out, ZOMBIE))
        -- every task of pstree, in its order
        local pids = {}
        for pid in r.out:gmatch("%f[^\n%z](%d+)\n") do pids[#pids + 1] = tonumber(pid) end
        assert.are.same({ 31110, 31113, 31114, 31115, 31118, 31116 }, pids)
        -- the stopped task (31114) is reported in full
        local stopped = section(r.out, 31114)
        if what == "fds" then
          assert.matches("^\t      0: ", stopped)
          assert.matches("\t    cwd: [^\n]+\n\t   root: /$", stopped)
        elseif what == "mems" then
          assert.matches("^\texe                                     /", stopped)
          assert.matches("%[stack%?%]", stopped)
        else
          assert.matches("^\t%x+ / %d", stopped)
        end
      end)
    end

    it("fds of the other tasks are crit's lines", function()
      local r = x(misc, "fds")
      for line in section(r.out, 31110):gmatch("[^\n]+") do
        assert.matches("^\t +[%w]+: .+$", line)
      end
    end)
  end)

  describe("criu 4.1.1 pagemaps (crit fails on rss: no nr_pages)", function()
    it("rss reads compat_nr_pages", function()
      local r = x(FIXTURES .. "/sleep-criu4.1.1", "rss")
      assert.are.equal(0, r.code, r.err)
      -- one line per pagemap entry, with crit's JSON's page counts
      local json = S.read(GOLDEN .. "/sleep-criu4.1.1/pagemap-8139.img.json")
      local expected = {}
      for vaddr, n in json:gmatch('"vaddr": (%d+), "compat_nr_pages": (%d+)') do
        expected[#expected + 1] = ("%x / %d"):format(tonumber(vaddr), tonumber(n))
      end
      assert.is_true(#expected > 5)
      local got = {}
      for vaddr, n in r.out:gmatch("\n\t(%x+) / (%d+)") do
        got[#got + 1] = vaddr .. " / " .. n
      end
      assert.are.same(expected, got)
    end)
  end)

  describe("old dumps with per-type file images (before files.img)", function()
    it("fds and mems find files in reg-files.img", function()
      local d = copy_dump("sleep")
      local files = assert(crit.open(d .. "/files.img"))
      local reg = crit.new("REG_FILES")
      for _, e in files:entries() do
        assert.are.equal("REG", e.type)
        reg:append(e.reg)
      end
      reg:write(d .. "/reg-files.img")
      assert(os.remove(d .. "/files.img"))
      for _, what in ipairs({ "fds", "mems", "rss" }) do
        local r = x(d, what)
        assert.are.equal(0, r.code, r.err)
        assert.are.equal(S.read(GOLDEN .. "/sleep/x-" .. what .. ".txt"), r.out, what)
      end
    end)

    it("mems finds the mappings in vmas-PID.img when mm has none", function()
      local d = copy_dump("sleep")
      local mm = assert(crit.open(d .. "/mm-30956.img"))
      local vmas = crit.new("VMAS")
      for _, v in ipairs(mm[1].vmas) do vmas:append(v) end
      vmas:write(d .. "/vmas-30956.img")
      mm[1].vmas = nil
      mm:write(d .. "/mm-30956.img")
      local r = x(d, "mems")
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(S.read(GOLDEN .. "/sleep/x-mems.txt"), r.out)
    end)
  end)

  describe("errors", function()
    it("a directory that is not there", function()
      local r = x(tmp .. "/nope", "ps")
      assert.are.equal(1, r.code)
      assert.matches("^crit%.lua: [^\n]*nope: No such file or directory\n$", r.err)
      assert.are.equal("", r.out)
    end)

    it("a directory without pstree.img", function()
      local r = x(S.tmpdir(), "ps")
      assert.are.equal(1, r.code)
      assert.matches("^crit%.lua: [^\n]*/pstree%.img: No such file or directory\n$", r.err)
    end)

    it("a missing image of a live task: one line naming it, no half report", function()
      local d = copy_dump("sleep")
      assert(os.remove(d .. "/fs-30956.img"))
      local r = x(d, "fds")
      assert.are.equal(1, r.code)
      assert.matches("^crit%.lua: [^\n]*/fs%-30956%.img: No such file or directory\n$", r.err)
      assert.are.equal("", r.out)
    end)

    it("a corrupt image: one line naming it", function()
      local d = copy_dump("sleep")
      S.write(d .. "/core-30956.img", S.read(d .. "/core-30956.img"):sub(1, 50))
      local r = x(d, "ps")
      assert.are.equal(1, r.code)
      assert.matches("^crit%.lua: [^\n]*/core%-30956%.img: entry 1 at offset 8: [^\n]*\n$", r.err)
    end)
  end)
end)

describe("crit.dir", function()
  teardown(function() S.cleanup() end)

  it("open() of a missing directory returns nil, message, errno", function()
    local d, err, errno = dir.open("spec/fixtures/nope")
    assert.is_nil(d)
    assert.are.equal("spec/fixtures/nope: No such file or directory", err)
    assert.are.equal(2, errno)
  end)

  it("opens nothing until asked, and each image once", function()
    local d = assert(dir.open(FIXTURES .. "/misc"))
    assert.are.same({}, d:opened())
    local tasks = assert(d:tasks())
    assert.are.same({ "pstree" }, d:opened())
    assert.are.equal(d:image("pstree"), d:image("pstree"))
    assert.are.equal(tasks, d:tasks())
  end)

  it("x opens only the images its report needs", function()
    local explorers = require("crit.cmd.x").explorers
    local needs = {
      ps = { "core-30956", "pstree" },
      fds = { "fdinfo-2", "files", "fs-30956", "ids-30956", "pstree" },
      mems = { "files", "mm-30956", "pstree" },
      rss = { "files", "mm-30956", "pagemap-30956", "pstree" },
    }
    for what, images in pairs(needs) do
      local d = assert(dir.open(FIXTURES .. "/sleep"))
      local lines = {}
      explorers[what](d, function(s) lines[#lines + 1] = s end)
      assert.are.equal(S.read(GOLDEN .. "/sleep/x-" .. what .. ".txt"), table.concat(lines))
      assert.are.same(images, d:opened(), what)
    end
  end)

  it("image() of an absent image returns nil, message, errno", function()
    local d = assert(dir.open(FIXTURES .. "/misc"))
    local img, err, errno = d:image("mm-31113")
    assert.is_nil(img)
    assert.matches("misc/mm%-31113%.img: No such file or directory$", err)
    assert.are.equal(2, errno)
    assert.is_false(d:has("mm-31113"))
    assert.is_true(d:has("stats-dump"))
  end)

  it("tasks(): the tree, states from core, zombies and stopped tasks", function()
    local d = assert(dir.open(FIXTURES .. "/misc"))
    local tasks = assert(d:tasks())
    local by_pid = {}
    for _, t in ipairs(tasks) do by_pid[t.pid] = t end
    assert.are.equal(6, #tasks)
    assert.are.same({ by_pid[31110] }, tasks.roots)
    assert.are.equal(31110, by_pid[31113].ppid)
    assert.are.equal(by_pid[31115], by_pid[31118].parent)
    assert.are.same({ 31113, 31114, 31115, 31116 }, (function()
      local t = {}
      for _, c in ipairs(by_pid[31110].children) do t[#t + 1] = c.pid end
      return t
    end)())
    assert.are.equal("dead", by_pid[31113].state)
    assert.is_true(by_pid[31113].zombie)
    assert.is_false(by_pid[31113].stopped)
    assert.are.equal("stopped", by_pid[31114].state)
    assert.is_true(by_pid[31114].stopped)
    assert.is_false(by_pid[31114].zombie)
    assert.are.equal("alive", by_pid[31110].state)
    assert.are.equal("crit-stopped", by_pid[31114].comm)
    assert.are.equal(31115, by_pid[31118].pgid)
    assert.are.equal(by_pid[31114], d:task(31114))
    assert.is_nil(d:task(1))
  end)

  it("a zombie has a core and nothing else", function()
    local d = assert(dir.open(FIXTURES .. "/misc"))
    assert.is_table(d:core(31113))
    assert.is_nil(d:ids(31113))
    assert.is_nil(d:mm(31113))
    assert.is_nil(d:fs(31113))
    assert.is_nil(d:fdinfo(31113))
    assert.is_nil(d:pagemap(31113))
  end)

  it("per-task images", function()
    local d = assert(dir.open(FIXTURES .. "/sleep"))
    assert.are.same({ 30956 }, d:tasks()[1].threads)
    assert.are.equal("sleep", d:core(30956).tc.comm)
    assert.is_number(d:ids(30956).files_id)
    assert.is_number(d:fs(30956).cwd_id)
    assert.is_true(#d:vmas(30956) > 10)
    assert.are.equal(d:mm(30956).vmas, d:vmas(30956))
    local fds = assert(d:fdinfo(30956))
    assert.are.same({ 0, 1, 2 }, { fds[1].fd, fds[2].fd, fds[3].fd })
    local f = assert(d:file(fds[1].id))
    assert.are.equal("REG", f.type)
    assert.are.equal("/dev/null", f.reg.name)
    assert.is_nil(d:file(123456))
  end)

  it("pagemap(): head and entries, nr_pages in both layouts", function()
    for _, case in ipairs({ { "sleep", 30956 }, { "sleep-criu4.1.1", 8139 } }) do
      local d = assert(dir.open(FIXTURES .. "/" .. case[1]))
      local head, entries = assert(d:pagemap(case[2]))
      assert.is_number(head.pages_id)
      assert.is_true(#entries > 5)
      for _, e in ipairs(entries) do
        assert.is_true(dir.nr_pages(e) > 0, case[1])
      end
    end
    assert.are.equal(7, dir.nr_pages({ compat_nr_pages = 0, nr_pages = 7 }))
    assert.are.equal(3, dir.nr_pages({ compat_nr_pages = 3 }))
  end)

  it("pagemap_entries(): the entries of pagemap(), one at a time", function()
    local d = assert(dir.open(FIXTURES .. "/sleep"))
    local head, entries = assert(d:pagemap(30956))
    local head2, it = assert(d:pagemap_entries(30956))
    assert.are.same(head, head2)
    local streamed = {}
    for e in it do streamed[#streamed + 1] = e end
    assert.are.same(entries, streamed)
    assert.is_nil(d:pagemap_entries(1))
  end)

  it("files_of(): d:file's entries of a set of ids, in one pass", function()
    local d = assert(dir.open(FIXTURES .. "/pyfds"))
    local ids = { [123456] = true }
    for _, e in assert(d:image("files")):entries() do ids[e.id] = true end
    local found = d:files_of(ids)
    for id in pairs(ids) do assert.are.same(d:file(id), found[id]) end
    assert.is_nil(found[123456])
  end)

  it("image entries() over more entries than it drops pages by", function()
    local img = crit.new("PAGEMAP")
    img:append({ pages_id = 1 })
    for k = 1, 10000 do img:append({ vaddr = k * 4096, compat_nr_pages = 0, nr_pages = 1, flags = 4 }) end
    local path = os.tmpname()
    assert(img:write(path))
    local back = assert(crit.open(path))
    local n = 0
    for k, e in back:entries() do
      n = n + 1
      if k > 1 then assert.are.equal((k - 1) * 4096, e.vaddr) end
    end
    os.remove(path)
    assert.are.equal(10001, n)
  end)

  it("file(): PIDFD and the other types of files.img", function()
    local d = assert(dir.open(FIXTURES .. "/pyfds"))
    local types = {}
    for _, e in assert(d:image("files")):entries() do
      local f = d:file(e.id)
      assert.are.equal(e.type, f.type)
      types[f.type] = f
    end
    assert.is_table(types.PIDFD)
    assert.is_table(types.PIDFD.pidfd)
    for t, f in pairs(types) do
      assert.is_table(f[dir.FILE_TYPES[t].field], t)
    end
  end)

  it("an image of the wrong type raises", function()
    local d = copy_dump("sleep")
    assert(os.execute("cp " .. d .. "/pstree.img " .. d .. "/mm-30956.img"))
    local dd = assert(dir.open(d))
    assert.has_error(function() dd:mm(30956) end,
      d .. "/mm-30956.img: a MM image expected, this is PSTREE")
  end)
end)
