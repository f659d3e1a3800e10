-- crit.lua encode: crit's JSON back to a CRIU image.
local core = require "crit.core"
local stdio = require "crit.cmd.stdio"

local io_stdin = io.stdin

local encode = {}

local DESCRIPTION = [[
Convert a CRIU image from JSON to binary.

Reads crit's JSON (as `crit.lua decode` or `show` writes it) from IN
(stdin by default) and writes the image to OUT (stdout by default). An
image decoded and encoded again is the same, byte for byte. Both the plain
and the --pretty forms are read: hex strings, flag names, "major:minor"
devices and IP addresses are converted back. 64-bit values are exact.]]

local EPILOG = [[
Examples:
   crit.lua encode -i core-1.json -o dump/core-1.img
   crit.lua decode -i dump/core-1.img | jq '.entries[0].tc.comm="renamed"' \
       | crit.lua encode -o dump/core-1.img

Exit status: 0 on success, 1 on an error (invalid JSON, an unknown magic or
field, a value out of range: the message says where), 2 on wrong usage.
OUT is written atomically: on an error it is left untouched.]]

function encode.add_to_parser(parser)
  local cmd = parser:command("encode")
    :summary("Convert a CRIU image from JSON to binary.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:option("-i --in")
    :argname("IN")
    :description("The JSON to encode (default: stdin; '-' is stdin).")
  cmd:option("-o --out")
    :argname("OUT")
    :description("Where to write the image (default: stdout; '-' is stdout).")
end

function encode.command(args)
  local input, name = stdio.open_text(args["in"])
  local out <close> = stdio.output(args.out)
  core.json_read(input, out, name)
  out:finish()
  if input ~= io_stdin then input:close() end
  return true
end

return encode
