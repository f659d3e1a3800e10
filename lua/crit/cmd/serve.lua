-- crit.lua serve: serve a dump to `criu restore --stream`, optionally
-- transformed on the fly; the engine is crit.streamer.
local stdio = require "crit.cmd.stdio"
local usage = require "crit.cmd.usage"

local require, tostring, tonumber, ipairs, string_format = require, tostring, tonumber, ipairs, string.format
local io_stderr = io.stderr

local M = {}

local DESCRIPTION = [[
Serve the dump in SOURCE to `criu restore --stream -D IMAGES_DIR`: be criu's
image streamer on IMAGES_DIR/streamer-serve.sock, answer each image criu
asks for from SOURCE, and exit when criu closes the connection.

With --transform, the script (the same as for `crit.lua transform`) runs
over SOURCE first; criu then gets the transformed images: re-encoded
images from memory, pages from SOURCE's files by splice with the script's
memory patches (d:write_memory) written in as they pass. Nothing is
written to disk, and SOURCE is not changed. A script that fails stops
crit.lua before it listens: criu finds no socket and restores nothing.

The socket appears only once it accepts connections: start
`crit.lua serve ... &`, wait for the socket, then run criu. One criu is
served; another connecting meanwhile is refused (its requests fail). The
socket is removed on exit. An existing socket file is never replaced.

criu reports success only by writing stats-restore into its work directory
(IMAGES_DIR unless criu runs with -W): crit.lua serve exits 0 when criu
wrote it, 1 when the restore failed, a transfer broke off, or criu never
connected within --timeout. The summary line goes to stdout.]]

local EPILOG = [[
Examples:
   crit.lua serve /run/imgs dump &
   criu restore --stream -D /run/imgs -d

   # criu 4.1 restores a criu 4.2 dump, converted on the fly
   crit.lua serve /run/imgs dump --transform examples/transforms/pagemap-layout.lua -- 4.1 &
   criu-4.1 restore --stream -D /run/imgs -d

   crit.lua serve /run/imgs dump --transform rename-process.lua -- 1234 newname &

Exit status:
   0  criu restored the dump.
   1  the restore failed, SOURCE is not a dump, the script failed, the
      socket exists, or criu did not connect in time.
   2  wrong usage (arguments after -- without --transform too).]]

function M.add_to_parser(parser)
  local cmd = parser:command("serve")
    :summary("Serve a dump to criu restore --stream, transformed on the fly.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("IMAGES_DIR"):target("images_dir")
    :description("The directory criu restore --stream -D is given (the socket goes there).")
  cmd:argument("SOURCE"):target("source")
    :description("The checkpoint directory to serve.")
  cmd:argument("args"):args("*")
    :description("Arguments for the transform script (after --).")
  cmd:option("--transform"):target("transform"):argname("SCRIPT.lua")
    :description("A transform script to apply on the fly.")
  cmd:option("--timeout"):target("timeout"):argname("SECONDS"):convert(tonumber)
    :description("Give up if criu has not connected after this many seconds.")
  usage.check(cmd, function(args)
    if #args.args > 0 and not args.transform then return "the arguments after -- are for a --transform script" end
  end)
end

-- "1.0 GiB", "12.3 MiB", "812 bytes".
function M.size_text(n)
  if n >= 1 << 30 then return string_format("%.1f GiB", n / (1 << 30)) end
  if n >= 1 << 20 then return string_format("%.1f MiB", n / (1 << 20)) end
  if n >= 1 << 10 then return string_format("%.1f KiB", n / (1 << 10)) end
  return string_format("%d bytes", n)
end

-- The source as a dump: a directory with an inventory.
local function open_dump(path)
  local dirlib = require "crit.dir"
  local d, err = dirlib.open(path)
  if not d then return nil, err end
  if not d:has("inventory") then
    return nil, path .. ": not a criu dump (no inventory.img)"
  end
  d:inventory()  -- raises on a corrupt one
  return d
end

-- The source directory and its changes: transformed, or as it is.
local function prepare(args)
  local streamer = require "crit.streamer"
  local d, err = open_dump(args.source)
  if not d then return nil, err end
  if not args.transform then return streamer.dir_source(d) end
  local transform = require "crit.transform"
  local fn, lerr = transform.load_script(args.transform)
  if not fn then return nil, lerr end
  local td = transform.run(args.source, fn, args.args)
  return streamer.dir_source(td, transform.changes(td))
end

function M.command(args)
  local streamer = require "crit.streamer"
  local policy, err = prepare(args)
  if not policy then return nil, err end
  local server, serr = streamer.server(args.images_dir, "serve")
  if not server then return nil, serr end
  local result = server:run(policy, { timeout = args.timeout })
  for _, pid in ipairs(result.refused) do
    io_stderr:write(string_format("crit.lua: serve: refused a second connection (pid %s)\n",
      tostring(pid)))
  end
  if not result.ok then return nil, "serve: " .. result.error end
  stdio.write_stdout(string_format(
    "served %d images (%s) to criu (pid %s), %d asked for and absent; restore succeeded\n",
    result.images, M.size_text(result.bytes), tostring(result.pid), #result.absent))
  stdio.flush_stdout()
  return true
end

return M
