-- crit.lua info: an image's magic and number of entries.
local stdio = require "crit.cmd.stdio"

local string_format = string.format

local info = {}

-- crit's words for an image that has no magic (crit/__init__.py).
info.RAW_HINT = "Maybe you are feeding me an image with raw data(i.e. pages.img)?"

local DESCRIPTION = [[
Show the magic of an image and how many entries it holds, as crit does:

   {
       "magic": "CORE",
       "count": 1
   }

The count of a PAGEMAP image leaves out its first entry, the pagemap_head,
as crit's does: it is the number of pagemap entries. Every other image
counts all its entries. Unlike crit 4.2, an entry's payload (the data of
pipes-data, sk-queues, ghost files, ...) is not counted as entries: crit
reads the payload's bytes as entry sizes and prints a wrong count, or
fails on ghost-file images.]]

local EPILOG = [[
Examples:
   crit.lua info dump/pstree.img
   crit.lua info - < dump/pagemap-1.img

Exit status: 0 on success, 1 on an error (the file is missing, the image is
corrupt or raw), 2 on wrong usage.]]

function info.add_to_parser(parser)
  local cmd = parser:command("info")
    :summary("Show the magic and the number of entries of an image.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("IN"):target("in")
    :argname("IN")
    :description("The image ('-' is stdin).\n"
      .. "ARCHIVE//MEMBER is an image inside a checkpoint archive:\n"
      .. "bb.tar.gz//checkpoint/core-1.img.")
end

-- count(index, magic) -> the number crit reports for the image.
function info.count(index, magic)
  local n = index:count()
  if magic == "PAGEMAP" and n > 0 then n = n - 1 end
  return n
end

function info.command(args)
  local index = stdio.open_image(args["in"])
  local i = index:info()
  if i.raw then
    return nil, string_format("%s: %s", i.name, info.RAW_HINT)
  end
  stdio.write_stdout(string_format('{\n    "magic": "%s",\n    "count": %d\n}\n', i.magic,
    info.count(index, i.magic)))
  stdio.flush_stdout()
  return true
end

return info
