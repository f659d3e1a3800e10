-- Check: a `transform --in-place` killed part-way. Killed after its commit
-- point it leaves the dump mixed, some images new and some old, until the
-- next transform run finishes it (crit.transform's journal); killed before,
-- only a staging directory that the next run removes.
local transform = require "crit.transform"
local lfs = require "lfs"

local ipairs, string_format = ipairs, string.format

local function run(d, report)
  local path = d.path:gsub("(.)/+$", "%1")
  for _, it in ipairs(transform.interrupted(path)) do
    local stage = it.stage:match("[^/]+$")
    if it.journal then
      local left = 0
      for _, o in ipairs(it.journal) do
        local pending = o.op == "rename" and it.stage .. "/" .. o.name or path .. "/" .. o.name
        if lfs.symlinkattributes(pending) then left = left + 1 end
      end
      report("error", stage, nil, nil, string_format(
        "a transform --in-place (pid %d) was killed while replacing images: %d of the %d changes in "
        .. "its journal are still to be made, the dump is half old, half new; the next "
        .. "`crit.lua transform` on it finishes the commit", it.pid, left, #it.journal))
    else
      report("warning", stage, nil, nil, string_format(
        "a staging directory left by a transform --in-place (pid %d) killed before or after its commit: "
        .. "the dump is whole (all old or all new); the next `crit.lua transform` on it removes it", it.pid))
    end
  end
end

return {
  name = "interrupted",
  summary = "no transform --in-place was killed part-way (a dump half old, half new)",
  run = run,
}
