-- Rename a file path everywhere a checkpoint refers to it, for a restore on
-- a host where the files live elsewhere.
-- Usage: crit.lua transform DIR rename-path.lua -o OUT -- OLD NEW
--   OLD is a path or a directory: "/srv/app" also renames "/srv/app/log".
-- Proved by restore: spec/restore/transforms_spec.lua, scenarios "plain"
-- (the cwd and stdout: readlink of /proc/PID/cwd and fd/1), "ghost" (a
-- deleted open file, recreated under NEW) and "unix" (the bound socket,
-- bound again under NEW, answers there). The directory is moved on disk
-- first, as on a target host where it lives elsewhere.
--
-- criu keeps every path of a regular file once, in its file entry (REG in
-- files.img, or reg-files.img in old dumps). Everything else points at that
-- entry by id: fds (fdinfo), the cwd and root (fs-PID cwd_id, root_id), the
-- executable (mm-PID exe_file_id), file mappings (vma shmid), FIFOs
-- (fifo.regf_id), ghost and link remaps (remap-fpath orig_id/remap_id; the
-- ghost file itself holds contents, not a path). Renaming the entries
-- therefore renames the path for all of them. The target of a deleted
-- symlink (ghost-file-N.img symlnk_target) is renamed too.
-- A unix socket bound to a path keeps it in its own entry (UNIXSK in
-- files.img, unixsk.img in old dumps): `name`, absolute, or relative to
-- `name_dir`; criu binds the socket to it again (and chowns it), so both are
-- renamed. Abstract names (a leading NUL) are not paths.
-- Not renamed: mount points (mountpoints-N, in dumps of a mount
-- namespace): criu mounts each at its mountpoint again. A path that lives
-- in a mount whose mount point is at or under OLD would then no longer be
-- in that mount: such a rename is refused (rename below the mount point,
-- or move the mount).
local layout = require "crit.layout"

local function under(path, dir)
  return path == dir or dir == "/" or path:sub(1, #dir + 1) == dir .. "/"
end

-- The mount points other than / of the dump's mount namespaces:
-- { { path =, image = } }.
local function mount_points(d)
  local list = {}
  for _, name in ipairs(layout.images(d.path)) do
    if layout.kind(name) == "mountpoints" then
      local img = d:image(name)
      for k = 1, #img do
        local m = img[k].mountpoint
        if m and m ~= "/" then list[#list + 1] = { path = m, image = name } end
      end
    end
  end
  return list
end

return function(d, args)
  local old, new = args[1], args[2]
  if not old or not new then error("usage: rename-path.lua -- OLD NEW", 0) end
  old = old:gsub("(.)/+$", "%1")
  new = new:gsub("(.)/+$", "%1")
  if old == "/" then error("rename-path: OLD is /, every path: name a directory", 0) end

  local mounts = mount_points(d)
  local function renamed(path)
    if not under(path, old) then return nil end
    for _, m in ipairs(mounts) do
      if under(m.path, old) and under(path, m.path) then
        error(("rename-path: %s is in the mount at %s (%s), which criu mounts there again:"
          .. " rename below the mount point, or move the mount"):format(path, m.path, m.image), 0)
      end
    end
    return new .. path:sub(#old + 1)
  end

  local count = 0
  local function rename(reg)
    local name = reg and renamed(reg.name)
    if name then reg.name, count = name, count + 1 end
  end

  local files = d:image("files")
  if files then
    for k = 1, #files do
      local e = files[k]
      if e.reg then rename(e.reg) end
    end
  end
  local legacy = d:image("reg-files")          -- dumps of criu 2.x
  if legacy then
    for k = 1, #legacy do rename(legacy[k]) end
  end

  -- Bound unix sockets: name is bytes (abstract ones start with a NUL);
  -- a relative name is under name_dir.
  local function rename_socket(usk)
    local name = usk.name
    if name and name ~= "" and name:sub(1, 1) ~= "\0" then
      if name:sub(1, 1) == "/" then
        local n = renamed(name)
        if n then usk.name, count = n, count + 1 end
      elseif usk.name_dir then
        local n = renamed(usk.name_dir)
        if n then usk.name_dir, count = n, count + 1 end
      end
    end
  end
  if files then
    for k = 1, #files do
      if files[k].usk then rename_socket(files[k].usk) end
    end
  end
  local legacy_sk = d:image("unixsk")
  if legacy_sk then
    for k = 1, #legacy_sk do rename_socket(legacy_sk[k]) end
  end
  -- A deleted symlink that was open is a ghost file holding its target.
  for _, name in ipairs(d:names()) do
    local ghost = name:find("^ghost%-file%-%d+$") and d:image(name)
    local target = ghost and ghost[1] and ghost[1].symlnk_target
    if target and renamed(target) then
      ghost[1].symlnk_target, count = renamed(target), count + 1
    end
  end
  io.stderr:write(("rename-path: %d paths renamed\n"):format(count))
end
