-- Change the user and group ids processes run as.
-- Usage: crit.lua transform DIR set-creds.lua -o OUT -- [uid=OLD:NEW] [gid=OLD:NEW] [pid=PID]
--   uid=0:1000 changes every uid field (uid, euid, suid, fsuid) that is 0
--   into 1000; gid=OLD:NEW the gid fields and the supplementary groups.
--   pid=PID limits the change to that task's threads (default: all tasks).
--
-- The credentials are per thread: thread_core.creds in every core-TID.img
-- (the main thread's is core-PID), or creds-TID.img in dumps of criu 2.x.
-- Capabilities are left alone: criu restores them as they are, and the
-- kernel does not drop them on a uid change made by criu's restorer.
-- Files keep their owners: chown them on the target host if needed.
local UID_FIELDS = { "uid", "euid", "suid", "fsuid" }
local GID_FIELDS = { "gid", "egid", "sgid", "fsgid" }

return function(d, args)
  local uid_map, gid_map, only = {}, {}, nil
  for _, a in ipairs(args) do
    local kind, old, new = a:match("^([ug]id)=(%d+):(%d+)$")
    if kind then
      (kind == "uid" and uid_map or gid_map)[tonumber(old)] = tonumber(new)
    elseif a:match("^pid=%d+$") then
      only = tonumber(a:match("%d+"))
    else
      error("usage: set-creds.lua -- [uid=OLD:NEW] [gid=OLD:NEW] [pid=PID]", 0)
    end
  end

  local count = 0
  local function change(creds)
    for _, f in ipairs(UID_FIELDS) do
      local new = uid_map[creds[f]]
      if new then creds[f], count = new, count + 1 end
    end
    for _, f in ipairs(GID_FIELDS) do
      local new = gid_map[creds[f]]
      if new then creds[f], count = new, count + 1 end
    end
    for i, g in ipairs(creds.groups or {}) do
      if gid_map[g] then creds.groups[i], count = gid_map[g], count + 1 end
    end
  end

  for _, t in ipairs(assert(d:tasks())) do
    if not only or t.pid == only then
      -- a zombie has only its core-PID (its pstree threads are undefined)
      local tids = (t.zombie or #t.threads == 0) and { t.pid } or t.threads
      for _, tid in ipairs(tids) do
        local core = assert(d:core(tid))
        if core.thread_core and core.thread_core.creds then change(core.thread_core.creds) end
        local legacy = d:image("creds-" .. tid)
        if legacy and legacy[1] then change(legacy[1]) end
      end
    end
  end
  io.stderr:write(("set-creds: %d ids changed\n"):format(count))
end
