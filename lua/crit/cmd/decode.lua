-- crit.lua decode: a CRIU image, binary, to crit's JSON or protobuf text format.
local core = require "crit.core"
local stdio = require "crit.cmd.stdio"
local usage = require "crit.cmd.usage"
local dumpdir = require "crit.cmd.dumpdir"

local decode = {}

local DESCRIPTION = [[
Convert a CRIU image from binary to JSON (or protobuf text format).

Reads the image from IN (stdin by default) and writes it as crit's JSON to
OUT (stdout by default): {"magic": "CORE", "entries": [...]}, one object
per entry with the protobuf field names as keys, enums by name, bytes in
base64 and an entry's payload (pipe data, sockets' queues, ...) as "extra".
The output is crit 4.2's, byte for byte; `crit.lua encode` turns it back
into the same image bytes.

With --format txt, the image is written as protobuf text format instead:
a line "#0x54564319" (the image's magic), then for each entry a line "#N"
and its fields as `protoc --decode` prints them; an entry's payload follows
it on "#extra" lines, as an escaped string. --nice (or --format nice) names
things: "#CORE", "#0 core_entry", fields indented, (criu) hex fields in
hex, UTF-8 strings as they are. Both forms are exact, 64-bit values, bytes,
fields unknown to the schema (by number) and the header's version included:
`crit.lua encode` turns them back into the same image bytes.

Raw images (pages-N.img, the tarballs of tmpfs mounts, ...) are not
protobuf and cannot be decoded.

A whole dump at once: given a directory DIR, every image in
it is written to the directory OUT (made if missing) as NAME.json, each
what `decode -i DIR/NAME` writes; files that are not protobuf images (raw
images, logs) are copied there unchanged, so that `crit.lua encode OUT -o
DIR2` gives the whole dump back, every file byte for byte. One process for
the dump, where crit needs one per image. All or nothing: the files are
written beside OUT first and moved into it once every one is written, so
that an error half-way (a full disk) leaves OUT as it was.]]

local EPILOG = [[
Examples:
   crit.lua decode -i dump/core-1.img -o core-1.json
   crit.lua decode --pretty < dump/files.img | less
   crit.lua decode --format txt --nice -i dump/core-1.img
   ssh host cat dump/mm-1.img | crit.lua decode
   crit.lua decode dump -o dump-json && crit.lua encode dump-json -o dump2

Exit status: 0 on success, 1 on an error (the file is missing, the image
is corrupt or raw), 2 on wrong usage. OUT is written atomically: on an error
it is left untouched, and no partial file is created.]]

function decode.add_to_parser(parser)
  local cmd = parser:command("decode")
    :summary("Convert a CRIU image from binary to JSON.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("DIR"):target("dir"):args("?")
    :description("A dump directory to decode whole, into the directory OUT.")
  cmd:option("-i --in")
    :argname("IN")
    :description("The image to decode (default: stdin; '-' is stdin).\n"
      .. "ARCHIVE//MEMBER is an image inside a checkpoint archive:\n"
      .. "bb.tar.gz//checkpoint/core-1.img.")
  cmd:option("-o --out")
    :argname("OUT")
    :description("Where to write the JSON (default: stdout; '-' is stdout).")
  cmd:flag("--pretty")
    :description("Indent by 4 and show some fields in their own formats:\n"
      .. "hex addresses, flag names, dev numbers, IP addresses.")
  cmd:option("--format")
    :argname("FORMAT")
    :choices({ "json", "txt", "raw", "nice" })
    :default("json")
    :description("json (crit's, the default) or txt (protobuf text format);\n"
      .. "raw is txt, nice is txt --nice.")
  cmd:flag("--nice")
    :description("With --format txt: magic and entry types by name, fields\n"
      .. "indented, hex fields in hex.")
  -- Options that do not go together: wrong usage, exit status 2.
  usage.check(cmd, function(args)
    if args.dir and args["in"] then return "give DIR or -i IN, not both" end
    if args.dir and args.format ~= "json" then return "a directory is decoded to JSON" end
    if args.dir and stdio.is_std(args.out) then return "a directory needs -o OUTDIR" end
    if args.format ~= "json" and args.pretty then return "--pretty is for JSON; text format has --nice" end
    if args.format == "json" and args.nice then return "--nice needs --format txt" end
  end)
end

--- run(args, opts): shared with `show`. opts: pretty, nopl.
function decode.run(input, output, pretty, nopl)
  local index = stdio.open_image(input)
  local out <close>, to_stdout = stdio.output(output)
  core.json_write(index, out, { pretty = pretty, nopl = nopl, newline = to_stdout })
  out:finish()
  return true
end

--- run_text(input, output, nice): the image as protobuf text format.
function decode.run_text(input, output, nice)
  local index = stdio.open_image(input)
  local out <close> = stdio.output(output)
  core.text_write(index, out, { nice = nice })
  out:finish()
  return true
end

function decode.command(args)
  if args.dir then return dumpdir.decode(args.dir, args.out, args.pretty) end
  local format = args.format
  if format ~= "json" then
    return decode.run_text(args["in"], args.out, args.nice or format == "nice")
  end
  return decode.run(args["in"], args.out, args.pretty, false)
end

return decode
