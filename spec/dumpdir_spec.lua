-- A whole dump in one command: `decode DIR -o OUTDIR`, `encode OUTDIR -o
-- DIR`, against crit 4.2's JSON of each image and the dump's own bytes.
local S = require "spec.support"

local FIXTURES = "spec/fixtures/corpus"
local GOLDEN = "spec/fixtures/golden"

-- Where crit 4.2 is wrong and we are not (see cli_spec).
local CRIT_WRONG = { ["ipcns/ipcns-shm-9.img"] = true }

local crit = S.crit -- ./crit.lua with quoted arguments

local function dumps()
  local list = {}
  for _, name in ipairs(S.ls(FIXTURES)) do
    list[#list + 1] = name
  end
  return list
end

describe("a whole dump", function()
  after_each(S.cleanup)

  it("has dumps to work on", function()
    assert.is_true(#dumps() >= 3)
  end)

  for _, name in ipairs(dumps()) do
    local dir = FIXTURES .. "/" .. name

    it("decodes to crit's JSON, image by image, and encodes back to the same bytes: " .. name,
      function()
        local tmp = S.tmpdir()
        local json, back = tmp .. "/json", tmp .. "/back"
        local r = crit("decode", dir, "-o", json)
        assert.are.equal(0, r.code, r.err)
        local compared = 0
        for _, f in ipairs(S.ls(dir)) do
          local golden = GOLDEN .. "/" .. name .. "/" .. f .. ".json"
          if S.exists(golden) and not CRIT_WRONG[name .. "/" .. f] then
            assert.are.equal(S.read(golden), S.read(json .. "/" .. f .. ".json"), f)
            compared = compared + 1
          end
        end
        assert.is_true(compared > 0)
        r = crit("encode", json, "-o", back)
        assert.are.equal(0, r.code, r.err)
        assert.are.same(S.ls(dir), S.ls(back))
        for _, f in ipairs(S.ls(dir)) do
          assert.is_true(S.read(dir .. "/" .. f) == S.read(back .. "/" .. f), f)
        end
      end)
  end

  it("copies what is no protobuf image (raw pages, a log), and says nothing of it", function()
    local dir = S.copy_dump("misc")
    local pages, log = string.rep("\xaa", 8192), "(00.000001) dump log\n"
    S.write(dir .. "/pages-1.img", pages)
    S.write(dir .. "/dump.log", log)
    local tmp = S.tmpdir()
    local r = crit("decode", dir, "-o", tmp .. "/json")
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("", r.err)
    assert.is_true(S.exists(tmp .. "/json/inventory.img.json"))
    assert.are.equal(pages, S.read(tmp .. "/json/pages-1.img"))
    assert.are.equal(log, S.read(tmp .. "/json/dump.log"))
    assert.is_false(S.exists(tmp .. "/json/pages-1.img.json"))
    r = crit("encode", tmp .. "/json", "-o", tmp .. "/back")
    assert.are.equal(0, r.code, r.err)
    assert.are.equal(pages, S.read(tmp .. "/back/pages-1.img"))
    assert.are.equal(S.read(dir .. "/inventory.img"), S.read(tmp .. "/back/inventory.img"))
  end)

  it("wants -o for a directory, and one input", function()
    local r = crit("decode", FIXTURES .. "/pyfds")
    assert.are.equal(2, r.code)
    assert.matches("needs %-o OUTDIR", r.err)
    r = crit("encode", FIXTURES .. "/pyfds", "-i", "x", "-o", "y")
    assert.are.equal(2, r.code)
  end)

  it("fails with one line naming the file when a JSON file is bad", function()
    local tmp = S.tmpdir()
    os.execute("mkdir " .. tmp .. "/j")
    S.write(tmp .. "/j/pstree.img.json", '{"magic": "PSTREE", "entries": [{"pid": "x"}]}')
    local r = crit("encode", tmp .. "/j", "-o", tmp .. "/out")
    assert.are.equal(1, r.code)
    assert.matches("pstree%.img%.json", r.err)
    assert.is_false(S.exists(tmp .. "/out/pstree.img"))
  end)
end)
