-- Check: in each dumped mount namespace (mountpoints-N.img) every mount but
-- "/" has its parent mount, and the contents of every tmpfs criu dumped are there
-- (tmpfs-dev-DEV.tar.gz.img, named by the mount's root_dev).
local check = require "crit.check"

local ipairs, tostring, string_format = ipairs, tostring, string.format

local FSTYPE_TMPFS = 5   -- images/mnt.proto: fstype

local ROOT_MOUNTPOINTS = { ["/"] = true, ["./"] = true }

local function is_tmpfs(e)
  return e.fstype == FSTYPE_TMPFS or e.fstype == "TMPFS"
end

local function run(d, report)
  for _, name in ipairs(check.image_names(d, "^mountpoints%-")) do
    local file = name .. ".img"
    local img = d:image(name)
    local ids, root = {}, nil
    for _, e in img:entries() do ids[e.mnt_id] = true end
    for k, e in img:entries() do
      -- criu's mnt_build_ids_tree: only the "/" mount may lack a parent.
      if not ids[e.parent_mnt_id] or e.parent_mnt_id == e.mnt_id then
        if not root and ROOT_MOUNTPOINTS[e.mountpoint] then
          root = k
        else
          report("error", file, k, "parent_mnt_id", string_format(
            "mount %d (%s): its parent mount %d is not in the namespace", e.mnt_id,
            tostring(e.mountpoint), e.parent_mnt_id))
        end
      end
      -- An external mount's contents are the restorer's (the external check).
      if is_tmpfs(e) and not e.ext_mount and not e.ext_key and e.root_dev
        and not d:has(string_format("tmpfs-dev-%d.tar.gz", e.root_dev)) then
        report("error", file, k, "root_dev", string_format(
          "the contents of tmpfs %s are missing (tmpfs-dev-%d.tar.gz.img)", tostring(e.mountpoint), e.root_dev))
      end
    end
  end
end

return {
  name = "mounts",
  summary = "mounts have parents; dumped tmpfs contents are there",
  run = run,
}
