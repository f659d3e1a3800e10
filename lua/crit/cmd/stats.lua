-- crit.lua stats: a checkpoint directory in figures (crit.stats), as a
-- report for people or as JSON for tools.
local dirlib = require "crit.dir"
local stats = require "crit.stats"
local stdio = require "crit.cmd.stdio"

local io_stderr, os_execute, string_format = io.stderr, os.execute, string.format

local M = {}

local DESCRIPTION = [[
Sum up a checkpoint directory: what was dumped and how big it is.

   header      the number and size of the images; the criu that wrote them
               (criu 4.2 and later count pages in pagemap nr_pages, older
               criu in compat_nr_pages); the image format (header version,
               inventory img_version and flags, LSM, criu run id).
   processes   processes, threads, zombies and stopped tasks, then a line
               per process: PID, PPID, state, threads, fds, VMAs, memory
               mapped and memory dumped (pages in pages-N.img), command.
   per process its VMAs by kind (anon, heap, stack, file, memfd,
               anon-shared, sysv-shm, packet, aio, vdso, vvar, vsyscall):
               count and size; its fds by type. A zombie has only its core
               image and shows nothing more.
   files       every file of files.img (or of the per-type images of old
               dumps) by type.
   sockets     by family, type and state (TCP states; unix sockets use
               them too).
   namespaces  each namespace named by the tasks' ids images: kind, id, how
               many tasks are in it, whether it is the one criu ran in, and
               its images (netns-N, utsns-N, ipcns-*-N, mountpoints-N, ...).
   pages       the pages dumped in all, and per pages-N.img: its pages (its
               size / the page size), its size and the pagemaps that point
               into it.
               "(pagemaps say N)" flags an image whose size disagrees with
               the pages its pagemaps mark present.
   dump statistics  criu's own figures from stats-dump: freezing, frozen,
               memory dump and write times; pages scanned, skipped because
               the parent dump has them, written, lazy; page pipes; the
               same for shared memory. And stats-restore's, if the
               directory was restored from: forking and restore times,
               pages compared, skipped (COW) and restored.

Sizes are in powers of 1024 (KiB, MiB). With --json the same figures go to
stdout as one JSON object, keys sorted, sizes in bytes and times in
microseconds; integers are written exact and unsigned, as many digits as
they have (a tool that reads JSON numbers as doubles rounds those above
2^53). When stderr is a terminal, progress through the processes of a big
dump is shown there.]]

local EPILOG = [[
Examples:
   crit.lua stats dump
   crit.lua stats dump --json | jq '.tasks[] | {pid, comm, memory_dumped}'
   crit.lua stats dump --json | jq '.dump_stats.frozen_time'

Exit status: 0 on success, 1 on an error (a missing or corrupt image: the
message names it), 2 on wrong usage.]]

function M.add_to_parser(parser)
  local cmd = parser:command("stats")
    :summary("Sum up a checkpoint directory: processes, memory, files, pages.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("DIR"):target("dir")
    :description("The checkpoint directory (criu dump's --images-dir), or a\n"
      .. "container checkpoint archive (podman, CRI-O: tar, gzip or zstd).")
  cmd:flag("--json")
    :description("Write the figures as one JSON object.")
end

-- Progress on stderr for people watching a big dump, never in a log.
local function progress_reporter()
  if not os_execute("test -t 2") then return nil end
  local shown = false
  return function(done, total, what)
    if total < 20 then return end
    shown = true
    io_stderr:write(string_format("\rstats: %d/%d %s\027[K", done, total, what))
    if done == total then io_stderr:write("\r\027[K") end
  end, function()
    if shown then io_stderr:write("\r\027[K") end
  end
end

function M.command(args)
  local d, err = dirlib.open(args.dir)
  if not d then return nil, err end
  local progress, clear = progress_reporter()
  local ok, report = pcall(stats.collect, d, progress)
  if clear then clear() end
  if not ok then error(report, 0) end
  stdio.write_stdout(args.json and stats.json(report) or stats.text(report))
  stdio.flush_stdout()
  return true
end

return M
