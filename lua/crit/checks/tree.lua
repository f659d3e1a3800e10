-- Check: pstree.img describes a tree criu can rebuild (criu/pstree.c,
-- read_one_pstree_item and prepare_pstree_ids): unique pids and thread ids,
-- one root (ppid 0), every parent a task listed before its children, the
-- thread leader first, and a session leader criu can find for every task.
-- Legal, and not reported: pgids and sids of tasks outside the dump (criu
-- adds helper tasks), a root that does not lead its session (a shell job:
-- reported as a warning, as restore needs --shell-job).
local check = require "crit.check"

local ipairs, string_format = ipairs, string.format
local zombie = check.zombie

local FILE = "pstree.img"

local function run(d, report)
  local img = d:image("pstree")
  if not img then
    report("error", FILE, nil, nil, "missing: criu restore needs the process tree")
    return
  end
  local n = #img
  if n == 0 then
    report("error", FILE, nil, nil, "no entries: no task to restore")
    return
  end
  local tasks, by_pid, tids, root = {}, {}, {}, nil
  for k, e in img:entries() do
    local t = { k = k, pid = e.pid, ppid = e.ppid, pgid = e.pgid, sid = e.sid, threads = e.threads or {} }
    tasks[k] = t
    if by_pid[t.pid] then
      report("error", FILE, k, "pid", string_format("pid %d is already the task of entry %d", t.pid, by_pid[t.pid].k))
    elseif tids[t.pid] then
      report("error", FILE, k, "pid", string_format("pid %d is already a thread of entry %d", t.pid, tids[t.pid]))
    else
      by_pid[t.pid] = t
    end
    if t.ppid == 0 then
      if root then
        report("error", FILE, k, "ppid", string_format(
          "a second root: ppid 0, but pid %d of entry %d is the root", root.pid, root.k))
      else
        root = t
      end
    else
      local p = by_pid[t.ppid]
      if not p or p == t then
        local later
        for j = k + 1, n do if img[j].pid == t.ppid then later = j end end
        report("error", FILE, k, "ppid", later
          and string_format("parent %d comes after its child (entry %d): criu reads parents first", t.ppid, later)
          or string_format("parent %d is not in the dump", t.ppid))
      else
        t.parent = p
      end
    end
    for i, tid in ipairs(zombie(d, t.pid) and {} or t.threads) do
      if i == 1 then
        if tid ~= t.pid then
          report("error", FILE, k, "threads[1]", string_format("thread leader %d is not the task's pid %d", tid, t.pid))
        end
      elseif by_pid[tid] or tids[tid] then
        report("error", FILE, k, string_format("threads[%d]", i),
          string_format("thread id %d is already a task or thread", tid))
      else
        tids[tid] = k
      end
    end
  end
  if not root then
    report("error", FILE, 1, "ppid", "no root: no entry has ppid 0")
    return
  end
  if root.sid ~= root.pid then
    report("warning", FILE, root.k, "sid", string_format(
      "the root task %d is not a session leader (sid %d): restore needs --shell-job", root.pid, root.sid),
      "--shell-job")
  end
  for _, t in ipairs(tasks) do
    local p = t.parent
    -- Children of the root get a helper for a foreign session; below
    -- them the session leader must be an ancestor (criu's born_sid walk).
    if p and p ~= root and t.sid ~= t.pid and p.sid ~= t.sid then
      local a = p
      while a and a.pid ~= t.sid do a = a.parent end
      if not a then
        report("error", FILE, t.k, "sid", string_format(
          "session %d: no ancestor of task %d leads it (criu: can't find a session leader)", t.sid, t.pid))
      end
    end
    if t.pgid ~= t.pid and tids[t.pgid] then
      report("error", FILE, t.k, "pgid", string_format(
        "process group %d is a thread of entry %d, not a task", t.pgid, tids[t.pgid]))
    end
  end
end

return {
  name = "tree",
  summary = "pids, ppids, pgids, sids, threads form a restorable tree",
  run = run,
}
