-- crit.lua encode: crit's JSON, or protobuf text format, back to a CRIU image.
local core = require "crit.core"
local stdio = require "crit.cmd.stdio"
local dumpdir = require "crit.cmd.dumpdir"
local usage = require "crit.cmd.usage"

local io_stdin = io.stdin
local error, tostring = error, tostring

local encode = {}

local DESCRIPTION = [[
Convert a CRIU image from JSON to binary.

Reads crit's JSON (as `crit.lua decode` or `show` writes it) from IN
(stdin by default) and writes the image to OUT (stdout by default). An
image decoded and encoded again is the same, byte for byte. Both the plain
and the --pretty forms are read: hex strings, flag names, "major:minor"
devices and IP addresses are converted back. 64-bit values are exact.

Protobuf text format, as `crit.lua decode --format txt [--nice]` writes it,
is read too: it is recognised by its first character, '#', or chosen with
--format txt. The text is read whole into memory (JSON is streamed).

A whole dump at once: given a directory DIR as `crit.lua decode DIR -o
OUTDIR` writes it, every NAME.json in it is encoded to the
image NAME in the directory OUT (made if missing), and every other file is
copied there unchanged: all of them, or none if one cannot be written.]]

local EPILOG = [[
Examples:
   crit.lua encode -i core-1.json -o dump/core-1.img
   crit.lua decode -i dump/core-1.img | jq '.entries[0].tc.comm="renamed"' \
       | crit.lua encode -o dump/core-1.img
   crit.lua decode --format txt -i dump/core-1.img > core-1.txt
   vi core-1.txt && crit.lua encode -i core-1.txt -o dump/core-1.img
   crit.lua decode dump -o dump-json && crit.lua encode dump-json -o dump2

Exit status: 0 on success, 1 on an error (invalid JSON, an unknown magic or
field, a value out of range: the message says where), 2 on wrong usage.
OUT is written atomically: on an error it is left untouched.]]

function encode.add_to_parser(parser)
  local cmd = parser:command("encode")
    :summary("Convert a CRIU image from JSON to binary.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("DIR"):target("dir"):args("?")
    :description("A directory of NAME.json files to encode whole, into the directory OUT.")
  cmd:option("-i --in")
    :argname("IN")
    :description("The JSON to encode (default: stdin; '-' is stdin).")
  cmd:option("-o --out")
    :argname("OUT")
    :description("Where to write the image (default: stdout; '-' is stdout).")
  cmd:option("--format")
    :argname("FORMAT")
    :choices({ "json", "txt" })
    :description("What IN holds (default: recognised by its first character).")
  usage.check(cmd, function(args)
    if args.dir and args["in"] then return "give DIR or -i IN, not both" end
    if args.dir and stdio.is_std(args.out) then return "a directory needs -o OUTDIR" end
  end)
end

function encode.command(args)
  if args.dir then return dumpdir.encode(args.dir, args.out) end
  local input, name = stdio.open_text(args["in"])
  local out <close> = stdio.output(args.out)
  local format = args.format or core.input_format(input)
  if format == "txt" then
    local text, err = input:read("a")
    if not text then error(core.error{ file = name, message = tostring(err) }, 0) end
    core.text_read(text, out, name)
  else
    core.json_read(input, out, name)
  end
  out:finish()
  if input ~= io_stdin then input:close() end
  return true
end

return encode
