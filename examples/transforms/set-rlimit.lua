-- Raise or lower resource limits (ulimit) of processes.
-- Usage: crit.lua transform DIR set-rlimit.lua -o OUT -- [PID:]NAME=SOFT[:HARD] ...
--   NAME is the RLIMIT_ name without the prefix: NOFILE, STACK, CORE, ...;
--   SOFT and HARD are numbers or "unlimited". Without HARD only the soft
--   limit changes. Without PID, every task.
--   e.g. -- NOFILE=4096:8192 31110:CORE=unlimited
-- Proved by restore: spec/restore/transforms_spec.lua, scenario "plain"
-- (/proc/PID/limits).
--
-- The limits are in core-PID's tc.rlimits.rlimits: one { cur, max } per
-- resource, indexed by the resource number + 1 (Lua arrays start at 1).
-- They are uint64: "unlimited" (RLIM_INFINITY, 2^64-1) is -1 in Lua.
-- criu restores them with prlimit: raising a hard limit past the host's
-- needs CAP_SYS_RESOURCE at restore time, and a soft limit above its hard
-- limit makes the restore fail.
local RLIMITS = {
  CPU = 0, FSIZE = 1, DATA = 2, STACK = 3, CORE = 4, RSS = 5, NPROC = 6,
  NOFILE = 7, MEMLOCK = 8, AS = 9, LOCKS = 10, SIGPENDING = 11,
  MSGQUEUE = 12, NICE = 13, RTPRIO = 14, RTTIME = 15,
}
local crit = require "crit"

local function value(s)
  if s == "unlimited" or s == "infinity" then return -1 end
  local v = crit.u64.parse(s)
  if not v then error("set-rlimit: not a limit: " .. s, 0) end
  return v
end

return function(d, args)
  local changes = {}
  for _, a in ipairs(args) do
    local pid, name, soft, hard = a:match("^(%d*):?(%u+)=([^:]+):?(.*)$")
    local res = name and RLIMITS[name]
    if not res then error("usage: set-rlimit.lua -- [PID:]NAME=SOFT[:HARD] (" .. a .. ")", 0) end
    changes[#changes + 1] = { pid = tonumber(pid), index = res + 1, cur = value(soft),
      max = hard ~= "" and value(hard) or nil }
  end
  if #changes == 0 then error("usage: set-rlimit.lua -- [PID:]NAME=SOFT[:HARD] ...", 0) end

  for _, t in ipairs(assert(d:tasks())) do
    for _, c in ipairs(changes) do
      if not c.pid or c.pid == t.pid then
        local core = assert(d:core(t.pid))
        local r = core.tc and core.tc.rlimits and core.tc.rlimits.rlimits[c.index]
        if r then
          r.cur = c.cur
          if c.max then r.max = c.max end
          if math.ult(r.max, r.cur) then
            error(("set-rlimit: pid %d: soft limit above the hard limit"):format(t.pid), 0)
          end
        end
      end
    end
  end
end
