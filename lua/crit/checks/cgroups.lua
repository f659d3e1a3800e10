-- Check: every task that is not in its parent's cgroup set (or, for the
-- root, inventory's root_cg_set) finds its set in cgroup.img, as criu's
-- prepare_task_cgroup must ("No set N found").
local check = require "crit.check"

local ipairs, pcall, string_format = ipairs, pcall, string.format

-- The task's cgroup set as criu reads it: thread_core's, else tc's.
local function cg_set_of(d, pid)
  local ok, core = pcall(d.core, d, pid)
  if not ok or not core then return nil end
  if core.thread_core and core.thread_core.cg_set then
    return core.thread_core.cg_set, "thread_core.cg_set"
  end
  return core.tc and core.tc.cg_set, "tc.cg_set"
end

local function run(d, report)
  local inv = d:has("inventory") and d:image("inventory")
  local root_set = inv and inv.magic == "INVENTORY" and #inv > 0 and inv[1].root_cg_set or nil
  local sets = {}
  if d:has("cgroup") then
    for _, e in d:image("cgroup"):entries() do
      for _, s in ipairs(e.sets or {}) do sets[s.id] = true end
    end
  end
  local tasks = d:tasks() or {}
  local set_of = {}
  for _, t in ipairs(tasks) do
    -- criu skips zombies (their set reads as 0)
    if not check.zombie(d, t.pid) then set_of[t] = { cg_set_of(d, t.pid) } end
  end
  for _, t in ipairs(tasks) do
    local mine = set_of[t]
    local id, path = mine and mine[1], mine and mine[2]
    if id and id ~= 0 then
      local p = t.parent
      while p and not (set_of[p] and set_of[p][1] and set_of[p][1] ~= 0) do p = p.parent end
      local current = p and set_of[p][1] or root_set
      if current and id ~= current and not sets[id] then
        report("error", "core-" .. t.pid .. ".img", 1, path, string_format(
          "cgroup set %d is not in cgroup.img (criu: no set %d found)", id, id))
      end
    end
  end
end

return {
  name = "cgroups",
  summary = "each task's cgroup set is inherited or in cgroup.img",
  run = run,
}
