-- crit.lua show: a CRIU image as indented, human-readable JSON.
local decode = require "crit.cmd.decode"

local show = {}

local DESCRIPTION = [[
Convert a CRIU image from binary to human-readable JSON.

The same as `crit.lua decode --pretty -i IN`: the JSON is indented by 4, and
fields that CRIU's schema marks are shown in their own formats: addresses
in hex ("0x7ffd3a1c2000"), flags by name ("PROT_READ | PROT_WRITE"), device
numbers as "major:minor", IP addresses in dotted form, and a few numbers by
name (socket families, types and states). `crit.lua encode` reads this form
back too.

One deliberate difference from crit 4.2: core's task_state is named as
compel names the states criu saves: ALIVE (1), DEAD (2, how criu saves a
zombie), STOPPED (3), ZOMBIE (6). crit's table (1 Alive, 3 Zombie,
6 Stopped) shows a stopped task as "Zombie" and a zombie as 2. encode
reads both spellings.]]

local EPILOG = [[
Examples:
   crit.lua show dump/pstree.img
   crit.lua show dump/pipes-data.img --nopl
   crit.lua show - < dump/core-1.img

Exit status: 0 on success, 1 on an error (the file is missing, the image is
corrupt or raw), 2 on wrong usage.]]

function show.add_to_parser(parser)
  local cmd = parser:command("show")
    :summary("Convert a CRIU image from binary to human-readable JSON.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("IN"):target("in")
    :argname("IN")
    :description("The image to show ('-' is stdin).\n"
      .. "ARCHIVE//MEMBER is an image inside a checkpoint archive:\n"
      .. "bb.tar.gz//checkpoint/core-1.img.")
  cmd:flag("--nopl")
    :description("Do not show entry payloads: show each one's size instead.")
end

function show.command(args)
  return decode.run(args["in"], nil, true, args.nopl)
end

return show
