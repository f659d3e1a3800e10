-- The lean ways over an image's entries: fields() (no table per entry)
-- and entries{ reuse = true } (one table, refilled), against entries().
local crit = require "crit"
local S = require "spec.support"

local function pagemap_fixture()
  return S.fixture("/pagemap%-%d+%.img$")
end

describe("img:fields()", function()
  it("gives what entries() gives, field by field, on every fixture image", function()
    local seen = 0
    for _, path in ipairs(S.fixture_images()) do
      local img = crit.open(path)
      if img and not img.raw_image then
        local want = {}
        for k, e in img:entries() do want[k] = { e.id, e.vaddr, e.pid, e.flags } end
        local n = 0
        for k, id, vaddr, pid, flags in assert(crit.open(path)):fields("id", "vaddr", "pid", "flags") do
          n = n + 1
          assert.are.same(want[k], { id, vaddr, pid, flags }, path .. " entry " .. k)
        end
        assert.are.equal(#want, n, path)
        seen = seen + 1
      end
    end
    assert.is_true(seen > 10)
  end)

  it("sees an edited entry", function()
    local img = assert(crit.open(pagemap_fixture()))
    img[2].vaddr = 4096
    for k, vaddr in img:fields("vaddr") do
      if k == 2 then assert.are.equal(4096, vaddr) end
    end
  end)

  it("picks nested messages whole, and refuses repeated fields", function()
    local path = S.fixture("/files%.img$")
    local img = assert(crit.open(path))
    for k, reg in assert(crit.open(path)):fields("reg") do
      if reg then assert.are.same(img:entry(k).reg, reg) end
    end
    local mm = assert(crit.open(S.fixture("/mm%-%d+%.img$")))
    assert.has_error(function() for _ in mm:fields("vmas") do end end,
      "fields: vmas is repeated in mm_entry: read it with entries()")
  end)

  it("wants 1 to 16 names", function()
    local img = assert(crit.open(pagemap_fixture()))
    assert.has_error(function() img:fields() end)
    assert.has_error(function() img:fields(table.unpack(("x "):rep(17):gmatch("%S+"))) end)
  end)
end)

describe("img:entries{ reuse = true }", function()
  it("refills one table with what entries() gives", function()
    local path = pagemap_fixture()
    local want = {}
    for k, e in assert(crit.open(path)):entries() do want[k] = e end
    local same_table
    for k, e in assert(crit.open(path)):entries({ reuse = true }) do
      assert.are.same(want[k], e)
      if k > 1 then assert.are.equal(same_table, e) end
      same_table = e
    end
  end)

  it("hands out an edited entry itself", function()
    local img = assert(crit.open(pagemap_fixture()))
    local edited = img[2]
    edited.vaddr = 8192
    for k, e in img:entries({ reuse = true }) do
      if k == 2 then assert.are.equal(edited, e) end
    end
  end)
end)
