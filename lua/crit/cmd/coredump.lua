-- `crit.lua coredump`: an ELF core file for each process of a checkpoint,
-- for gdb, readelf and other tools that read kernel core dumps.
local coredump = require "crit.coredump"
local dir = require "crit.dir"
local usage = require "crit.cmd.usage"
local stdio = require "crit.cmd.stdio"

local io_stderr = io.stderr
local string_format, tonumber, ipairs = string.format, tonumber, ipairs
local os_execute = os.execute

local cmd = {}

local DESCRIPTION = [[
Write an ELF core file (x86_64 ET_CORE, as the kernel writes) named core.PID
for each process of the checkpoint in DIR, or only for --pid. gdb, readelf
and eu-stack read it like a core dump of the process at checkpoint time.

Notes: NT_PRSTATUS (registers), NT_FPREGSET and NT_X86_XSTATE (FPU, SSE,
AVX, AVX-512 state) and NT_SIGINFO for every thread; NT_PRPSINFO, NT_AUXV
and NT_FILE (the mapped files) for the process. Memory: a PT_LOAD per VMA
with the dumped pages; anonymous memory that is not in the dump is written
as zeros (it was never touched). Pages of mapped files that criu did not
dump are left out, so that gdb reads them from the files (NT_FILE names
them); --with-files copies them from the files on this host instead.
Zombies have no memory: they are skipped with a note on stderr.

The output is written in constant memory (pages are copied from pages-N.img
without going through Lua) and appears only when complete: an error leaves
no partial file. Progress is shown on stderr when it is a terminal.]]

local EPILOG = [[
EXAMPLES
  crit.lua coredump dump -o /tmp/cores
      /tmp/cores/core.PID for every process of the dump
  crit.lua coredump dump --pid 31039 --with-files
      core.31039 here, with the contents of the mapped files
  gdb -c core.31039 /usr/bin/python3.11 -ex 'info threads' -ex 'bt'

EXIT STATUS
  0  every core file was written (zombies skipped are not errors)
  1  an error: a missing or corrupt image, an unwritable directory, an
     unsupported architecture
  2  wrong usage: an unknown option, a missing argument, a bad PID]]

function cmd.add_to_parser(parser)
  local c = parser:command("coredump", DESCRIPTION, EPILOG)
    :summary("Write ELF core files of the dumped processes (for gdb).")
  c:argument("dir", "The checkpoint directory, or a container checkpoint archive.")
  c:option("-o --output", "Directory for the core files.", ".")
  c:option("--pid", "Only this process.")
  c:flag("--with-files", "Fill file-backed VMAs from the files on this host.")
  usage.check(c, function(args)
    if not args.pid then return nil end
    local pid = tonumber(args.pid)
    if not pid or pid <= 0 or pid ~= pid // 1 then return "bad PID '" .. args.pid .. "'" end
    args.pid = pid // 1
  end)
  return c
end

local function is_terminal(fd)
  return os_execute("test -t " .. fd) == true
end

-- "\rcore.PID  42%" on stderr, redrawn when the percentage changes.
local function progress_line(name)
  local shown = -1
  return function(done, total)
    local pct = total > 0 and done * 100 // total or 100
    if pct ~= shown then
      shown = pct
      io_stderr:write(string_format("\r%s %3d%% of %.1f MiB", name, pct, total / 1048576))
    end
  end
end

local function warn(msg) io_stderr:write("crit coredump: ", msg, "\n") end

local function dump_one(d, pid, outdir, args, tty)
  local name = string_format("core.%d", pid)
  local path = outdir .. "/" .. name
  local ok, plan, why = coredump.write(d, pid, path, {
    with_files = args.with_files,
    progress = tty and progress_line(name) or nil,
    warn = warn,
  })
  if tty then io_stderr:write("\r\27[K") end
  if not ok then
    if why == "zombie" then warn("skipping " .. plan); return true end
    return nil, plan
  end
  stdio.write_stdout(string_format("%s: %d thread%s, %d segments, %d bytes\n", path,
    #plan.threads, #plan.threads == 1 and "" or "s", plan.nsegs, plan.total))
  return true
end

--- Run `crit.lua coredump`: true, or nil and a message.
function cmd.command(args)
  -- Region and segment tables made and dropped one per VMA next to the
  -- VMAs' arrays: see stdio.gc_pause (500,000 VMAs: 114 -> 87 MiB).
  local pause <close> = stdio.gc_pause(150) -- luacheck: ignore 211 (held for its __close)
  local d, err = dir.open(args.dir)
  if not d then return nil, err end
  local pids = {}
  if args.pid then
    pids[1] = args.pid
  else
    local tasks
    tasks, err = d:tasks()
    if not tasks then return nil, err end
    for i, t in ipairs(tasks) do pids[i] = t.pid end
  end
  local tty = is_terminal(2)
  for _, pid in ipairs(pids) do
    local ok
    ok, err = dump_one(d, pid, args.output, args, tty)
    if not ok then return nil, err end
  end
  return true
end

return cmd
