-- crit.lua diff: what changed between two checkpoint directories (or two
-- images), over crit.diff.
local crit = require "crit"
local dirlib = require "crit.dir"
local diff = require "crit.diff"
local stdio = require "crit.cmd.stdio"

local io_open = io.open

local M = {}

local DESCRIPTION = [[
Show what changed between two dumps, or between a dump and a copy that was
edited or transformed: one line per difference.

   IMAGE: only in the first       an image only in DIR1 (only in the second:
                                  only in DIR2)
   IMAGE[N] PATH: OLD -> NEW      field PATH of entry N (1-based, as img[N]
                                  in Lua) changed; lists are indexed [1],
                                  [2], ...; "(absent)" is a field that is
                                  not set on that side
   IMAGE[N]: entry only in the first / second
                                  entries removed or appended
   IMAGE[N]: payload differs (A bytes -> B bytes)
                                  the data after an entry (crit's "extra":
                                  pipe and socket queues, ghost files ...)
   IMAGE: bytes differ from offset O (A bytes -> B bytes)
                                  a raw image (pages-N, tarballs)
   IMAGE[N]: same fields, encoded differently (A bytes -> B bytes)
                                  the message bytes differ, its fields do
                                  not (unknown fields, packing, order)
   IMAGE magic: OLD -> NEW        a different kind of image (IMAGE version:
                                  a different header, "1.0" or "1.1")

Images are named without ".img". Strings are quoted; bytes that are not
printable show as <N bytes: hex>. Integers print in decimal. The images do
not say here whether a field is signed, so negative numbers are shown both
ways where it matters: one below -2^31 prints as the unsigned 64-bit number
with the same bits (no int32 can hold it: it is a uint64 above 2^63); one
from -2^31 to -1 prints signed, then its uint64 reading:
"-10485760 (uint64 18446744073699065856)", the [vsyscall] address.

Images whose files are byte for byte the same are not decoded; in the
others only the entries whose bytes differ are. DIR1 and DIR2 may also be
two image files: then their entries are compared.]]

local EPILOG = [[
Examples:
   crit.lua diff dump dump.edited
   crit.lua diff -q dump dump.copy && echo same
   crit.lua diff dump/core-1.img other/core-1.img

Exit status: 0 when the two are the same, 1 when they differ, 1 on an error
(a missing directory, a corrupt image: with a message on stderr, and no
list of differences), 2 on wrong usage.]]

function M.add_to_parser(parser)
  local cmd = parser:command("diff")
    :summary("Show what changed between two dumps.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("DIR1"):target("a")
    :description("The first checkpoint directory (or image file).")
  cmd:argument("DIR2"):target("b")
    :description("The second checkpoint directory (or image file).")
  cmd:flag("-q --quiet")
    :description("Print nothing: the exit status says whether they differ.")
end

local function is_dir(path)
  local f = io_open(path .. "/.", "rb")
  if f then f:close() end
  return f ~= nil
end

local function open_image(path)
  local img, err = crit.open(path)
  if not img then error(err, 0) end
  return img
end

function M.command(args)
  local changes
  if is_dir(args.a) or is_dir(args.b) then
    local a, err = dirlib.open(args.a)
    if not a then return nil, err end
    local b
    b, err = dirlib.open(args.b)
    if not b then return nil, err end
    changes = diff.dirs(a, b)
  else
    local name = args.a:match("([^/]*)$"):gsub("%.img$", "")
    changes = diff.images(open_image(args.a), open_image(args.b), name)
  end
  if not args.quiet then
    stdio.write_stdout(diff.text(changes))
    stdio.flush_stdout()
  end
  return #changes == 0 and 0 or 1
end

return M
