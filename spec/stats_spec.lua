-- crit.stats and `crit.lua stats`: the figures, cross-checked against counts
-- made here straight from the images and files.
local S = require "spec.support"
local sh = S.sh
local crit = require "crit"
local dir = require "crit.dir"
local stats = require "crit.stats"
local have_cjson, cjson = pcall(require, "cjson")

local FIX = "spec/fixtures/corpus"
local CORPUS = S.CORPUS
local have_corpus = S.have_corpus()
local corpus_it = have_corpus and it or pending

local size_of = S.size_of


-- Every figure checked against the images, read without crit.dir.
local function cross_check(path)
  local r = stats.collect(assert(dir.open(path)))
  local tree = assert(crit.open(path .. "/pstree.img"))
  assert.equal(#tree, r.processes)
  local threads = 0
  for _, e in tree:entries() do threads = threads + #(e.threads or {}) end
  assert.equal(threads, r.threads)
  for _, t in ipairs(r.tasks) do
    local mm = crit.open(path .. "/mm-" .. t.pid .. ".img")
    if mm then
      local vmas, size = mm[1].vmas, 0
      for _, v in ipairs(vmas) do size = size + (v["end"] - v.start) end
      assert.equal(#vmas, t.vmas.count)
      assert.equal(size, t.vmas.size)
      local by_kind = 0
      for _, k in ipairs(t.vmas.by_kind) do by_kind = by_kind + k.count end
      assert.equal(#vmas, by_kind)
      local ids = assert(crit.open(path .. "/ids-" .. t.pid .. ".img"))[1]
      local fdinfo = assert(crit.open(path .. "/fdinfo-" .. ids.files_id .. ".img"))
      assert.equal(#fdinfo, t.fds.count)
    else
      assert.equal("zombie", t.state)
      assert.is_nil(t.vmas)
    end
  end
  -- pages: each pages image's size / 4096, and what its pagemaps say
  local total = 0
  for _, img in ipairs(r.pages.images) do
    local bytes = size_of(path .. "/" .. img.name .. ".img")
    assert.equal(bytes, img.bytes)
    assert.equal(bytes // 4096, img.pages)
    assert.equal(img.pages, img.pages_expected)
    total = total + img.pages
  end
  assert.equal(total, r.pages.pages)
  local ds = r.dump_stats
  if ds then
    assert.equal(ds.pages_written + (ds.shpages_written or 0), r.pages.pages)
  end
  local files = crit.open(path .. "/files.img")
  if files then assert.equal(#files, r.files.count) end
  return r
end

describe("crit.stats", function()
  after_each(S.cleanup)

  it("agrees with the images of the fixture dumps", function()
    for _, name in ipairs({ "sleep", "sleep-criu4.1.1", "misc" }) do cross_check(FIX .. "/" .. name) end
  end)

  it("counts pages in the page size of the dump (64 KiB pages, from auxv)", function()
    local path = S.copy_dump("sleep")
    S.edit_image(path .. "/mm-30956.img", function(mm)
      local auxv = mm[1].mm_saved_auxv
      for i = 1, #auxv - 1, 2 do
        if auxv[i] == 6 then auxv[i + 1] = 65536 end   -- AT_PAGESZ
      end
    end)
    local d = assert(dir.open(path))
    assert.equal(65536, d:page_size())
    assert.equal(65536, d:page_size(30956))
    local r = stats.collect(d)
    local t = r.tasks[1]
    assert.is_true(t.pages > 0)
    assert.equal(t.pages * 65536, t.memory_dumped)
    local img = r.pages.images[1]
    assert.equal(size_of(path .. "/pages-1.img") // 65536, img.pages)
  end)

  it("counts zombies and stopped tasks (misc)", function()
    local r = cross_check(FIX .. "/misc")
    assert.equal(6, r.processes)
    assert.equal(1, r.zombies)
    assert.equal(1, r.stopped)
  end)

  it("tells the criu from the pagemap layout", function()
    assert.equal("4.2 or later", stats.collect(assert(dir.open(FIX .. "/sleep"))).format.criu)
    assert.equal("4.1 or earlier", stats.collect(assert(dir.open(FIX .. "/sleep-criu4.1.1"))).format.criu)
  end)

  it("shows restore statistics when the dump has them", function()
    local to = S.tmpdir() .. "/sleep"
    assert(os.execute("cp -r " .. FIX .. "/sleep " .. to))
    local img = crit.new("STATS")
    img:append({ restore = { pages_compared = 3, pages_skipped_cow = 1, forking_time = 100,
      restore_time = 2500, pages_restored = 31 } })
    assert(img:write(to .. "/stats-restore"))
    local r = stats.collect(assert(dir.open(to)))
    assert.equal(31, r.restore_stats.pages_restored)
    assert.matches("Restore statistics.*restore time%s+2.50 ms", stats.text(r))
  end)

  it("writes sizes for people", function()
    assert.equal("512 B", stats.human(512))
    assert.equal("4.00 KiB", stats.human(4096))
    assert.equal("13.3 MiB", stats.human(13963264))
    assert.equal("314 MiB", stats.human(329252864))
  end)

  describe("crit.lua stats", function()
    it("reports as text", function()
      local res = sh("./crit.lua stats " .. FIX .. "/sleep")
      assert.equal(0, res.code)
      assert.equal("", res.err)
      assert.matches("Processes 1, threads 1, zombies 0, stopped 0", res.out, 1, true)
      assert.matches("\n  30956%s+0%s+alive%s+1%s+3%s+36%s", res.out)
      assert.matches("pages%-1%s+31%s+124 KiB%s+pagemap%-30956", res.out)
      assert.matches("pages written%s+31\n", res.out)
      assert.matches("frozen time%s+10.03 ms", res.out)
    end)

    local json_it = have_cjson and it or pending
    json_it("reports as JSON", function()
      local res = sh("./crit.lua stats --json " .. FIX .. "/misc")
      assert.equal(0, res.code)
      local r = cjson.decode(res.out)
      assert.equal(6, r.processes)
      assert.equal(1, r.zombies)
      assert.equal(#r.tasks, 6)
      assert.equal(size_of(FIX .. "/misc/pages-1.img") // 4096 + 0, (function()
        for _, p in ipairs(r.pages.images) do if p.name == "pages-1" then return p.pages end end
      end)())
      assert.same({}, r.sockets.groups)
      assert.matches('"groups":%[%]', res.out)
    end)

    it("fails with a message on a directory that is not a dump", function()
      local res = sh("./crit.lua stats spec")
      assert.equal(1, res.code)
      assert.matches("^crit.lua: .*pstree%.img", res.err)
      res = sh("./crit.lua stats")
      assert.equal(2, res.code)
    end)

    it("has a manual", function()
      local res = sh("./crit.lua stats --help")
      assert.equal(0, res.code)
      assert.matches("Examples:", res.out, 1, true)
      assert.matches("Exit status:", res.out, 1, true)
      assert.matches("--json", res.out, 1, true)
    end)
  end)

  corpus_it("works on every corpus dump, and agrees with the images", function()
    local p = io.popen("ls " .. CORPUS)
    local n = 0
    for name in p:lines() do
      local path = CORPUS .. "/" .. name
      if S.exists(path .. "/pstree.img") then
        cross_check(path)
        local res = sh("./crit.lua stats " .. path .. " && ./crit.lua stats --json " .. path)
        assert.equal(0, res.code, name .. ": " .. res.err)
        n = n + 1
      end
    end
    p:close()
    assert.truthy(n >= 13)
  end)
end)
