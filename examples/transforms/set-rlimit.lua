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
-- criu's restorer sets them with setrlimit and ignores its errors: a limit
-- the kernel refuses leaves that resource at the dumped limits, soft and
-- hard, and the restore still succeeds. The kernel refuses a soft limit
-- above the hard one (this script refuses it first), a hard limit raised
-- above the dumped one unless criu has CAP_SYS_RESOURCE where it restores
-- (root in a container often lacks it), and NOFILE above fs.nr_open
-- (1048576 by default). The last two depend on the target host: the script
-- says so on stderr instead of refusing. The restore spec checks which case
-- the machine it runs on is in.
local RLIMITS = {
  CPU = 0, FSIZE = 1, DATA = 2, STACK = 3, CORE = 4, RSS = 5, NPROC = 6,
  NOFILE = 7, MEMLOCK = 8, AS = 9, LOCKS = 10, SIGPENDING = 11,
  MSGQUEUE = 12, NICE = 13, RTPRIO = 14, RTTIME = 15,
}
local crit = require "crit"
local NR_OPEN = 1048576          -- the kernel's default fs.nr_open

local function warn(message) io.stderr:write(message, "\n") end

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
    changes[#changes + 1] = { pid = tonumber(pid), name = name, index = res + 1, cur = value(soft),
      max = hard ~= "" and value(hard) or nil }
  end
  if #changes == 0 then error("usage: set-rlimit.lua -- [PID:]NAME=SOFT[:HARD] ...", 0) end

  for _, t in ipairs(assert(d:tasks())) do
    for _, c in ipairs(changes) do
      if not c.pid or c.pid == t.pid then
        local core = assert(d:core(t.pid))
        local r = core.tc and core.tc.rlimits and core.tc.rlimits.rlimits[c.index]
        if r then
          local dumped_max = r.max
          r.cur = c.cur
          if c.max then r.max = c.max end
          if math.ult(r.max, r.cur) then
            error(("set-rlimit: pid %d: soft limit above the hard limit"):format(t.pid), 0)
          end
          if math.ult(dumped_max, r.max) then
            warn(("set-rlimit: pid %d: %s: a hard limit above the dumped one (%s) needs CAP_SYS_RESOURCE"
              .. " where criu restores; without it the task keeps its dumped %s limits"):format(t.pid,
              c.name, crit.u64.tostring(dumped_max), c.name))
          end
          if c.name == "NOFILE" and math.ult(NR_OPEN, r.max) then
            warn(("set-rlimit: pid %d: NOFILE above %d needs fs.nr_open raised where criu restores"):format(
              t.pid, NR_OPEN))
          end
        end
      end
    end
  end
end
