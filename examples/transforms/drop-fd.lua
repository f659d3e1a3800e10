-- Drop open file descriptors from a process: they are not restored (criu
-- then does not need the file, socket or pipe on the target host).
-- Usage: crit.lua transform DIR drop-fd.lua -o OUT -- PID FD [FD ...] [--prune]
-- Proved by restore: spec/restore/transforms_spec.lua, scenarios "epoll"
-- (fd 10, watched by an epoll, is dropped; the epoll still delivers the
-- events of the fds it keeps), "pipes" (one end of a pipe), "tcp" (one end
-- of an established connection), "unix" (both ends of a socket pair
-- together; one end alone is refused).
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
-- A file entry that nothing refers to any more (no fdinfo, fs cwd/root, mm
-- exe, vma, FIFO) is removed, with what belongs to it alone (an epoll's
-- targets in eventpoll-tfd.img, remap-fpath entries, a socket's queued data
-- in sk-queues.img and tcp-stream-INO.img, the pipes-data or fifo-data of a
-- buffer nothing opens any more): criu 4.2 crashes on a pipe or
-- socket entry without an fd ("Empty list on file desc id", a BUG), and
-- hangs on an inet socket. (--prune, which asked for this, is still
-- accepted; it is always done now.) A file still used elsewhere (a dup'ed
-- fd, another task's fd, a mapping) stays.
--
-- A unix socket connected to another socket of the dump (a socket pair,
-- both ends of an accepted connection, a datagram socket and the one it
-- sends to) cannot be restored without it ("unix: FATAL: Peer N
-- unresolved"): dropping one is refused unless its peers are dropped in the
-- same run. Dropping one end of a pipe leaves the other end open, as if it
-- had been closed.

local function usage() error("usage: drop-fd.lua -- PID FD [FD ...] [--prune]", 0) end

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
  local legacy = d:image("eventpoll-tfd")
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

-- The unix sockets of files.img connected to the socket: { [file id] = ino }.
local function unix_peers(d, usk)
  local peers = {}
  local files = d:image("files")
  for k = 1, files and #files or 0 do
    local other = files[k].usk
    if other and other.id ~= usk.id and ((usk.peer ~= 0 and other.ino == usk.peer) or other.peer == usk.ino) then
      peers[other.id] = other.ino
    end
  end
  return peers
end

local function remove_entries(img, match)
  for k = img and #img or 0, 1, -1 do
    if match(img[k]) then img:remove(k) end
  end
end

-- Is a pipe (or FIFO) buffer, by pipe_id, still open through some entry?
local function pipe_open(d, field, pipe_id)
  local files = d:image("files")
  for k = 1, files and #files or 0 do
    local e = files[k][field]
    if e and e.pipe_id == pipe_id then return true end
  end
  return false
end

-- Remove the file entry and what belongs to it alone: an epoll's legacy
-- targets, its remaps, a socket's queued data and TCP stream, the data of
-- a pipe or FIFO buffer nothing opens any more.
local function prune(d, id)
  local f = d:file(id)
  remove_entries(d:image("files"), function(e) return e.id == id end)
  remove_entries(d:image("eventpoll-tfd"), function(t) return t.id == id end)
  remove_entries(d:image("remap-fpath"), function(r) return r.orig_id == id end)
  remove_entries(d:image("sk-queues"), function(q) return q.id_for == id end)
  if f and f.isk and d:image(("tcp-stream-%x"):format(f.isk.ino)) then
    d:remove_image(("tcp-stream-%x"):format(f.isk.ino))
  end
  for field, data in pairs({ pipe = "pipes-data", fifo = "fifo-data" }) do
    local pipe_id = f and f[field] and f[field].pipe_id
    if pipe_id and not pipe_open(d, field, pipe_id) then
      remove_entries(d:image(data), function(e) return e.pipe_id == pipe_id end)
    end
  end
end

return function(d, args)
  local pid, fds = tonumber(args[1]), {}
  for i = 2, #args do
    if args[i] ~= "--prune" then fds[#fds + 1] = tonumber(args[i]) or usage() end
  end
  if not pid or #fds == 0 then usage() end
  local ids = assert(d:ids(pid))
  local fdinfo = assert(d:image("fdinfo-" .. ids.files_id))

  local dropped = {}                             -- file id -> fd
  for _, fd in ipairs(fds) do
    local id
    for k = 1, #fdinfo do
      if fdinfo[k].fd == fd then
        id = fdinfo[k].id
        fdinfo:remove(k)
        break
      end
    end
    if not id then error(("drop-fd: pid %d has no fd %d"):format(pid, fd), 0) end
    dropped[id] = fd

    local epolls = watching(d, epolls_of(fdinfo), fd)
    refuse_shared(d, epolls, ids.files_id, fd)
    local n = drop_targets(d, epolls, fd)
    if n > 0 then
      io.stderr:write(("drop-fd: fd %d removed from the targets of its epolls (%d entries)\n"):format(fd, n))
    end
  end

  local unused = {}
  for id in pairs(dropped) do
    if not file_used(d, id) then unused[id] = true end
  end
  for id in pairs(unused) do
    local f = d:file(id)
    for peer_id, ino in pairs(f and f.usk and unix_peers(d, f.usk) or {}) do
      if not unused[peer_id] then
        error(("drop-fd: fd %d is a unix socket connected to socket %d (file %#x) of the dump:"
          .. " criu cannot restore one without the other (\"Peer unresolved\"); drop its"
          .. " peer in the same run (several fds can be given)"):format(dropped[id], ino, peer_id), 0)
      end
    end
  end
  for id in pairs(unused) do prune(d, id) end
end
