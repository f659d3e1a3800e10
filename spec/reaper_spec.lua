-- build/reaper (tools/reaper.c): the child subreaper `make test` runs under.
local lfs = require "lfs"

local REAPER = "./build/reaper"

local function sh(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1"))
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

local have = io.open(REAPER, "rb")
if have then have:close() end
local with_reaper = have and it or pending

--- PIDs of the processes whose command line is `sleep ARG`.
local function sleepers(arg)
  local found = {}
  for name in lfs.dir("/proc") do
    local f = name:match("^%d+$") and io.open("/proc/" .. name .. "/cmdline", "rb")
    if f then
      if f:read("a") == "sleep\0" .. arg .. "\0" then found[#found + 1] = tonumber(name) end
      f:close()
    end
  end
  return found
end

describe("build/reaper", function()
  with_reaper("exits with the command's status and leaves no descendant alive", function()
    local out, code = sh(REAPER .. " sh -c 'sleep 987.25 & (setsid sleep 987.5 &); (sleep 987.75 &); exit 3'")
    assert.are.equal("", out)
    assert.are.equal(3, code)
    for _, arg in ipairs { "987.25", "987.5", "987.75" } do
      assert.are.same({}, sleepers(arg))
    end
  end)

  with_reaper("reports a command killed by a signal as 128 + the signal", function()
    local _, code = sh(REAPER .. " sh -c 'kill -9 $$'")
    assert.are.equal(137, code)
  end)

  with_reaper("tells the command its PID in CRIT_REAPER and reaps orphans at once", function()
    -- the orphan's parent exits at once; the reaper, not init, must reap it:
    -- by the time the command looks, no zombie of it is left
    local out, code = sh(REAPER .. [[ sh -c 'test "$CRIT_REAPER" = "$PPID" || exit 9
      (sleep 0.1 & echo $! > /tmp/lua-crit-reaper.$$); sleep 0.5
      pid=$(cat /tmp/lua-crit-reaper.$$); rm -f /tmp/lua-crit-reaper.$$
      if [ -e /proc/$pid ]; then echo "still there: $(cat /proc/$pid/stat)"; fi']])
    assert.are.equal("", out)
    assert.are.equal(0, code)
  end)

  with_reaper("says how to use it", function()
    local out, code = sh(REAPER)
    assert.matches("usage: reaper CMD", out)
    assert.are.equal(2, code)
  end)
end)
