-- Drop an open file descriptor from a process: it is not restored (criu
-- then does not need the file, socket or pipe on the target host).
-- Usage: crit.lua transform DIR drop-fd.lua -o OUT -- PID FD [--prune]
--
-- A task's fds are the entries of fdinfo-N.img, N being ids-PID's
-- files_id (tasks sharing an fd table, CLONE_FILES, share the image: the
-- fd is dropped for all of them). Each entry names a file by id in
-- files.img. The file entry is left alone by default: criu restores an fd
-- from it only when some fd refers to it, so an unused entry costs nothing,
-- and the same file may still be used by a mapping, the cwd or root, the
-- exe, or another task's fd. --prune removes the entry when nothing in the
-- dump refers to its id any more (fdinfo, fs cwd/root, mm exe, vmas,
-- fifos). Dropping one end of a socket pair or a pipe leaves the other end
-- open with a peer that is gone, as if it had been closed.
return function(d, args)
  local pid, fd, prune = tonumber(args[1]), tonumber(args[2]), args[3] == "--prune"
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
  if not prune then return end

  -- Is the file id still used anywhere?
  local used = false
  for _, t in ipairs(assert(d:tasks())) do
    local fds = d:fdinfo(t.pid) or {}
    for _, e in ipairs(fds) do used = used or e.id == id end
    local fs = d:fs(t.pid)
    used = used or (fs and (fs.cwd_id == id or fs.root_id == id))
    local mm = d:mm(t.pid)
    used = used or (mm and mm.exe_file_id == id)
    for _, v in ipairs(d:vmas(t.pid) or {}) do used = used or v.shmid == id end
  end
  local files = d:image("files")
  if not files or used then return end
  for k = 1, #files do
    local f = files[k]
    if f.fifo and f.fifo.regf_id == id then return end
  end
  for k = 1, #files do
    if files[k].id == id then files:remove(k) return end
  end
end
