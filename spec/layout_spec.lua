-- crit.layout: the one home of how criu lays a dump out (file names,
-- listing, pagemap flags and counts, page size), and the checks, stats and
-- memory model that ask it.
local S = require "spec.support"
local dir = require "crit.dir"
local layout = require "crit.layout"
local check = require "crit.check"

local FIX = "spec/fixtures/corpus"

-- A copy of a fixture dump, its pagemap entries passed through edit(k, e).
local function with_pagemap(name, pid, edit)
  local path = S.copy_dump(name)
  S.edit_image(path .. "/pagemap-" .. pid .. ".img", function(pm)
    for k = 2, #pm do edit(k, pm[k]) end
  end)
  return path
end

local function run_checks(path, ...)
  local checks = {}
  for i, name in ipairs({ ... }) do checks[i] = check.builtin(name) end
  return check.run(assert(dir.open(path)), checks)
end

describe("crit.layout", function()
  after_each(S.cleanup)

  it("names every file of the fixture dumps as crit.dir opens it", function()
    for _, name in ipairs(layout.list(FIX)) do
      local path = FIX .. "/" .. name
      for _, f in ipairs(layout.list(path)) do
        local image = layout.image_name(f)
        assert.equal(image ~= nil, layout.is_image_file(f), f)
        if image then assert.equal(f, layout.image_file(image), f) end
      end
      assert.same(layout.images(path), assert(dir.open(path)):names())
    end
    assert.equal("stats-dump", layout.image_name("stats-dump"))
    assert.equal("irmap-cache", layout.image_file("irmap-cache"))
    assert.equal("core-1.img", layout.image_file("core-1"))
    assert.is_nil(layout.image_name("parent"))
    assert.is_nil(layout.image_name("dump.log"))
    assert.is_false(layout.is_image_file("parent"))
    assert.is_true(layout.is_image_file("stats-restore"))
  end)

  it("lists a directory sorted, without . and ..", function()
    local names = layout.list(FIX .. "/sleep")
    assert.equal("core-30956.img", names[1])
    for i = 2, #names do assert.is_true(names[i - 1] < names[i]) end
    for _, n in ipairs(names) do assert.is_true(n ~= "." and n ~= "..") end
    assert.has_error(function() layout.list("/nonexistent") end)
  end)

  it("reads pagemap flags as criu does, old entries included", function()
    local PE = layout.PE
    assert.equal(PE.PARENT, layout.pagemap_flags({ in_parent = true, compat_nr_pages = 1 }))
    assert.equal(PE.PRESENT, layout.pagemap_flags({ compat_nr_pages = 1 }))
    assert.equal(PE.LAZY, layout.pagemap_flags({ flags = PE.LAZY }))
    assert.equal("present", layout.page_kind(PE.PRESENT | PE.LAZY))
    assert.equal("parent", layout.page_kind(PE.PARENT | PE.LAZY))
    assert.equal("lazy", layout.page_kind(PE.LAZY))
    assert.is_nil(layout.page_kind(0))
    assert.same({ 3, 5, 7 }, { layout.page_counts({
      { nr_pages = 1, flags = PE.PRESENT }, { compat_nr_pages = 2 },
      { nr_pages = 5, flags = PE.LAZY }, { nr_pages = 7, flags = PE.PARENT },
      { compat_nr_pages = 0, in_parent = true }, { nr_pages = 9, flags = 0 },
    }) })
    assert.equal(3, layout.nr_pages({ nr_pages = 3, compat_nr_pages = 0 }))
    assert.equal(4, layout.nr_pages({ compat_nr_pages = 4 }))
  end)

  it("takes the page size from auxv", function()
    assert.equal(4096, layout.page_size(nil))
    assert.equal(4096, layout.page_size({ mm_saved_auxv = { 3, 64, 9, 1 } }))
    assert.equal(65536, layout.page_size({ mm_saved_auxv = { 3, 64, 6, 65536, 9, 1 } }))
    assert.equal(4096, assert(dir.open(FIX .. "/sleep")):page_size())
  end)
end)

-- check.lua and crit.memory read pagemap flags through crit.layout: a
-- dump whose pagemap says the same in criu 3.x's words (no flags,
-- in_parent) must give the same verdicts, and a changed flag another one.
describe("pagemap flags in checks and memory", function()
  after_each(S.cleanup)

  it("an entry without flags is present, as criu reads it", function()
    local path = with_pagemap("sleep", 30956, function(_, e)
      if e.flags == layout.PE.PRESENT then e.flags = nil end
    end)
    assert.same({}, run_checks(path, "pages", "pagemap", "parent"))
    assert.equal(check.PE_PRESENT, check.entry_flags({ compat_nr_pages = 1 }))
  end)

  it("an in_parent entry is the parent's: pages-N then has a page too many", function()
    local path = with_pagemap("sleep", 30956, function(k, e)
      if k == 2 then e.flags, e.in_parent = nil, true end
    end)
    local found = {}
    for _, f in ipairs(run_checks(path, "pages", "parent")) do found[#found + 1] = f.check .. ": " .. f.message end
    table.sort(found)
    assert.equal(2, #found)
    assert.matches("^pages: %d+ bytes, but pagemap%-30956%.img has %d+ pages present .*: trailing bytes$", found[1])
    assert.matches("^parent: ", found[2])
    local m = assert(require("crit.memory").open(path, 30956))
    local present, lazy, parent = m:page_counts()
    assert.equal(1, parent)
    assert.is_true(present > 0)
    assert.equal(0, lazy)  -- LAZY with PRESENT is present
  end)
end)
