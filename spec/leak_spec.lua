-- No leak on error paths: many failing calls in a loop (corrupt images,
-- bad tables, bad JSON into a file), each after memory has been allocated
-- in C, and the resident set must not grow. An error raised from C
-- longjmps: anything malloc'd and not owned by a userdata would leak.
local core = require "crit.core"
local crit = require "crit"
local S = require "spec.support"

local M, COMMON = S.MAGIC, S.IMG_COMMON
local ROUNDS = 300
-- Under ASan (and valgrind) freed memory waits in a quarantine, so the
-- resident set grows anyway: there LeakSanitizer (memcheck) checks at exit
-- instead, and fewer rounds suffice to take every error path.
local SANITIZED = os.getenv("CRIT_SANITIZED") ~= nil
  or (os.getenv("LD_PRELOAD") or ""):find("vgpreload", 1, true) ~= nil
if SANITIZED then ROUNDS = 20 end

local function ls(dir)
  return S.lines_of("ls -A '" .. dir .. "'")
end

local function rss()
  collectgarbage()
  collectgarbage()
  local f = assert(io.open("/proc/self/statm"))
  local resident = f:read("a"):match("^%d+%s+(%d+)")
  f:close()
  return tonumber(resident) * 4096
end

-- Run fail() ROUNDS times (it must raise every time) once to warm up,
-- then five times more: the resident set may not grow by more than 16 MB,
-- where leaking the 128 KiB or more that one call allocates would add
-- ROUNDS * 5 times that (190 MB).
local function assert_no_growth(fail)
  local function rounds(n)
    for _ = 1, n do
      local ok = pcall(fail)
      assert.is_false(ok, "the call should fail")
      -- Lua's collector does not see the C memory of what became garbage:
      -- collect now, or it piles up and malloc's heap grows (and stays).
      collectgarbage()
    end
  end
  rounds(ROUNDS)
  local before = rss()
  rounds(ROUNDS * 5)
  local grown = rss() - before
  if not SANITIZED then assert.is_true(grown < 16 * 2^20, ("grew by %d bytes"):format(grown)) end
end

-- 64 KiB of a valid string field, then a corrupt one: the decoder has
-- allocated before it fails.
local BIG = ("x"):rep(65536)
local function u(field, v) return S.key(field, 0) .. S.varint(v) end
local function bytes_field(field, s) return S.key(field, 2) .. S.varint(#s) .. s end

local TC = u(1, 1) .. u(2, 0) .. u(3, 0) .. u(4, 0) .. u(5, 0) .. bytes_field(6, BIG)
local CORRUPT = S.image({ COMMON, M.CORE }, {
  u(1, 1) .. bytes_field(3, TC),
  u(1, 1) .. bytes_field(3, TC) .. S.key(4, 0) .. ("\xff"):rep(10) .. "\x01",
})

local TASK = '{"mtype": "X86_64", "tc": {"task_state": 1, "exit_code": 0, "personality": 0, '
  .. '"flags": 0, "blk_sigset": 0, "comm": "' .. BIG .. '"}}'
local BAD_JSON = '{"magic": "CORE", "entries": [' .. TASK .. ", " .. TASK .. ', {"mtype": "X86_64", "zzz": 1}]}'

describe("error paths", function()
  local tmp
  setup(function() tmp = S.tmpdir() end)
  teardown(function() S.cleanup() end)

  it("leak nothing decoding a corrupt entry", function()
    assert_no_growth(function()
      local img = crit.load(CORRUPT, "bad.img")
      local _ = img[1]
      return img[2]
    end)
  end)

  it("leak nothing writing a corrupt image as JSON", function()
    local path = tmp .. "/out.json"
    assert_no_growth(function()
      local x = core.load(CORRUPT, "bad.img")
      local out = core.output(path)
      core.json_write(x, out, { pretty = true })
    end)
    assert.are.same({}, ls(tmp))
  end)

  it("leak nothing encoding a bad table", function()
    assert_no_growth(function()
      local img = crit.new("CORE")
      img:append({ mtype = "X86_64", tc = { task_state = 1, exit_code = 0, personality = 0,
        flags = 0, blk_sigset = 0, comm = BIG } })
      img:append({ mtype = "X86_64", tc = { task_state = 1, exit_code = 0, personality = 0,
        flags = 0, blk_sigset = 0, comm = BIG, zzz = 1 } })
      return img:encode()
    end)
  end)

  it("leak nothing reading bad JSON into a file (aborted or collected)", function()
    local path = tmp .. "/out.img"
    local n = 0
    assert_no_growth(function()
      n = n + 1
      local out = core.output(path)
      local ok, err = pcall(core.json_read, BAD_JSON, out, "bad.json")
      if n % 2 == 0 then out:abort() end -- else __gc cleans up
      if not ok then error(err, 0) end
    end)
    collectgarbage()
    assert.are.same({}, ls(tmp))
  end)

  it("leak nothing reading bad JSON from a file", function()
    local path = tmp .. "/bad.json"
    S.write(path, BAD_JSON)
    assert_no_growth(function()
      local f = assert(io.open(path, "rb"))
      local out = core.output()
      local ok, err = pcall(core.json_read, f, out, "bad.json")
      f:close()
      out:abort()
      if not ok then error(err, 0) end
    end)
  end)
end)
