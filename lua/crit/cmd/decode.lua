-- crit.lua decode: a CRIU image, binary, to crit's JSON.
local core = require "crit.core"
local stdio = require "crit.cmd.stdio"

local decode = {}

local DESCRIPTION = [[
Convert a CRIU image from binary to JSON.

Reads the image from IN (stdin by default) and writes it as crit's JSON to
OUT (stdout by default): {"magic": "CORE", "entries": [...]}, one object
per entry with the protobuf field names as keys, enums by name, bytes in
base64 and an entry's payload (pipe data, sockets' queues, ...) as "extra".
The output is crit 4.2's, byte for byte; `crit.lua encode` turns it back
into the same image bytes.

Raw images (pages-N.img, the tarballs of tmpfs mounts, ...) are not
protobuf and cannot be decoded.]]

local EPILOG = [[
Examples:
   crit.lua decode -i dump/core-1.img -o core-1.json
   crit.lua decode --pretty < dump/files.img | less
   ssh host cat dump/mm-1.img | crit.lua decode

Exit status: 0 on success, 1 on an error (the file is missing, the image
is corrupt or raw), 2 on wrong usage. OUT is written atomically: on an error
it is left untouched, and no partial file is created.]]

function decode.add_to_parser(parser)
  local cmd = parser:command("decode")
    :summary("Convert a CRIU image from binary to JSON.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:option("-i --in")
    :argname("IN")
    :description("The image to decode (default: stdin; '-' is stdin).")
  cmd:option("-o --out")
    :argname("OUT")
    :description("Where to write the JSON (default: stdout; '-' is stdout).")
  cmd:flag("--pretty")
    :description("Indent by 4 and show some fields in their own formats:\n"
      .. "hex addresses, flag names, dev numbers, IP addresses.")
end

--- run(args, opts): shared with `show`. opts: pretty, nopl.
function decode.run(input, output, pretty, nopl)
  local index = stdio.open_image(input)
  local out <close>, to_stdout = stdio.output(output)
  core.json_write(index, out, { pretty = pretty, nopl = nopl, newline = to_stdout })
  out:finish()
  return true
end

function decode.command(args)
  return decode.run(args["in"], args.out, args.pretty, false)
end

return decode
