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

describe("the JSON writer", function()
  local core = require "crit.core"

  -- pid 7, ppid 5, pgid 3, sid 4, threads {7}, a field unknown to the
  -- schema (99) in between: `order` lists the wire order of the fields.
  local function pstree(order)
    local field = {
      [1] = S.key(1, 0) .. S.varint(7), [2] = S.key(2, 0) .. S.varint(5),
      [3] = S.key(3, 0) .. S.varint(3), [4] = S.key(4, 0) .. S.varint(4),
      [5] = S.key(5, 0) .. S.varint(7), [99] = S.key(99, 0) .. S.varint(1),
    }
    local msg = {}
    for i, n in ipairs(order) do msg[i] = field[n] end
    return S.image({ S.IMG_COMMON, S.MAGIC.PSTREE }, { table.concat(msg) })
  end

  local function decode(bytes)
    local out = core.output()
    local _, unknown = core.json_write(core.load(bytes), out, {})
    return out:finish(), unknown
  end

  it("writes fields out of wire order in number order, and counts unknown ones once", function()
    local want = decode(pstree({ 1, 2, 3, 99, 4, 5 }))
    assert.matches('^{"magic": "PSTREE", "entries": %[{"pid": 7, "ppid": 5, "pgid": 3, "sid": 4', want)
    for _, order in ipairs({ { 2, 1, 3, 4, 99, 5 }, { 1, 2, 3, 99, 5, 4 }, { 5, 4, 99, 3, 2, 1 } }) do
      local got, unknown = decode(pstree(order))
      assert.are.equal(want, got, table.concat(order, ","))
      assert.are.equal(1, unknown, table.concat(order, ","))
    end
  end)
end)
