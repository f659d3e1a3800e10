-- crit.lua capture: receive `criu dump --stream` into a directory, complete
-- or not at all, optionally transformed and checked; the engine is
-- crit.streamer.
local stdio = require "crit.cmd.stdio"
local usage = require "crit.cmd.usage"

local require, tostring, tonumber, ipairs, pcall, error, string_format =
  require, tostring, tonumber, ipairs, pcall, error, string.format
local io_stderr, os_rename = io.stderr, os.rename

local M = {}

local DESCRIPTION = [[
Receive the dump of `criu dump --stream -D IMAGES_DIR` into the new
directory OUT: be criu's image streamer on IMAGES_DIR/streamer-capture.sock,
take every image criu sends (all pipes are drained at once, pages by
splice), and exit when criu has closed the connection and exited.

OUT is complete or absent: the images go into a temporary directory next
to it (OUT.crit-tmp-*), renamed to OUT only when criu reported success (it
writes stats-dump into its work directory, IMAGES_DIR unless -W, which is
copied into OUT). A dump that fails or is cut off half way leaves nothing.

With --transform, the script (as for `crit.lua transform`) runs over the
received dump before it is committed: changed images are re-encoded,
memory patches written over the received pages. With --check, the checks of
`crit.lua check` run on the result before it is committed; their report
goes to stdout, and errors keep OUT from being written.

The socket appears only once it accepts connections: start
`crit.lua capture ... &`, wait for the socket, then run criu. It is removed
on exit; an existing socket file is never replaced.]]

local EPILOG = [[
Examples:
   crit.lua capture /run/imgs -o dump &
   criu dump --stream -D /run/imgs -t 1234

   crit.lua capture /run/imgs -o dump --check --transform set-rlimit.lua -- NOFILE=4096 &

Exit status:
   0  criu dumped, OUT is written.
   1  criu failed, a transfer broke off, the script failed, --check found
      errors, OUT or the socket exists: OUT is not written.
   2  wrong usage (arguments after -- without --transform too).]]

function M.add_to_parser(parser)
  local cmd = parser:command("capture")
    :summary("Receive criu dump --stream into a directory, complete or not at all.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("IMAGES_DIR"):target("images_dir")
    :description("The directory criu dump --stream -D is given (the socket goes there).")
  cmd:argument("args"):args("*")
    :description("Arguments for the transform script (after --).")
  cmd:option("-o --output"):target("output"):argname("OUT"):count(1)
    :description("The directory to create with the dump.")
  cmd:option("--transform"):target("transform"):argname("SCRIPT.lua")
    :description("A transform script to apply before committing.")
  cmd:flag("--check"):target("check")
    :description("Run the checks of crit.lua check before committing; errors abort.")
  cmd:option("--timeout"):target("timeout"):argname("SECONDS"):convert(tonumber)
    :description("Give up if criu has not connected after this many seconds.")
  usage.check(cmd, function(args)
    if #args.args > 0 and not args.transform then return "the arguments after -- are for a --transform script" end
  end)
end

-- The script over the received dump, its changes written in place.
local function transform_received(tmp, script, args)
  local transform, streamer = require "crit.transform", require "crit.streamer"
  local fn, err = transform.load_script(script)
  if not fn then error(err, 0) end
  local d = transform.run(tmp, fn, args)
  streamer.apply_changes(tmp, transform.changes(d))
end

-- The checks on the result: the report on stdout; errors raise.
local function check_received(tmp, out)
  local checklib, dirlib = require "crit.check", require "crit.dir"
  local report = require("crit.cmd.check").text_report
  local findings = checklib.run(assert(dirlib.open(tmp)))
  stdio.write_stdout(report(out, findings))
  stdio.flush_stdout()
  local errors = checklib.counts(findings)
  if errors > 0 then
    error(string_format("capture: --check found %d error%s: %s not written", errors,
      errors == 1 and "" or "s", out), 0)
  end
end

-- Receive into tmp; then transform, check, and copy criu's stats in.
local function receive(args, tmp)
  local streamer = require "crit.streamer"
  local server, serr = streamer.server(args.images_dir, "capture")
  if not server then error(serr, 0) end
  local result = server:run(streamer.dir_sink(tmp), { timeout = args.timeout })
  for _, pid in ipairs(result.refused) do
    io_stderr:write(string_format("crit.lua: capture: refused a second connection (pid %s)\n",
      tostring(pid)))
  end
  if not result.ok then error("capture: " .. result.error .. ": " .. args.output .. " not written", 0) end
  local stats = args.images_dir:gsub("/+$", "") .. "/" .. streamer.STATS.capture
  local ok, cerr = pcall(function()
    local f <close> = assert(io.open(stats, "rb"))
    local out <close> = require("crit.core").output(tmp .. "/" .. streamer.STATS.capture)
    out:write(f:read("a"))
    out:finish()
  end)
  if not ok then error("capture: " .. tostring(cerr), 0) end
  if args.transform then transform_received(tmp, args.transform, args.args) end
  if args.check then check_received(tmp, args.output) end
  local renamed, rerr = os_rename(tmp, args.output)
  if not renamed then error("capture: " .. tostring(rerr), 0) end
  return result
end

function M.command(args)
  local transform, lfs = require "crit.transform", require "lfs"
  local out = args.output
  if lfs.symlinkattributes(out) then return nil, "capture: " .. out .. ": already exists" end
  if args.transform then  -- a script that does not load fails before criu runs
    local fn, err = transform.load_script(args.transform)
    if not fn then return nil, err end
  end
  local tmp = transform.temp_dir(out)
  local ok, result = pcall(receive, args, tmp)
  if not ok then
    transform.remove_tree(tmp)
    return nil, result
  end
  local size = require("crit.cmd.serve").size_text
  stdio.write_stdout(string_format("captured %d images (%s) from criu (pid %s) into %s\n",
    result.images, size(result.bytes), tostring(result.pid), out))
  stdio.flush_stdout()
  return true
end

return M
