-- Change the name of a process: its comm (what ps -o comm and
-- /proc/PID/comm show) and, when the new name fits, argv[0] in its memory
-- (what ps -f and /proc/PID/cmdline show).
-- Usage: crit.lua transform DIR rename-process.lua -o OUT -- PID NEWNAME
-- Proved by restore: spec/restore/transforms_spec.lua, scenario "plain"
-- (/proc/PID/comm, and /proc/PID/cmdline with argv[0] overwritten).
--
-- comm is core-PID's tc.comm, and the main thread's thread_core.comm:
-- at most 15 bytes (the kernel's TASK_COMM_LEN is 16 with the NUL).
-- argv lives in the process's memory between mm-PID's mm_arg_start and
-- mm_arg_end: "argv0\0argv1\0...". The program's argv[] pointers point into
-- it, so the strings cannot move: the new name is written over argv[0] and
-- the rest of the old argv[0] is filled with NULs (cmdline then reads
-- "new\0\0\0arg1..."). A longer name would overwrite argv[1]: argv is then
-- left alone. The bytes are changed in pages-N.img (d:write_memory patches
-- the right offset; the file keeps its size).
return function(d, args)
  local pid, name = tonumber(args[1]), args[2]
  if not pid or not name then error("usage: rename-process.lua -- PID NEWNAME", 0) end
  if #name > 15 then error("rename-process: a comm is at most 15 bytes", 0) end
  if name:find("%z") then error("rename-process: no NUL in a name", 0) end

  local core = assert(d:core(pid))
  core.tc.comm = name
  if core.thread_core and core.thread_core.comm then core.thread_core.comm = name end

  local mm = d:mm(pid)
  if not mm then return end                      -- a zombie: no memory
  local memory = require "crit.memory"
  local m = assert(memory.open(d, pid))
  local args_len = mm.mm_arg_end - mm.mm_arg_start
  local argv, holes = m:read(mm.mm_arg_start, args_len)
  if holes then
    io.stderr:write("rename-process: argv is not in the dump; only comm changed\n")
    return
  end
  local argv0 = argv:match("^[^%z]*")
  if #name > #argv0 then
    io.stderr:write(("rename-process: %q is longer than argv[0] %q; only comm changed\n")
      :format(name, argv0))
    return
  end
  d:write_memory(pid, mm.mm_arg_start, name .. ("\0"):rep(#argv0 - #name))
end
