-- Errors that say where: one line naming the file, the entry and the
-- field, never an internal Lua error; and no silent loss in the API.
local crit = require "crit"
local core = require "crit.core"
local check = require "crit.check"
local stats = require "crit.stats"
local S = require "spec.support"
local fuzz = dofile("tools/dumpfuzz.lua")

local MM_REQUIRED = {
  mm_start_code = 0, mm_end_code = 0, mm_start_data = 0, mm_end_data = 0, mm_start_stack = 0,
  mm_start_brk = 0, mm_brk = 0, mm_arg_start = 0, mm_arg_end = 0, mm_env_start = 0, mm_env_end = 0,
  exe_file_id = 0,
}

-- The fields of an error value, for assert.same.
local function fields(err)
  local t = {}
  for k, v in pairs(err) do t[k] = v end
  return t
end

local function mm_with_auxv(auxv)
  local e = {}
  for k, v in pairs(MM_REQUIRED) do e[k] = v end
  e.mm_saved_auxv = auxv
  local img = crit.new("MM")
  img:append(e)
  return img
end

describe("errors", function()
  after_each(S.cleanup)

  it("a required field missing: x, stats, coredump name file, entry and field", function()
    local dir = S.copy_dump("sleep")
    fuzz.apply(dir, { image = "pagemap-30956.img", entry = 9, field = 1, how = "drop" })
    local line = "crit.lua: " .. dir .. "/pagemap-30956.img: entry 9 at offset 144: vaddr: missing required field\n"
    for _, cmd in ipairs({ "x DIR rss", "stats DIR", "coredump -o OUT DIR" }) do
      local r = S.sh("./crit.lua " .. cmd:gsub("DIR", dir):gsub("OUT", S.tmpdir()))
      assert.are.equal(1, r.code, cmd)
      assert.are.equal(line, r.err, cmd)
    end
    assert.has_error(function() local _ = assert(crit.open(dir .. "/pagemap-30956.img"))[9] end,
      dir .. "/pagemap-30956.img: entry 9 at offset 144: vaddr: missing required field")
  end)

  it("a pid of 2^31 in pstree.img: coredump names the entry and field", function()
    local dir = S.copy_dump("sleep")
    fuzz.apply(dir, { image = "pstree.img", entry = 1, field = 3, how = "value", value = 2147483648 })
    local r = S.sh("./crit.lua coredump -o " .. S.tmpdir() .. "/core " .. dir)
    assert.are.equal(1, r.code)
    assert.are.equal("crit.lua: " .. dir .. "/pstree.img: entry 1: pgid: 2147483648 is not a pid "
      .. "(a core file holds 0..2^31-1)\n", r.err)
  end)

  it("decode -i DIR says it is a directory", function()
    local r = S.sh("./crit.lua decode -i spec/fixtures/corpus/sleep")
    assert.are.equal(1, r.code)
    assert.are.equal("crit.lua: spec/fixtures/corpus/sleep: Is a directory\n", r.err)
  end)

  it("a user script's error keeps its file and line", function()
    local script = S.tmpdir() .. "/t.lua"
    S.write(script, "return function(d)\n  local x\n  return x.y\nend\n")
    local r = S.sh("./crit.lua transform spec/fixtures/corpus/sleep " .. script .. " --dry-run")
    assert.are.equal(1, r.code)
    assert.are.equal("crit.lua: " .. script .. ":3: attempt to index a nil value (local 'x')\n", r.err)
  end)

  it("a repeated field given anything but a list 1..n is an error, not data lost", function()
    assert.has_error(function() mm_with_auxv({ [1] = 1, [3] = 3 }):encode() end)
    local ok, err = pcall(function() mm_with_auxv({ a = 1 }):encode() end)
    assert.is_false(ok)
    assert.matches('mm_saved_auxv: repeated field needs a list with the keys 1..0 only, not key "a"', err, 1, true)
    assert.are.equal(3, #crit.load(mm_with_auxv({ 1, 2, 3 }):encode())[1].mm_saved_auxv)
  end)

  it("appending to a raw image, and crit.open of a number that is no fd, raise", function()
    local pages = assert(crit.open("spec/fixtures/corpus/sleep/pages-1.img"))
    assert.has_error(function() pages:append({}) end,
      "append: spec/fixtures/corpus/sleep/pages-1.img is a raw image: it has bytes, not entries")
    assert.has_error(function() pages:insert(1, {}) end)
    assert.has_error(function() crit.open(2 ^ 40) end)
    assert.has_error(function() crit.open(-1) end)
  end)

  describe("the error value", function()
    local PAGEMAP = "pagemap-30956.img"

    it("of a decode error has file, entry, offset, path and message; tostring is its line", function()
      local dir = S.copy_dump("sleep")
      fuzz.apply(dir, { image = PAGEMAP, entry = 9, field = 1, how = "drop" })
      local ok, err = pcall(function() return assert(crit.open(dir .. "/" .. PAGEMAP))[9] end)
      assert.is_false(ok)
      assert.is_true(crit.is_error(err))
      assert.are.same({ file = dir .. "/" .. PAGEMAP, entry = 9, offset = 144, path = "vaddr",
        message = "missing required field" }, fields(err))
      assert.are.equal(dir .. "/" .. PAGEMAP .. ": entry 9 at offset 144: vaddr: missing required field",
        tostring(err))
    end)

    it("of a header error has an offset and no entry", function()
      local ok, err = pcall(crit.load, "\1\2\3\4\5\6\7\8", "x.img")
      assert.is_false(ok)
      assert.are.same({ file = "x.img", offset = 0,
        message = "unknown magic 0x04030201 (a raw image, like pages-N.img, has no magic)" }, fields(err))
      assert.are.equal("x.img: offset 0: " .. err.message, tostring(err))
    end)

    it("of a JSON error has line and column, no offset", function()
      local doc = '{"magic": "PSTREE", "entries": [{"pid": -1, "ppid": 0, "pgid": 0, "sid": 0}]}'
      local out = core.output()
      local ok, err = pcall(core.json_read, doc, out, "t.json")
      out:abort()
      assert.is_false(ok)
      local column = doc:find("-1", 1, true)
      assert.are.same({ file = "t.json", line = 1, column = column, path = "entries[1].pid",
        message = '"-1" is out of range for uint32' }, fields(err))
      assert.are.equal(('t.json: line 1, column %d: entries[1].pid: "-1" is out of range for uint32'):format(column),
        tostring(err))
    end)

    it("of an encode error has the entry and the field", function()
      local img = crit.new("PSTREE")
      img:append({ pid = 1, ppid = 0, pgid = 0, sid = "x" })
      local ok, err = pcall(img.encode, img)
      assert.is_false(ok)
      assert.are.same({ file = "image", entry = 1, offset = 8, path = "sid",
        message = "uint32 field needs an integer, got string" }, fields(err))
      assert.has_error(function() img:encode() end,
        "image: entry 1 at offset 8: sid: uint32 field needs an integer, got string")
    end)

    it("of the Lua layer: an image missing from a dump, returned and raised", function()
      local dir = S.copy_dump("sleep")
      os.remove(dir .. "/core-30956.img")
      local d = assert(crit.dir(dir))
      local c, err, errno = d:core(30956)
      assert.is_nil(c)
      assert.are.equal(2, errno)
      assert.are.same({ file = dir .. "/core-30956.img", message = "No such file or directory" }, fields(err))
      local ok, raised = pcall(function() return d:tasks()[1].core end)
      assert.is_false(ok)
      assert.are.equal(err, raised)
      assert.are.equal(dir .. "/core-30956.img: No such file or directory", tostring(raised))
    end)

    it("of the Lua layer: a required field missing, read through stats", function()
      local dir = S.copy_dump("sleep")
      fuzz.apply(dir, { image = PAGEMAP, entry = 9, field = 1, how = "drop" })
      local ok, err = pcall(stats.collect, assert(crit.dir(dir)))
      assert.is_false(ok)
      assert.is_true(crit.is_error(err))
      assert.are.same({ dir .. "/" .. PAGEMAP, 9, "vaddr" }, { err.file, err.entry, err.path })
    end)

    it("is built by crit.error, checked, and printed part by part", function()
      local e = crit.error{ file = "d/mm-1.img", entry = 1, path = "vmas[3].start", message = "not page-aligned" }
      assert.is_true(crit.is_error(e))
      assert.are.equal("d/mm-1.img: entry 1: vmas[3].start: not page-aligned", tostring(e))
      assert.are.equal("d/mm-1.img: entry 2 at offset 40: x", tostring(crit.error{ file = "d/mm-1.img", entry = 2,
        offset = 40, message = "x" }))
      assert.are.equal("f: offset 0: x", tostring(crit.error{ file = "f", offset = 0, message = "x" }))
      assert.are.equal("f: line 2, column 3: a.b: x",
        tostring(crit.error{ file = "f", line = 2, column = 3, path = "a.b", message = "x" }))
      assert.are.equal("just this", tostring(crit.error{ message = "just this" }))
      -- context added to the message shows in the line
      e.message = "not page-aligned (criu would refuse it)"
      assert.are.equal("d/mm-1.img: entry 1: vmas[3].start: not page-aligned (criu would refuse it)", tostring(e))
      for _, v in ipairs({ "a string", {}, 1, nil, setmetatable({}, { __tostring = tostring }) }) do
        assert.is_false(crit.is_error(v))
      end
      assert.has_error(function() crit.error{ file = "f" } end)
      assert.has_error(function() crit.error{ message = "m", entry = 0 } end)
      assert.has_error(function() crit.error{ message = "m", offset = -1 } end)
      assert.has_error(function() crit.error{ message = "m", file = 3 } end)
      assert.has_error(function() crit.error("m") end)
    end)

    it("is what check reads a finding's image, entry and path from", function()
      local dir = S.copy_dump("sleep")
      fuzz.apply(dir, { image = PAGEMAP, entry = 9, field = 1, how = "drop" })
      local found
      for _, f in ipairs(check.run(assert(crit.dir(dir)), { check.builtin("decode") })) do
        if f.image == PAGEMAP then found = f end
      end
      assert.are.same({ severity = "error", check = "decode", image = PAGEMAP, entry = 9, path = "vaddr",
        message = "missing required field" }, found)

      local raising = {
        { name = "structured", run = function(d)
          error(crit.error{ file = d.path .. "/mm-30956.img", entry = 1, path = "vmas[2].start", message = "odd" })
        end },
        { name = "plain", run = function() error("kaputt") end },
      }
      local fs = check.run(assert(crit.dir("spec/fixtures/corpus/sleep")), raising)
      assert.are.same({ severity = "error", check = "structured", image = "mm-30956.img", entry = 1,
        path = "vmas[2].start", message = "check failed: odd" }, fs[1])
      assert.are.equal("plain", fs[2].check)
      assert.is_nil(fs[2].image)
      assert.matches("^check failed: spec/errors_spec%.lua:%d+: kaputt$", fs[2].message)
    end)
  end)
end)
