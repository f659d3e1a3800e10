-- The crit.lua command line: crit 4.2's interface (decode, encode, show,
-- info, x) over lua-crit. One module per command in crit.cmd.*, each with
-- add_to_parser(parser) and command(args) -> true | nil, message.
local argparse = require "argparse"
local crit = require "crit"
local usage = require "crit.cmd.usage"

local io_stderr, io_stdout, os_getenv, os_exit = io.stderr, io.stdout, os.getenv, os.exit
local xpcall, pcall, require, tostring, type, ipairs = xpcall, pcall, require, tostring, type, ipairs
local debug_traceback = debug.traceback
local is_error = require("crit.core").is_error

local cli = {}

cli.PROG = "crit.lua"
cli.VERSION = crit._VERSION:match("[%d.]+$") or crit._VERSION
cli.CRIT_VERSION = "4.2" -- the upstream crit whose interface and output we follow
cli.COMMANDS = { "decode", "encode", "show", "info", "x", "mem", "coredump", "stats", "diff",
  "check", "transform", "inspect", "serve", "capture" }

-- Exit statuses.
local EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2

local DESCRIPTION = [[
CRIT, the CRiu Image Tool, in Lua: read, write and explore the images of a
CRIU checkpoint (what `criu dump` writes into its images directory).

crit.lua replaces CRIU's Python crit 4.2: the same commands and options,
the same JSON, byte for byte, and the same `x` reports. Images are read
lazily and written atomically; a corrupt image is reported with the file,
entry, byte offset and field where decoding stopped.]]

local EPILOG = [[
Examples:
   crit.lua show dump/pstree.img
   crit.lua decode -i dump/core-1.img --pretty -o core-1.json
   crit.lua encode -i core-1.json -o dump/core-1.img
   crit.lua info dump/pagemap-1.img
   crit.lua x dump ps
   crit.lua decode < dump/mm-1.img | jq '.entries[0].vmas | length'

Exit status:
   0  success.
   1  an error: a missing file, a corrupt image, invalid JSON, a raw image
      given to decode. One line on stderr: "crit.lua: <what went wrong>".
   2  wrong usage: an unknown command or option, a missing argument, an
      option that needs another, a value that is not a number or a PID.

Environment:
   CRIT_DEBUG=1  on an error, also print the Lua traceback.

Run 'crit.lua <command> --help' for the options of a command.]]

local HelpWanted = {} -- raised by -h: the help is written, and checked, by main

-- Write text to stdout and flush it: EXIT_OK, or EXIT_ERROR with the
-- message on stderr (a full disk, /dev/full, a closed pipe).
local function emit(text)
  local ok, err = io_stdout:write(text)
  if ok then ok, err = io_stdout:flush() end
  if ok then return EXIT_OK end
  io_stderr:write(cli.PROG, ": ", require("crit.cmd.stdio").stdout_name(), ": ", tostring(err), "\n")
  return EXIT_ERROR
end

-- -h, --help on a parser: raise, so that main writes the help and checks it.
local function checked_help(p)
  p:add_help({ action = function() error(setmetatable({ parser = p }, HelpWanted), 0) end })
  -- first among the options again, where argparse puts it
  local options = p._options
  table.insert(options, 1, table.remove(options, p._help_option_idx))
  p._help_option_idx = 1
end

-- build_parser(only): the parser with every command, or with the one
-- named `only`: loading all the command modules and building their
-- parsers is most of the start-up time of a short command.
local function build_parser(only)
  local parser = argparse(cli.PROG)
    :description(DESCRIPTION)
    :epilog(EPILOG)
    :command_target("command")
    :help_max_width(80)
  parser:flag("--version")
    :description("Print the version and exit.")
    :action(function()
      os_exit(emit(("%s (lua-crit) %s, compatible with crit %s\n"):format(cli.PROG,
        cli.VERSION, cli.CRIT_VERSION)), true)
    end)
  -- Usage errors: usage on stderr, then the error, then exit status 2
  -- (argparse itself would exit 1, which we keep for runtime errors).
  parser.error = usage.raise
  for _, name in ipairs(cli.COMMANDS) do
    if not only or name == only then require("crit.cmd." .. name).add_to_parser(parser) end
  end
  checked_help(parser)
  for _, c in ipairs(parser._commands) do checked_help(c) end
  return parser
end

--- parser() -> the argparse parser of crit.lua with every command: what
--- --help prints, and what tools/gen-man.lua and the shell completions
--- are made from.
function cli.parser()
  return build_parser(nil)
end

-- The command argv names first, if it is one of ours: the rest of argv is
-- that command's, so its parser alone parses it exactly as the whole one
-- would. Anything else (--help, --version, a typo) gets every command.
local function named_command(argv)
  local first = argv[1]
  for _, name in ipairs(cli.COMMANDS) do
    if name == first then return name end
  end
  return nil
end

local function usage_error(e)
  local p = e.parser
  io_stderr:write(p:get_usage(), "\n\n", cli.PROG, ": error: ", e.msg, "\n")
  local name = p._name ~= cli.PROG and p._name
  io_stderr:write(("Try '%s%s --help' for more information.\n"):format(cli.PROG,
    name and " " .. name or ""))
  return EXIT_USAGE
end

local function debugging()
  local v = os_getenv("CRIT_DEBUG")
  return v ~= nil and v ~= "" and v ~= "0"
end

-- The one line an error becomes, or with CRIT_DEBUG the traceback too.
-- A crit.Error is its own line: it names the file, entry and field. A
-- string raised at a line of our own modules (an API misuse, luaL_error in
-- the core) loses that position: the user wants the message. A user
-- script's own file and line ("t.lua:3: boom") stay: they say where its
-- error is.
local function error_line(err)
  local structured = is_error(err)
  if type(err) ~= "string" then err = tostring(err) end
  if debugging() then return debug_traceback(err, 2) end
  if not structured then
    err = err:gsub("^[^\n:]-crit/[%w_/]+%.lua:%d+: ", "", 1):gsub("^[^\n:]-crit%.lua:%d+: ", "", 1)
  end
  return (err:gsub("\n+$", ""):gsub("\n", " "))
end

--- main(argv) -> exit status. argv: the script's `arg` table.
function cli.main(argv)
  local parser = build_parser(named_command(argv))
  local args_list = {}
  for i = 1, #argv do args_list[i] = argv[i] end
  local ok, args = pcall(parser.parse, parser, args_list)
  if not ok then
    if usage.is(args) then return usage_error(args) end
    if getmetatable(args) == HelpWanted then return emit(args.parser:get_help() .. "\n") end
    io_stderr:write(cli.PROG, ": ", error_line(args), "\n")
    return EXIT_ERROR
  end
  local cmd = require("crit.cmd." .. args.command)
  local done, result, msg = xpcall(cmd.command, error_line, args)
  if not done then
    io_stderr:write(cli.PROG, ": ", result, "\n")
    return EXIT_ERROR
  end
  if not result then
    io_stderr:write(cli.PROG, ": ", error_line(msg or "failed"), "\n")
    return EXIT_ERROR
  end
  -- Whatever the command wrote must have reached stdout.
  if emit("") ~= EXIT_OK then return EXIT_ERROR end
  -- A command may end with its own status (diff: 1 when the dumps differ).
  if math.type(result) == "integer" then return result end
  return EXIT_OK
end

return cli
