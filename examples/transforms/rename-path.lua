-- Rename a file path everywhere a checkpoint refers to it, for a restore on
-- a host where the files live elsewhere.
-- Usage: crit.lua transform DIR rename-path.lua -o OUT -- OLD NEW
--   OLD is a path or a directory: "/srv/app" also renames "/srv/app/log".
--
-- criu keeps every path of a regular file once, in its file entry (REG in
-- files.img, or reg-files.img in old dumps). Everything else points at that
-- entry by id: fds (fdinfo), the cwd and root (fs-PID cwd_id, root_id), the
-- executable (mm-PID exe_file_id), file mappings (vma shmid), FIFOs
-- (fifo.regf_id), ghost and link remaps (remap-fpath orig_id/remap_id; the
-- ghost file itself holds contents, not a path). Renaming the entries
-- therefore renames the path for all of them. The target of a deleted
-- symlink (ghost-file-N.img symlnk_target) is renamed too.
-- Not renamed: mount points (mountpoints-N), unix socket names.
return function(d, args)
  local old, new = args[1], args[2]
  if not old or not new then error("usage: rename-path.lua -- OLD NEW", 0) end
  old = old:gsub("(.)/+$", "%1")
  new = new:gsub("(.)/+$", "%1")

  local function renamed(path)
    if path == old then return new end
    if path:sub(1, #old + 1) == old .. "/" then return new .. path:sub(#old + 1) end
    return nil
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
  -- A deleted symlink that was open is a ghost file holding its target.
  for file in require("lfs").dir(d.path) do
    local name = file:match("^(ghost%-file%-%d+)%.img$")
    local ghost = name and d:image(name)
    local target = ghost and ghost[1] and ghost[1].symlnk_target
    if target and renamed(target) then
      ghost[1].symlnk_target, count = renamed(target), count + 1
    end
  end
  io.stderr:write(("rename-path: %d paths renamed\n"):format(count))
end
