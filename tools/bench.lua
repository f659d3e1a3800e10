-- make bench: crit.lua against Python crit (Debian's /usr/bin/crit) on large
-- synthetic images, interleaved in one run; prints a Markdown table of wall
-- time, peak RSS, throughput and the ratio to crit. The last rows edit one
-- entry of a 1M-entry pagemap lazily (tools/lazy-edit.lua), next to a full
-- decode + encode; then walking 1M entries from Lua three ways, and whole
-- real dumps decoded to a directory of JSON and back in one process, next
-- to Python crit looping over their images. Then, as root with criu 4.2
-- and under build/reaper, a second table: criu dump and restore of a
-- process with 1 GiB of touched memory through crit.lua capture and serve,
-- and through a plain directory.
--   lua5.4 tools/bench.lua [--runs N] [--dir BENCH_DIR] [--perf ../shared/perf/gen]
--                          [--corpus ../shared/corpus] [--readme README.md]
--                          [--stream-mib N] [--no-stream]
-- --readme rewrites the first table in README.md (between its bench
-- markers), with the date, the machine and its load: no figure is copied
-- by hand.
local argparse = require "argparse"

local parser = argparse("bench.lua", "Benchmark crit.lua against Python crit.")
parser:option("--runs", "Runs of each command (the median is shown).", "3"):convert(tonumber)
parser:option("--dir", "Where the inputs are made (kept between runs).", "build/bench")
parser:option("--perf", "The generators of synthetic images.", "../shared/perf/gen")
parser:option("--crit", "The reference tool.", "/usr/bin/crit")
parser:flag("--no-crit", "Measure crit.lua only.")
parser:option("--stream-mib", "Touched memory of the streamed process, MiB.", "1024"):convert(tonumber)
parser:flag("--no-stream", "Skip the criu dump/restore streaming table.")
parser:flag("--stream-only", "Only the streaming table.")
parser:option("--corpus", "Real dumps, for the whole-dump rows.", "../shared/corpus")
parser:option("--readme", "Rewrite the performance table of this README.")
local args = parser:parse()

local CRIT_LUA = "./crit.lua"

local function sh(cmd)
  local ok = os.execute(cmd)
  if not ok then error("failed: " .. cmd) end
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function size_of(path)
  local f = assert(io.open(path, "rb"))
  local n = f:seek("end")
  f:close()
  return n
end

-- The inputs: each generator's JSON, and the image crit.lua encodes from it.
local INPUTS = {
  { name = "pagemap-1", gen = "gen_pagemap.py", img = "pagemap-1.img" },
  { name = "files", gen = "gen_files.py", img = "files.img" },
  { name = "fdinfo-2", gen = "gen_fdinfo.py", img = "fdinfo-2.img" },
  { name = "mm-1", gen = "gen_mm.py", img = "mm-1.img" },
  { name = "core-1", gen = "gen_core.py", img = "core-1.img" },
}

local function prepare()
  sh("mkdir -p " .. args.dir .. "/dump")
  for _, input in ipairs(INPUTS) do
    local json = ("%s/%s.json"):format(args.dir, input.name)
    local img = ("%s/dump/%s"):format(args.dir, input.img)
    if not exists(json) then
      io.stderr:write("making ", json, "\n")
      sh(("python3 %s/%s %s"):format(args.perf, input.gen, json))
    end
    if not exists(img) then
      sh(("%s encode -i %s -o %s"):format(CRIT_LUA, json, img))
    end
    input.json, input.path = json, img
  end
  -- A process tree of one task, so that `x mems` and `x rss` have a dump.
  local pstree = args.dir .. "/dump/pstree.img"
  if not exists(pstree) then
    local f = assert(io.open(args.dir .. "/pstree.json", "w"))
    f:write('{"magic": "PSTREE", "entries": [{"pid": 1, "ppid": 0, "pgid": 1, "sid": 1, "threads": [1]}]}')
    f:close()
    sh(("%s encode -i %s/pstree.json -o %s"):format(CRIT_LUA, args.dir, pstree))
  end
end

-- One timed run: wall seconds and peak RSS in KiB. GNU time gives the RSS
-- but counts wall time in hundredths; perl's Time::HiRes (perl-base)
-- times the command to the microsecond.
local TIMER = [[perl -MTime::HiRes=time -e '$o = shift; $t = time; system(@ARGV) == 0 or exit 1; ]]
  .. [[open(F, ">", "$o.wall"); printf F "%.6f\n", time - $t']]
-- A word of a shell command line: single quotes, so that the outer shell
-- leaves the inner command's $ and quotes alone.
local function quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function measure(cmd)
  local out = os.tmpname()
  sh(("env -u PYTHONUNBUFFERED /usr/bin/time -f '%%M %%U %%S' -o %s %s %s sh -c %s"):format(out,
    TIMER, out, quote(cmd)))
  local f = assert(io.open(out))
  local rss, user, sys = f:read("n", "n", "n")
  f:close()
  f = assert(io.open(out .. ".wall"))
  local wall = f:read("n")
  f:close()
  os.remove(out)
  os.remove(out .. ".wall")
  return wall, rss, user + sys
end

local function median(xs)
  table.sort(xs)
  return xs[(#xs + 1) // 2]
end

local function input(name)
  for _, i in ipairs(INPUTS) do if i.name == name then return i end end
end

local ITERATE_LABEL = {
  entries = "Lua: img:entries() over pagemap-1",
  reuse = "Lua: img:entries{reuse=true} over pagemap-1",
  fields = "Lua: img:fields(\"vaddr\") over pagemap-1",
}
local DUMPS = { "pyfds", "tree", "manyfiles" }

local function dir_size(path)
  local p = assert(io.popen("du -sb " .. path))
  local n = p:read("n")
  p:close()
  return n
end

-- Each case: a label, the bytes it processes, and the command line of
-- crit.lua (crit's is the same with crit in front), or its own command
-- lines: ours (and theirs, for Python crit).
local function cases()
  local list = {}
  for _, name in ipairs({ "files", "pagemap-1", "fdinfo-2", "mm-1", "core-1" }) do
    local i = input(name)
    list[#list + 1] = { what = "decode " .. name, bytes = size_of(i.path),
      cmd = ("decode -i %s -o /dev/null"):format(i.path) }
    list[#list + 1] = { what = "decode --pretty " .. name, bytes = size_of(i.path),
      cmd = ("decode --pretty -i %s -o /dev/null"):format(i.path) }
    list[#list + 1] = { what = "show " .. name, bytes = size_of(i.path),
      cmd = ("show %s > /dev/null"):format(i.path) }
    list[#list + 1] = { what = "encode " .. name, bytes = size_of(i.json),
      cmd = ("encode -i %s -o %s/out.img"):format(i.json, args.dir) }
    list[#list + 1] = { what = "info " .. name, bytes = size_of(i.path),
      cmd = ("info %s > /dev/null"):format(i.path) }
  end
  local dump = args.dir .. "/dump"
  list[#list + 1] = { what = "x mems (20k VMAs)", bytes = size_of(input("mm-1").path),
    cmd = ("x %s mems > /dev/null"):format(dump) }
  list[#list + 1] = { what = "x rss (1M pagemap entries)", bytes = size_of(input("pagemap-1").path),
    cmd = ("x %s rss > /dev/null"):format(dump) }
  -- Lazy access: change entry 500,000 of the 1M-entry pagemap and write
  -- the image back (only that entry is decoded), next to the same edit
  -- made the only way crit can: decode everything, encode everything.
  local pm, json, out = input("pagemap-1"), args.dir .. "/edit.json", args.dir .. "/edit.img"
  list[#list + 1] = { what = "lazy edit: entry 500000 of pagemap-1", bytes = size_of(pm.path),
    ours = ("%s tools/lazy-edit.lua %s %s 500000"):format(arg[-1], pm.path, out) }
  list[#list + 1] = { what = "full decode + encode of pagemap-1", bytes = size_of(pm.path),
    cmd = ("decode -i %s -o %s && {tool} encode -i %s -o %s"):format(pm.path, json, json, out) }
  -- Walking the 1M entries from Lua (tools/iterate.lua), to set beside
  -- "decode pagemap-1" (the image to JSON text): crit has no such thing.
  for _, mode in ipairs({ "entries", "reuse", "fields" }) do
    list[#list + 1] = { what = ITERATE_LABEL[mode], bytes = size_of(pm.path),
      ours = ("%s tools/iterate.lua %s %s"):format(arg[-1], mode, pm.path) }
  end
  -- Whole real dumps in one process; crit takes a process per image (it
  -- cannot decode raw images: they are copied, as crit.lua does).
  for _, name in ipairs(DUMPS) do
    local real = args.corpus .. "/" .. name
    if exists(real .. "/inventory.img") then
      local jdir, back = args.dir .. "/json-" .. name, args.dir .. "/back-" .. name
      local pydir = jdir .. "-py"
      list[#list + 1] = { what = "decode a whole dump: " .. name, bytes = dir_size(real),
        ours = ("rm -rf %s && %s decode %s -o %s"):format(jdir, CRIT_LUA, real, jdir),
        theirs = ("rm -rf %s && mkdir %s && for f in %s/*; do b=${f##*/}; %s decode -i $f -o %s/$b.json "
          .. "2>/dev/null || cp $f %s/; done"):format(pydir, pydir, real, args.crit, pydir, pydir) }
      list[#list + 1] = { what = "encode a whole dump: " .. name, bytes = dir_size(real),
        ours = ("rm -rf %s && %s encode %s -o %s"):format(back, CRIT_LUA, jdir, back),
        theirs = ("rm -rf %s && mkdir %s && for f in %s/*; do b=${f##*/}; case $b in *.json) "
          .. "%s encode -i $f -o %s/${b%%.json};; *) cp $f %s/;; esac; done"):format(back, back,
          jdir, args.crit, back, back) }
    end
  end
  return list
end

local function fmt_time(s)
  if s < 0.1 then return ("%.1f ms"):format(s * 1000) end
  return s < 1 and ("%.0f ms"):format(s * 1000) or ("%.2f s"):format(s)
end
local function fmt_mib(kib) return ("%.0f MiB"):format(kib / 1024) end

local stream = require("tools.bench_stream")
if args.stream_only then
  stream.run(args, measure, fmt_time, fmt_mib)
  return
end

prepare()
local rows = {}
-- A case's command line for a tool: `tool cmd`, {tool} standing for it
-- again in a pipeline.
local function command_for(tool, cmd)
  return tool .. " " .. cmd:gsub("{tool}", tool)
end

local function loadavg()
  local f = io.open("/proc/loadavg")
  local s = f and f:read("l") or "?"
  if f then f:close() end
  return s:match("^(%S+ %S+ %S+)") or s
end
local load_before = loadavg()

for _, c in ipairs(cases()) do
  local ours, theirs = { t = {}, m = {}, c = {} }, { t = {}, m = {}, c = {} }
  local crit_cmd = c.theirs or c.cmd and command_for(args.crit, c.cmd)
  local with_crit = not args.no_crit and crit_cmd
  for _ = 1, args.runs do
    local t, m, cpu = measure(c.ours or command_for(CRIT_LUA, c.cmd))
    ours.t[#ours.t + 1], ours.m[#ours.m + 1], ours.c[#ours.c + 1] = t, m, cpu
    if with_crit then
      t, m, cpu = measure("{ " .. crit_cmd .. "; } 2>/dev/null || true")
      theirs.t[#theirs.t + 1], theirs.m[#theirs.m + 1], theirs.c[#theirs.c + 1] = t, m, cpu
    end
  end
  local row = { what = c.what, bytes = c.bytes, t = median(ours.t), m = median(ours.m),
    c = median(ours.c) }
  if with_crit then row.ct, row.cm, row.cc = median(theirs.t), median(theirs.m), median(theirs.c) end
  rows[#rows + 1] = row
  io.stderr:write(("%-44s %s\n"):format(c.what, fmt_time(row.t)))
end

local function ratio(a, b)
  return a and b and b > 0 and ("%.0fx"):format(a / b) or "-"
end

local out = {}
local function emit(s) out[#out + 1] = s end
emit("| command | input | crit.lua | cpu | peak RSS | MB/s | Python crit | cpu | peak RSS | ratio | cpu ratio |")
emit("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for _, r in ipairs(rows) do
  local mbs = r.t > 0 and ("%.0f"):format(r.bytes / 1e6 / r.t) or "-"
  emit(("| %s | %.1f MB | %s | %s | %s | %s | %s | %s | %s | %s | %s |"):format(r.what,
    r.bytes / 1e6, fmt_time(r.t), fmt_time(r.c), fmt_mib(r.m), mbs,
    r.ct and fmt_time(r.ct) or "-", r.cc and fmt_time(r.cc) or "-", r.cm and fmt_mib(r.cm) or "-",
    ratio(r.ct, r.t), ratio(r.cc, r.c)))
end

local function machine()
  local f = io.open("/proc/cpuinfo")
  local model = f and f:read("a"):match("model name%s*:%s*([^\n]+)") or "?"
  if f then f:close() end
  local p = io.popen("nproc; uname -r; lua5.4 -v 2>&1")
  local nproc, kernel, lua = p:read("l", "l", "l")
  p:close()
  return ("%s, %s cores, Linux %s, %s"):format(model, nproc, kernel, lua:match("^Lua %S+") or lua)
end
emit("")
emit(("Measured %s by `lua5.4 tools/bench.lua --runs %d` (median of %d, the two tools in turn); "
  .. "machine: %s; load average %s before the run, %s after."):format(
  os.date("!%Y-%m-%d %H:%M UTC"), args.runs, args.runs, machine(), load_before, loadavg()))
local table_text = table.concat(out, "\n") .. "\n"
io.write(table_text)

-- The README's table, between its markers, replaced by this run's.
if args.readme then
  local BEGIN, END = "<!-- bench.lua: begin -->\n", "<!-- bench.lua: end -->"
  local f = assert(io.open(args.readme, "rb"))
  local text = f:read("a")
  f:close()
  local a = assert(text:find(BEGIN, 1, true), args.readme .. ": no bench marker")
  local b = assert(text:find(END, a, true), args.readme .. ": no end marker")
  text = text:sub(1, a + #BEGIN - 1) .. table_text .. text:sub(b)
  f = assert(io.open(args.readme .. ".tmp", "wb"))
  f:write(text)
  f:close()
  assert(os.rename(args.readme .. ".tmp", args.readme))
end

if not args.no_stream then
  print()
  stream.run(args, measure, fmt_time, fmt_mib)
end
