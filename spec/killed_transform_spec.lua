-- transform killed with SIGKILL at any moment: once the next run has
-- recovered, the dump is all old or all new; nothing is left behind; and
-- until then `check` reports a dump left half old, half new.
-- 100 kills: every step of an in-place commit (between any two renames)
-- through the CRIT_TEST_KILL_STEP failpoint, then kills at random moments
-- of --in-place, -o and --dry-run runs. About 40 s.
local S = require "spec.support"
local lfs = require "lfs"

local SCRIPT = [[return function(d)
  d:core(30956).tc.comm = "new"
  d:write_memory(30956, 94538183192576, "new")
  d:set_image("seccomp", nil)
end]]
local NOOP = "return function() end"

-- name -> bytes of every file in dir; and the names of leftovers in it.
local function snapshot(dir)
  local files, left = {}, {}
  for f in lfs.dir(dir) do
    if f:find("crit%-transform") or f:find("crit%-tmp") then left[#left + 1] = f
    elseif f ~= "." and f ~= ".." and lfs.attributes(dir .. "/" .. f, "mode") == "file" then
      files[f] = S.read(dir .. "/" .. f)
    end
  end
  return files, left
end

local function leftovers_beside(path)
  local parent, base = path:match("^(.*)/([^/]+)$")
  local out = {}
  for f in lfs.dir(parent) do
    if f:sub(1, #base + 10) == base .. ".crit-tmp-" then out[#out + 1] = f end
  end
  return out
end

local function same(a, b)
  for k, v in pairs(a) do if b[k] ~= v then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- Start crit.lua with args, kill it with SIGKILL after `delay` seconds.
local function kill_after(delay, env, args)
  local p = assert(io.popen(("{ sh -c 'echo $$; exec env %s ./crit.lua %s'; } 2>/dev/null"):format(env, args)))
  local pid = assert(tonumber(p:read("l")))
  if delay then
    os.execute(("sleep %.3f"):format(delay))
    os.execute("kill -9 " .. pid .. " 2>/dev/null")
  end
  p:close()
end

describe("transform killed with SIGKILL", function()
  local work, script, noop, old, new
  setup(function()
    work = S.tmpdir()
    script, noop = work .. "/t.lua", work .. "/noop.lua"
    S.write(script, SCRIPT)
    S.write(noop, NOOP)
    local d = S.copy_dump("sleep")
    old = snapshot(d)
    assert.are.equal(0, S.sh("./crit.lua transform " .. d .. " " .. script .. " --in-place").code)
    new = snapshot(d)
    assert.is_false(same(old, new))
  end)
  teardown(S.cleanup)

  local outcomes = { old = 0, new = 0, mixed_reported = 0 }

  -- After a kill: what check says, then the next run, then the dump.
  local function verify(dir)
    local _, left = snapshot(dir)
    local mixed = false
    for _, f in ipairs(left) do
      if S.exists(dir .. "/" .. f .. "/JOURNAL") then mixed = true end
    end
    if mixed then
      local r = S.sh("./crit.lua check " .. dir)
      assert.are.equal(1, r.code)
      assert.matches("killed while replacing images: %d+ of the %d+ changes in its journal are still to be made",
                     r.out)
      outcomes.mixed_reported = outcomes.mixed_reported + 1
    end
    assert.are.equal(0, S.sh("./crit.lua transform " .. dir .. " " .. noop .. " --dry-run").code)
    local files, still = snapshot(dir)
    assert.are.same({}, still)
    if same(files, old) then outcomes.old = outcomes.old + 1
    elseif same(files, new) then outcomes.new = outcomes.new + 1
    else error("the dump is neither all old nor all new after a kill") end
  end

  it("--in-place, at every step of the commit and at random moments: all old or all new", function()
    local kills = 0
    for step = 1, 7 do
      local dir = S.copy_dump("sleep")
      kill_after(nil, "CRIT_TEST_KILL_STEP=" .. step, ("transform %s %s --in-place"):format(dir, script))
      verify(dir)
      kills = kills + 1
    end
    assert.is_true(outcomes.mixed_reported >= 3, "kills between renames were tried")
    math.randomseed(15)
    for _ = 1, 63 do
      local dir = S.copy_dump("sleep")
      kill_after(math.random() * 0.15, "", ("transform %s %s --in-place"):format(dir, script))
      verify(dir)
      kills = kills + 1
    end
    assert.are.equal(70, kills)
    assert.are.equal(70, outcomes.old + outcomes.new)
    print(("\n  70 in-place kills: %d left it old, %d new, %d mixed until the next run (reported by check)")
      :format(outcomes.old, outcomes.new, outcomes.mixed_reported))
  end)

  it("-o and --dry-run: their temporary directories are cleaned by the next run", function()
    local dir = S.copy_dump("sleep")
    math.randomseed(16)
    for i = 1, 30 do
      local out = dir .. ".out"
      local mode = i % 2 == 0 and ("-o " .. out) or "--dry-run"
      kill_after(math.random() * 0.15, "", ("transform %s %s %s"):format(dir, script, mode))
      os.execute("rm -rf " .. out)
      local r = S.sh(("./crit.lua transform %s %s -o %s"):format(dir, noop, out))
      assert.are.equal(0, r.code, r.err)
      os.execute("rm -rf " .. out)
      assert.are.same({}, leftovers_beside(dir))
      assert.are.same({}, leftovers_beside(out))
      assert.is_true(same(snapshot(dir), old))
    end
  end)
end)
