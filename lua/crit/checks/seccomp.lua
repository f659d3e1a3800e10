-- Check: a thread in seccomp filter mode names a filter of seccomp.img (its
-- seccomp_filter is a 0-based index there), and every filter's prev link
-- stays inside the image: criu rebuilds the chain from them.
local check = require "crit.check"

local ipairs, pcall, string_format = ipairs, pcall, string.format

local function run(d, report)
  local img = d:has("seccomp") and d:image("seccomp")
  local filters = img and #img > 0 and img[1].seccomp_filters or {}
  local n = #filters
  for i, f in ipairs(filters) do
    if f.prev and (f.prev < 0 or f.prev >= n) then
      report("error", "seccomp.img", 1, string_format("seccomp_filters[%d].prev", i),
        string_format("filter %d does not exist (%d filters)", f.prev, n))
    end
  end
  for _, t in ipairs(d:tasks() or {}) do
    for _, tid in ipairs(check.zombie(d, t.pid) and {} or t.threads) do
      local ok, core = pcall(d.core, d, tid)
      local tc = ok and core and core.thread_core
      if tc and (tc.seccomp_mode == "filter" or tc.seccomp_mode == 2) then
        local idx = tc.seccomp_filter or 0
        if idx >= n then
          report("error", "core-" .. tid .. ".img", 1, "thread_core.seccomp_filter", string_format(
            "seccomp filter %d is not in seccomp.img (%d filters)", idx, n))
        end
      end
    end
  end
end

return {
  name = "seccomp",
  summary = "seccomp filters of threads are in seccomp.img",
  run = run,
}
