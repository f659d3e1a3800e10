-- Drop an open file descriptor from a process: it is not restored (criu
-- then does not need the file, socket or pipe on the target host).
-- Usage: crit.lua transform DIR drop-fd.lua -o OUT -- PID FD [--prune]
-- Proved by restore: spec/restore/transforms_spec.lua, scenario "epoll"
-- (fd 10, watched by an epoll, is dropped; the epoll still delivers the
-- events of the fds it keeps).
--
-- A task's fds are the entries of fdinfo-N.img, N being ids-PID's
-- files_id (tasks sharing an fd table, CLONE_FILES, share the image: the
-- fd is dropped for all of them). Each entry names a file by id in
-- files.img.
--
-- An epoll names its targets by fd number (eventpoll tfd entries: in the
-- epoll's file entry, epfd.tfd, or in eventpoll-tfd.img of old dumps), and
-- criu restores each with epoll_ctl(EPOLL_CTL_ADD, tfd) in the task that
-- opens the epoll: a target fd that is gone fails the restore ("Can't add
-- event ... Bad file descriptor"). So the fd is removed from every epoll
-- open in the same fd table. An epoll also open in another fd table (one
-- inherited across fork) may be restored by that task, whose fd may still
-- be open: that case is refused.
--
-- The file entry is left alone by default: criu restores an fd from it
-- only when some fd refers to it, so an unused entry costs nothing, and
-- the same file may still be used by a mapping, the cwd or root, the exe,
-- or another task's fd. --prune removes the entry when nothing in the
-- dump refers to its id any more (fdinfo, fs cwd/root, mm exe, vmas,
-- fifos), and an epoll's legacy tfd entries with it. Dropping one end of
-- a socket pair or a pipe leaves the other end open with a peer that is
-- gone, as if it had been closed.

-- The epolls open in an fd table: { [epoll file id] = true }.
local function epolls_of(fdinfo)
  local ids = {}
  for k = 1, #fdinfo do
    if fdinfo[k].type == "EVENTPOLL" then ids[fdinfo[k].id] = true end
  end
  return ids
end

-- The epolls among `epolls` that have fd as a target.
local function watching(d, epolls, fd)
  local found = {}
  for id in pairs(epolls) do
    local f = d:file(id)
    for _, t in ipairs(f and f.epfd and f.epfd.tfd or {}) do
      if t.tfd == fd then found[id] = true end
    end
  end
  local legacy = d:image("eventpoll-tfd")       -- dumps of criu 2.x
  for k = 1, legacy and #legacy or 0 do
    if epolls[legacy[k].id] and legacy[k].tfd == fd then found[legacy[k].id] = true end
  end
  return found
end

-- Refuse when one of the epolls is open through another fd table.
local function refuse_shared(d, epolls, files_id, fd)
  local seen = { [files_id] = true }
  for _, t in ipairs(assert(d:tasks())) do
    local ids = not t.zombie and d:ids(t.pid)
    if ids and not seen[ids.files_id] then
      seen[ids.files_id] = true
      local other = d:image("fdinfo-" .. ids.files_id)
      for id in pairs(other and epolls_of(other) or {}) do
        if epolls[id] then
          error(("drop-fd: epoll %#x watches fd %d and is also open in pid %d, which has its own"
            .. " fd table: criu may restore it there, where fd %d stays"):format(id, fd, t.pid, fd), 0)
        end
      end
    end
  end
end

-- Remove the targets numbered fd from the epolls; returns how many.
local function drop_targets(d, epolls, fd)
  local count = 0
  for id in pairs(epolls) do
    local f = d:file(id)
    local tfds = f and f.epfd and f.epfd.tfd or {}
    for k = #tfds, 1, -1 do
      if tfds[k].tfd == fd then table.remove(tfds, k) count = count + 1 end
    end
  end
  local legacy = d:image("eventpoll-tfd")       -- dumps of criu 2.x
  if legacy then
    for k = #legacy, 1, -1 do
      if epolls[legacy[k].id] and legacy[k].tfd == fd then legacy:remove(k) count = count + 1 end
    end
  end
  return count
end

-- Is the file id still used anywhere?
local function file_used(d, id)
  for _, t in ipairs(assert(d:tasks())) do
    for _, e in ipairs(d:fdinfo(t.pid) or {}) do
      if e.id == id then return true end
    end
    local fs = d:fs(t.pid)
    if fs and (fs.cwd_id == id or fs.root_id == id) then return true end
    local mm = d:mm(t.pid)
    if mm and mm.exe_file_id == id then return true end
    for _, v in ipairs(d:vmas(t.pid) or {}) do
      if v.shmid == id then return true end
    end
  end
  local files = d:image("files")
  for k = 1, files and #files or 0 do
    local f = files[k]
    if f.fifo and f.fifo.regf_id == id then return true end
  end
  return false
end

local function prune(d, id)
  if file_used(d, id) then return end
  local files = d:image("files")
  for k = 1, files and #files or 0 do
    if files[k].id == id then files:remove(k) break end
  end
  local legacy = d:image("eventpoll-tfd")       -- the targets of a pruned epoll
  if legacy then
    for k = #legacy, 1, -1 do
      if legacy[k].id == id then legacy:remove(k) end
    end
  end
end

return function(d, args)
  local pid, fd, prune_too = tonumber(args[1]), tonumber(args[2]), args[3] == "--prune"
  if not pid or not fd then error("usage: drop-fd.lua -- PID FD [--prune]", 0) end
  local ids = assert(d:ids(pid))
  local fdinfo = assert(d:image("fdinfo-" .. ids.files_id))
  local id
  for k = 1, #fdinfo do
    if fdinfo[k].fd == fd then
      id = fdinfo[k].id
      fdinfo:remove(k)
      break
    end
  end
  if not id then error(("drop-fd: pid %d has no fd %d"):format(pid, fd), 0) end

  local epolls = watching(d, epolls_of(fdinfo), fd)
  refuse_shared(d, epolls, ids.files_id, fd)
  local dropped = drop_targets(d, epolls, fd)
  if dropped > 0 then
    io.stderr:write(("drop-fd: fd %d removed from the targets of its epolls (%d entries)\n")
      :format(fd, dropped))
  end
  if prune_too then prune(d, id) end
end
