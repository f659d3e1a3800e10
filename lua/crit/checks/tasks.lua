-- Check: every task of pstree.img has a core image for each of its threads
-- and, unless it is a zombie (criu saves it as dead, with its core only),
-- its ids, mm, fs and pagemap images. A core image of no task is an error:
-- restore leaves that task out, and the dump loses a process (calibrated by
-- the fault campaign: its parent finds no child).
local check = require "crit.check"

local ipairs, tostring, tonumber, string_format = ipairs, tostring, tonumber, string.format
local math_tointeger = math.tointeger

local FILE = "pstree.img"

-- core-N.img files of no task or thread: a task dropped from pstree.img,
-- which restore silently leaves out.
local function orphan_cores(d, report, known)
  for _, name in ipairs(check.image_names(d, "^core%-%d+%.img$")) do
    local id = math_tointeger(tonumber(name:match("%d+$")))
    if not known[id] then
      report("error", name .. ".img", nil, nil, string_format(
        "thread %d is in no task of pstree.img: restore leaves it out, and the process is lost", id))
    end
  end
end

local function run(d, report)
  local img = d:image("pstree")
  if not img or img.magic ~= "PSTREE" then return end -- the tree check's
  local known = {}
  for _, e in img:entries() do
    known[e.pid] = true
    for _, tid in ipairs(e.threads or {}) do known[tid] = true end
  end
  orphan_cores(d, report, known)
  for k, e in img:entries() do
    local threads = check.zombie(d, e.pid) and {} or e.threads or {}
    local has_leader = false
    for i, tid in ipairs(threads) do
      if tid == e.pid then has_leader = true end
      if not d:has("core-" .. tid) then
        report("error", FILE, k, string_format("threads[%d]", i),
          string_format("core-%d.img is missing (thread %d of task %d)", tid, tid, e.pid))
      end
    end
    if not has_leader and not d:has("core-" .. e.pid) then
      report("error", FILE, k, "pid", string_format("core-%d.img is missing", e.pid))
    end
    if d:has("core-" .. e.pid) then
      local t = d:task(e.pid)
      if t and check.needs_memory(d, t) then
        local missing = {}
        if not d:ids(e.pid) then missing[#missing + 1] = "ids-" .. e.pid .. ".img" end
        for _, what in ipairs({ "mm", "fs", "pagemap" }) do
          if not d:has(what .. "-" .. e.pid) then missing[#missing + 1] = what .. "-" .. e.pid .. ".img" end
        end
        for _, m in ipairs(missing) do
          report("error", FILE, k, "pid", string_format("%s is missing (task %d is %s)", m, e.pid, tostring(t.state)))
        end
      end
    end
  end
end

return {
  name = "tasks",
  summary = "a core image per thread; ids, mm, fs and pagemap per live task",
  run = run,
}
