-- `crit.lua mem`: look at the memory of a dumped process: hexdump or raw
-- bytes of an address range, or every place a string or pattern occurs.
local crit = require "crit"
local dir = require "crit.dir"
local memory = require "crit.memory"
local hexdump = require "crit.hexdump"
local usage = require "crit.cmd.usage"
local stdio = require "crit.cmd.stdio"

local io_stderr = io.stderr
local string_format, string_rep = string.format, string.rep
local ipairs, tonumber = ipairs, tonumber

local mem = {}

local DEFAULT_LEN = 256
local DEFAULT_CONTEXT = 32

local DESCRIPTION = [[
Show the memory of process PID of the checkpoint in DIR, as CRIU dumped
it: pages come from pagemap-PID.img and pages-N.img, shared memory (MAP_SHARED
anonymous, SysV shm, memfd) from pagemap-shmem-ID.img, and PE_PARENT pages
from the `parent` dump of an incremental dump. Memory of any size is streamed
in constant RAM.

With no option, every VMA is printed as a hexdump (like `hexdump -C`: a run
of equal lines shows as `*`). Memory that is not in the dump is never shown
as data: a line `# ADDR-END not in the dump (WHY)` stands for it, where WHY
is `not-dumped` (anonymous memory never touched: zeros), `file` (unchanged
pages of a mapped file: the file holds them), `lazy` (left on the source
host by lazy migration), `parent` (in a parent dump that is missing) or
`unmapped` (no VMA there).]]

local EPILOG = [[
Addresses and lengths are decimal or 0x-prefixed hex.
--raw writes the bytes themselves. With --addr, holes are written as
zero bytes (so offsets stay right) and listed on stderr; without --addr,
only the dumped bytes are written, region after region.
--regex takes a Lua pattern (see the Lua manual, 6.4.1), not a POSIX
regular expression: `%d+` not `\d+`, `%.` for a dot, `%z` for a NUL byte.
A match is at most 4096 bytes long; a `^` anchor is refused.
Matches are found across page runs (a string split between two runs of
pages is found) but not across holes, and do not overlap.

EXAMPLES
  crit.lua mem dump 31039 --maps
      the VMAs and how much of each is in the dump
  crit.lua mem dump 31039 --addr 0x7ffcf459d9b7 --len 64
      hexdump of 64 bytes at that address
  crit.lua mem dump 31039 --addr 0x2820e000 --len 4096 --raw > page.bin
      the raw bytes of one page
  crit.lua mem dump 31039 --search CRIT-CORPUS-MARKER --context 16
      every occurrence, with its VMA and 16 bytes around it
  crit.lua mem dump 31039 --regex 'password=[%w_]+'
      every match of a Lua pattern
  crit.lua mem dump 31039 --raw | strings -n 8
      the strings of all dumped memory

EXIT STATUS
  0  success; with --search or --regex, at least one match
  1  no match (--search, --regex), or an error: no such process or a
     zombie (no memory), a missing or corrupt image
  2  wrong usage: an unknown option, a missing argument, two of --addr,
     --search, --regex and --maps, a bad number or PID, an option that
     needs another (--len without --addr)]]

local function number(s, what)
  local v, err = crit.u64.parse(s)
  if not v then return nil, string_format("%s: bad number '%s' (%s)", what, s, err) end
  return v
end

-- What is wrong with the arguments (a usage error), or nil; the numbers
-- are parsed in place: args.pid, args.addr, args.len, args.context.
local function check_usage(args)
  local pid = tonumber(args.pid)
  if not pid or pid ~= pid // 1 or pid <= 0 then return "bad PID '" .. args.pid .. "'" end
  args.pid = pid // 1
  if args.len and not args.addr then return "--len needs --addr" end
  if args.raw and (args.search or args.regex or args.maps) then
    return "--raw goes with --addr or with no option"
  end
  if args.search == "" or args.regex == "" then return "empty search string" end
  if args.regex and args.regex:sub(1, 1) == "^" then
    return "--regex: a '^' anchor makes no sense in memory"
  end
  for _, opt in ipairs({ "addr", "len", "context" }) do
    if args[opt] then
      local v, err = number(args[opt], "--" .. opt)
      if not v then return err end
      args[opt] = v
    end
  end
  args.len = args.len or DEFAULT_LEN
  args.context = args.context or DEFAULT_CONTEXT
  return nil
end

--- Add the `mem` command to an argparse parser.
function mem.add_to_parser(parser)
  local cmd = parser:command("mem", DESCRIPTION, EPILOG)
    :summary("Hexdump, extract or search the memory of a dumped process.")
  cmd:argument("dir", "The checkpoint directory, or a container checkpoint archive.")
  cmd:argument("pid", "The process (as in pstree.img).")
  cmd:mutex(
    cmd:option("--addr", "Start address of the range to show."),
    cmd:option("--search", "Find every occurrence of this exact string."),
    cmd:option("--regex", "Find every match of this Lua pattern."),
    cmd:flag("--maps", "List the VMAs with the bytes dumped of each."))
  cmd:option("--len", "Length of the range (default " .. DEFAULT_LEN .. ").")
  cmd:option("--context", "Bytes shown before and after a match (default "
    .. DEFAULT_CONTEXT .. ").")
  cmd:flag("--raw", "Write raw bytes instead of a hexdump.")
  usage.check(cmd, check_usage)
  return cmd
end

local write = stdio.write_stdout

local function hole_note(h)
  return string_format("%012x-%012x not in the dump (%s)", h.addr, h.addr + h.len, h.why)
end

local function show_maps(m)
  local dumped_total = 0
  for _, r in m:each_region() do
    dumped_total = dumped_total + r.dumped
    local extra = ""
    if r.lazy_bytes > 0 then extra = extra .. string_format(" lazy %d", r.lazy_bytes) end
    if r.parent_bytes > 0 then extra = extra .. string_format(" parent %d", r.parent_bytes) end
    write(string_format("%s  [dumped %d of %d%s]\n", memory.describe(r), r.dumped,
      r.stop - r.start, extra))
  end
  write(string_format("# %d bytes dumped\n", dumped_total))
end

-- Stream [from, to) (or every region) as hexdump or raw bytes.
local function show_range(m, from, to, raw)
  local dump = not raw and hexdump.new(write)
  local current, holes = nil, 0
  local iter = from and m:pieces(from, to) or m:pieces()
  for p in iter do
    if dump and not from and p.region ~= current then
      current = p.region
      dump:note(memory.describe(current))
    end
    if p.pages then
      for off = 0, p.len - 1, 1 << 16 do
        local n = math.min(1 << 16, p.len - off)
        local bytes = p.pages:slice(p.offset + off, n)
        if dump then dump:bytes(p.addr + off, bytes) else write(bytes) end
      end
    else
      holes = holes + 1
      if dump then
        dump:note(hole_note(p))
      elseif from then
        io_stderr:write("crit mem: ", hole_note(p), ", written as zeros\n")
        for off = 0, p.len - 1, 1 << 16 do write(string_rep("\0", math.min(1 << 16, p.len - off))) end
      end
    end
  end
  if dump then dump:finish() end
  return true
end

local function show_match(m, addr, bytes, region, context)
  write(string_format("%012x  %d bytes in %s\n", addr, #bytes,
    region and memory.describe(region) or "(no VMA)"))
  local from = addr - context
  local s, holes = m:read(from, #bytes + 2 * context)
  local dump = hexdump.new(function(lines) write((lines:gsub("[^\n]*\n", "  %0"))) end)
  dump:bytes(from, s)
  for _, h in ipairs(holes or {}) do dump:note(hole_note(h)) end
  dump:finish()
end

local function search(m, what, is_pattern, context)
  local count = 0
  for addr, bytes, region in m:find(what, { pattern = is_pattern }) do
    count = count + 1
    show_match(m, addr, bytes, region, context)
  end
  write(string_format("# %d match%s\n", count, count == 1 and "" or "es"))
  if count == 0 then return nil, "no match for '" .. what .. "'" end
  return true
end

--- Run `crit.lua mem` with args as parsed and checked (check_usage):
--- true, or nil and a message.
function mem.command(args)
  -- Region tables made and dropped one per VMA next to the VMAs' arrays:
  -- see stdio.gc_pause (500,000 VMAs: 115 -> 87 MiB).
  local pause <close> = stdio.gc_pause(150) -- luacheck: ignore 211 (held for its __close)
  local d, err = dir.open(args.dir)
  if not d then return nil, err end
  local m
  m, err = memory.open(d, args.pid)
  if not m then return nil, err end
  if args.maps then show_maps(m); return true end
  if args.search then return search(m, args.search, false, args.context) end
  if args.regex then return search(m, args.regex, true, args.context) end
  if args.addr then return show_range(m, args.addr, args.addr + args.len, args.raw) end
  return show_range(m, nil, nil, args.raw)
end

return mem
