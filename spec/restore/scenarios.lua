-- The restore scenarios: how each is started, dumped and restored, and what
-- proves the restored process is the same one. One home for these facts: the
-- scenario suite and the transform specs use them (SC.by_name.tcp ...).
local RS = require "spec.restore_support"
local assert = require "luassert"

local SC = { list = {}, by_name = {} }

local function scenario(t)
  SC.list[#SC.list + 1] = t
  SC.by_name[t.name] = t
end

--- The scenario's own check after restore must say ok; returns its report.
function SC.report_ok(s)
  local r = RS.ask(s)
  assert.are.equal("ok", r.status)
  return r
end

scenario {
  name = "plain",
  before = function(s) s.ticks = SC.report_ok(s).ticks end,
  check = function(s)
    assert.are.equal("crit-plain\n", RS.proc(s.pid, "comm"))
    local argv = RS.cmdline(s.pid)
    assert.are.equal(RS.PYTHON, argv[1])
    assert.are.equal(RS.SCENARIOS .. "/plain.py", argv[2])
    assert.are.equal(s.run, RS.readlink("/proc/" .. s.pid .. "/cwd"))
    local fds = RS.fds(s.pid)
    assert.are.equal("/dev/null", fds[0])
    assert.are.equal(s.run .. "/stdout", fds[1])
    local r = SC.report_ok(s)
    assert.are.equal(s.pid, r.pid)
    -- memory came back: it counts on from where it was dumped
    assert.is_true(r.ticks >= s.ticks)
  end,
}

return SC
