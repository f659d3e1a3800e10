-- Check: each file lock of filelocks.img belongs to a task of the dump (criu
-- restores only the locks of the tasks it restores: others are lost) and to
-- an fd that task has (criu takes the lock again on that fd).
local check = require "crit.check"

local string_format = string.format

local function run(d, report)
  if not d:has("filelocks") then return end
  local fds_of = {}
  local function fds(t)
    local set = fds_of[t.pid]
    if set == nil then
      set = false
      local fds_iter = check.needs_memory(d, t) and d:fd_fields(t.pid, "fd")
      if fds_iter then
        set = {}
        for _, fd in fds_iter do set[fd] = true end
      end
      fds_of[t.pid] = set
    end
    return set
  end
  for k, e in d:image("filelocks"):entries() do
    local t = d:task(e.pid)
    if not t then
      report("warning", "filelocks.img", k, "pid", string_format(
        "a lock of task %d, which is not in the dump: it is not restored", e.pid))
    else
      local set = fds(t)
      if set and not set[e.fd] then
        report("error", "filelocks.img", k, "fd", string_format(
          "task %d has no fd %d to take the lock on", e.pid, e.fd))
      end
    end
  end
end

return {
  name = "locks",
  summary = "file locks belong to tasks and fds of the dump",
  run = run,
}
