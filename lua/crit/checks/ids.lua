-- Check: each live task's ids point to objects in the dump: its fd table
-- (fdinfo-N.img for files_id) and the images of every namespace it does not
-- share with criu (inventory's root_ids): utsns, ipcns-var, mountpoints,
-- userns. A network namespace without its netns image is not
-- one of them: criu restores it empty (net.c read_net_ns_img), and the
-- external check reports what the restorer must set up.
local check = require "crit.check"

local ipairs, string_format = ipairs, string.format

-- ids field -> the image criu writes for a namespace of its own.
local NAMESPACES = {
  { "uts_ns_id", "utsns-%d" },
  { "ipc_ns_id", "ipcns-var-%d" },
  { "mnt_ns_id", "mountpoints-%d" },
  { "user_ns_id", "userns-%d" },
}

local function run(d, report)
  local inv = d:has("inventory") and d:image("inventory")
  local root_ids = inv and inv.magic == "INVENTORY" and #inv > 0 and inv[1].root_ids
  for _, t in ipairs(check.live_tasks(d)) do
    local ids = d:ids(t.pid)
    if ids then
      local file, prefix = "ids-" .. t.pid .. ".img", ""
      if not d:has("ids-" .. t.pid) then file, prefix = "core-" .. t.pid .. ".img", "ids." end
      if ids.files_id and not d:has("fdinfo-" .. ids.files_id) then
        report("error", file, 1, prefix .. "files_id",
          string_format("fdinfo-%d.img is missing: task %d has no fd table", ids.files_id, t.pid))
      end
      if root_ids then
        for _, ns in ipairs(NAMESPACES) do
          local field, pattern = ns[1], ns[2]
          local id = ids[field]
          if id and root_ids[field] and id ~= root_ids[field] then
            local name = string_format(pattern, id)
            if not d:has(name) then
              report("error", file, 1, prefix .. field, string_format(
                "%s.img is missing: task %d has its own namespace %d", name, t.pid, id))
            end
          end
        end
      end
    end
  end
end

return {
  name = "ids",
  summary = "ids point to the task's fdinfo and to its namespaces' images",
  run = run,
}
