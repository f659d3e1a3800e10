-- Errors that say where: one line naming the file, the entry and the
-- field, never an internal Lua error; and no silent loss in the API.
local crit = require "crit"
local S = require "spec.support"
local fuzz = dofile("tools/dumpfuzz.lua")

local MM_REQUIRED = {
  mm_start_code = 0, mm_end_code = 0, mm_start_data = 0, mm_end_data = 0, mm_start_stack = 0,
  mm_start_brk = 0, mm_brk = 0, mm_arg_start = 0, mm_arg_end = 0, mm_env_start = 0, mm_env_end = 0,
  exe_file_id = 0,
}

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
end)
