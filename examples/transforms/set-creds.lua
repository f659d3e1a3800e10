-- Change the user and group ids processes run as, and the owners of what
-- criu creates for them on restore.
-- Usage: crit.lua transform DIR set-creds.lua -o OUT -- [uid=OLD:NEW] [gid=OLD:NEW] [pid=PID]
--   uid=0:1000 changes every uid field that is 0 into 1000; gid=OLD:NEW the
--   gid fields and the supplementary groups. pid=PID limits the change to
--   that task's threads and the files open in its fd table.
-- Proved by restore: spec/restore/transforms_spec.lua, scenarios "plain",
-- "tree" and "uid" (creds in /proc/PID/status of every task), "shm" (the
-- segments' owners in /proc/sysvipc/shm of the namespace), "memfd" (the
-- memfd inode's owner) and "unix" (the owner of the bound socket's file);
-- every scenario of the suite restores as uid 1000 with its state intact.
--
-- Changed, because criu restores them:
-- * thread creds: uid, euid, suid, fsuid, gid, egid, sgid, fsgid, groups, in
--   every core-TID.img's thread_core.creds (creds-TID.img in dumps of criu 2.x);
-- * the owner of an fd's F_SETOWN (fown uid, euid of a file entry whose
--   fown.pid is set): criu sets the owner under those ids;
-- * SysV IPC objects (desc uid, gid of ipcns-shm, ipcns-sem, ipcns-msg):
--   criu sets them with IPC_SET. Their cuid and cgid are changed too, but
--   the kernel makes the restorer (criu) their creator: they come back as
--   criu's ids whatever the image says;
-- * memfd inodes (memfd.img uid, gid), bound unix socket files (unixsk
--   file_perms), pty slaves (tty-info uid, gid) and deleted files that criu
--   recreates (ghost-file-N.img uid, gid): criu chowns what it creates.
-- With pid=PID, SysV IPC, memfd inodes, socket files, ptys and ghost files
-- are left: other tasks may share them.
-- Left alone, and said on stderr when the dump has them:
-- * files on disk (regular files, directories, FIFOs, the cwd): criu opens
--   them where they are and never chowns them: chown them on the target host;
-- * capabilities: criu restores them as they are, and the kernel does not
--   drop them on a uid change made by criu's restorer;
-- * the audit loginuid (core tc.loginuid): who logged in, not who runs;
-- * user namespaces (userns-N.img uid_map, gid_map): the ids in the images
--   are those seen inside the dump's user namespace, and its maps say which
--   host ids they are: a new id must be one the map covers;
-- * cgroup directories (cgroup.img perms): the host's cgroup tree.
local dirlib = require "crit.dir"
local layout = require "crit.layout"

local UID_FIELDS = { "uid", "euid", "suid", "fsuid" }
local GID_FIELDS = { "gid", "egid", "sgid", "fsgid" }

local function usage()
  error("usage: set-creds.lua -- [uid=OLD:NEW] [gid=OLD:NEW] [pid=PID]", 0)
end

local function parse(args)
  local maps, only = { uid = {}, gid = {} }, nil
  for _, a in ipairs(args) do
    local kind, old, new = a:match("^([ug]id)=(%d+):(%d+)$")
    if kind then
      old, new = tonumber(old), tonumber(new)
      if not old or not new or old > 0xffffffff or new > 0xffffffff then usage() end
      maps[kind][old] = new
    elseif a:match("^pid=%d+$") then
      only = tonumber(a:match("%d+"))
    else
      usage()
    end
  end
  if not next(maps.uid) and not next(maps.gid) then usage() end
  return maps, only
end

return function(d, args)
  local maps, only = parse(args)
  local count = 0
  -- change(t, "uid", "uid", "euid"): map those fields of t through the uid map
  local function change(t, kind, ...)
    if not t then return end
    for _, f in ipairs({ ... }) do
      local new = maps[kind][t[f]]
      if new then t[f], count = new, count + 1 end
    end
  end
  local function change_owner(t)
    change(t, "uid", "uid")
    change(t, "gid", "gid")
  end

  -- Thread credentials.
  local tasks = assert(d:tasks())
  local fd_tables = {}
  for _, t in ipairs(tasks) do
    if not only or t.pid == only then
      -- a zombie has only its core-PID (its pstree threads are undefined)
      local tids = (t.zombie or #t.threads == 0) and { t.pid } or t.threads
      for _, tid in ipairs(tids) do
        local core = assert(d:core(tid))
        for _, creds in ipairs({ core.thread_core and core.thread_core.creds or false,
                                 (d:image("creds-" .. tid) or {})[1] or false }) do
          if creds then
            change(creds, "uid", table.unpack(UID_FIELDS))
            change(creds, "gid", table.unpack(GID_FIELDS))
            for i, g in ipairs(creds.groups or {}) do
              local new = maps.gid[g]
              if new then creds.groups[i], count = new, count + 1 end
            end
          end
        end
      end
      local ids = not t.zombie and d:ids(t.pid)
      if ids then fd_tables[ids.files_id] = true end
    end
  end

  -- The files open in those fd tables (all of them without pid=).
  local open_ids = {}
  for files_id in pairs(fd_tables) do
    local fdinfo = d:image("fdinfo-" .. files_id)
    for k = 1, fdinfo and #fdinfo or 0 do open_ids[fdinfo[k].id] = true end
  end
  local files = d:image("files")
  for k = 1, files and #files or 0 do
    local f = files[k]
    if not only or open_ids[f.id] then
      local ft = dirlib.FILE_TYPES[f.type]
      local e = ft and f[ft.field]
      -- criu sets an owner (F_SETOWN) only when there is one: fown.pid ~= 0
      if type(e) == "table" and e.fown and e.fown.pid ~= 0 then change(e.fown, "uid", "uid", "euid") end
      if not only and f.usk then change_owner(f.usk.file_perms) end
    end
  end

  local names = layout.images(d.path)
  local left = {}
  for _, name in ipairs(names) do
    local kind = layout.kind(name)
    if kind == "userns" then left[#left + 1] = "user namespace maps (" .. name .. ")" end
    if kind == "cgroup" then left[#left + 1] = "cgroup directory owners (cgroup.img)" end
  end
  if only then
    io.stderr:write("set-creds: pid=" .. only .. ": SysV IPC, memfd inodes, socket files, ptys and"
      .. " ghost files keep their owners (other tasks may share them)\n")
  else
    for _, name in ipairs(names) do
      local kind = layout.kind(name)
      local img = (kind == "ipcns-shm" or kind == "ipcns-sem" or kind == "ipcns-msg"
        or kind == "memfd" or kind == "tty-info" or kind == "ghost-file"
        or kind == "unixsk") and d:image(name)
      for k = 1, img and #img or 0 do
        local e = img[k]
        if e.desc then                                    -- SysV IPC
          change(e.desc, "uid", "uid", "cuid")
          change(e.desc, "gid", "gid", "cgid")
        elseif kind == "unixsk" then                      -- dumps of criu 2.x
          change_owner(e.file_perms)
        elseif kind ~= "ghost-file" or k == 1 then        -- a ghost's chunks own nothing
          change_owner(e)
        end
      end
    end
  end
  io.stderr:write(("set-creds: %d ids changed; files on disk keep their owners (chown them on the"
    .. " target host); capabilities and the audit loginuid are left as they are%s\n"):format(count,
    #left > 0 and "; left: " .. table.concat(left, ", ") or ""))
end
