-- A user check for `crit.lua check DIR --with examples/checks/stopped-tasks.lua`:
-- warn about tasks that were dumped stopped (SIGSTOP): criu restores them
-- stopped, which surprises whoever expected the program to run on.
local dir = require "crit.dir"

return {
  name = "stopped-tasks",
  summary = "tasks dumped stopped stay stopped after restore",
  run = function(d, report)
    local pstree = d:image("pstree")
    if not pstree then return end           -- the built-in checks report that
    for k, e in pstree:entries() do
      local core = d:has("core-" .. e.pid) and d:core(e.pid)
      local state = core and core.tc and dir.TASK_STATES[core.tc.task_state]
      if state == "stopped" then
        report("warning", "pstree.img", k, "pid",
          ("task %d was stopped when dumped: it restores stopped"):format(e.pid))
      end
    end
  end,
}
