-- crit.lua diff: what changed between two checkpoint directories (or two
-- images), over crit.diff.
local crit = require "crit"
local dirlib = require "crit.dir"
local diff = require "crit.diff"
local stdio = require "crit.cmd.stdio"

local io_stderr = io.stderr
local pcall, error, tostring = pcall, error, tostring

local M = {}

local DESCRIPTION = [[
Show what changed between two dumps, or between a dump and a copy that was
edited or transformed: one line per difference, alike differences summed up.

What belongs together is compared together. The tasks of the two dumps are
paired by pid, or, when the pids differ (two runs of the same program), by
their place in the process tree and their comm; then each task's images
(core-PID, mm-PID, pagemap-PID, fdinfo-N, pages-N ...) with its partner's,
named "core-30956/8139" (a's name, then b's id). Entries are paired by what
they are, not where they are: a file by its id, an fd by its number, a task
by its pid, a pagemap entry by its address, a socket by its inode; an mm's
VMAs by their start. Addresses that all moved (ASLR) pair in their order.

   pstree: task P (COMM) is Q in the second
                                  the task pairing, when the pids differ
   IMAGE: only in the first       an image only in DIR1 (only in the second:
                                  only in DIR2)
   IMAGE[N] PATH: OLD -> NEW      field PATH of entry N (1-based, as img[N]
                                  in Lua) changed; lists are indexed [1],
                                  [2], ...; "(absent)" is a field that is
                                  not set on that side
   IMAGE[N] (KEY V): entry only in the first / second
                                  an entry removed or added, once, with
                                  what names it ("(fd 3)")
   IMAGE[N] PATH[I] (KEY V): only in the first / second
                                  a list element (a VMA) removed or added
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

More than three differences that are alike (the same field of every core,
of every VMA, entries only in one side) print as one line: the pattern
with "*" for what varies, how many, and the first of them:
   mm-*[1] vmas[*].start: 363 changes, first: mm-30984/8196[1] vmas[1]...
and more than three fields of one message as one line:
   core-1[1] thread_info.gpregs.{bp,cx,ip,sp}: 4 changes
--all prints every line; --json every change, for jq.

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
   crit.lua diff --json dump1 dump2 | jq '.changes[] | select(.what == "removed")'

Exit status (as diff(1)): 0 when the two are the same, 1 when they differ,
2 on trouble (a missing directory, a corrupt image: with a message on
stderr, and no list of differences) and on wrong usage.]]

function M.add_to_parser(parser)
  local cmd = parser:command("diff")
    :summary("Show what changed between two dumps.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("DIR1"):target("a")
    :description("The first checkpoint directory or archive (or image file).")
  cmd:argument("DIR2"):target("b")
    :description("The second checkpoint directory or archive (or image file).")
  cmd:flag("-q --quiet")
    :description("Print nothing: the exit status says whether they differ.")
  cmd:flag("--all")
    :description("A line for every change: alike changes are not summed up.")
  cmd:flag("--json")
    :description("Every change as JSON (exact 64-bit integers), for jq.")
end

local is_dir = require("crit.layout").is_dump

local function open_image(path)
  local img, err = crit.open(path)
  if not img then error(err, 0) end
  return img
end

local function compare(args)
  if is_dir(args.a) or is_dir(args.b) then
    local a, err = dirlib.open(args.a)
    if not a then error(err, 0) end
    local b
    b, err = dirlib.open(args.b)
    if not b then error(err, 0) end
    return diff.dirs(a, b)
  end
  local name = args.a:match("([^/]*)$"):gsub("%.img$", "")
  return diff.images(open_image(args.a), open_image(args.b), name)
end

-- Trouble is exit status 2, as diff(1) has it: 1 means "they differ".
local function trouble(err)
  if require("crit.core").is_error(err) then
    err = tostring(err)
  else
    err = tostring(err):gsub("^[^\n]-%.lua:%d+: ", "", 1)
  end
  err = err:gsub("\n+$", ""):gsub("\n", " ")
  io_stderr:write("crit.lua: ", err, "\n")
  return 2
end

function M.command(args)
  local ok, changes = pcall(compare, args)
  if not ok then return trouble(changes) end
  if not args.quiet then
    stdio.write_stdout(args.json and diff.json(changes) or args.all and diff.text(changes)
      or diff.summary(changes))
    stdio.flush_stdout()
  end
  return #changes == 0 and 0 or 1
end

return M
