-- make bench: crit.lua against Python crit (Debian's /usr/bin/crit) on large
-- synthetic images, interleaved in one run; prints a Markdown table of wall
-- time, peak RSS, throughput and the ratio to crit. The last rows edit one
-- entry of a 1M-entry pagemap lazily (tools/lazy-edit.lua), next to a full
-- decode + encode. Then, as root with criu 4.2 and under build/reaper, a
-- second table: criu dump and restore of a process with 1 GiB of touched
-- memory through crit.lua capture and serve, and through a plain directory.
--   lua5.4 tools/bench.lua [--runs N] [--dir BENCH_DIR] [--perf ../shared/perf/gen]
--                          [--stream-mib N] [--no-stream]
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
local function measure(cmd)
  local out = os.tmpname()
  sh(("env -u PYTHONUNBUFFERED /usr/bin/time -f '%%M' -o %s %s %s sh -c %q"):format(out, TIMER,
    out, cmd))
  local f = assert(io.open(out))
  local rss = f:read("n")
  f:close()
  f = assert(io.open(out .. ".wall"))
  local wall = f:read("n")
  f:close()
  os.remove(out)
  os.remove(out .. ".wall")
  return wall, rss
end

local function median(xs)
  table.sort(xs)
  return xs[(#xs + 1) // 2]
end

local function input(name)
  for _, i in ipairs(INPUTS) do if i.name == name then return i end end
end

-- Each case: a label, the bytes it processes, and the command line of
-- crit.lua (crit's is the same with crit in front).
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

for _, c in ipairs(cases()) do
  local ours, theirs = { t = {}, m = {} }, { t = {}, m = {} }
  local with_crit = not args.no_crit and c.cmd
  for _ = 1, args.runs do
    local t, m = measure(c.ours or command_for(CRIT_LUA, c.cmd))
    ours.t[#ours.t + 1], ours.m[#ours.m + 1] = t, m
    if with_crit then
      t, m = measure("{ " .. command_for(args.crit, c.cmd) .. "; } 2>/dev/null || true")
      theirs.t[#theirs.t + 1], theirs.m[#theirs.m + 1] = t, m
    end
  end
  local row = { what = c.what, bytes = c.bytes, t = median(ours.t), m = median(ours.m) }
  if with_crit then row.ct, row.cm = median(theirs.t), median(theirs.m) end
  rows[#rows + 1] = row
  io.stderr:write(("%-32s %s\n"):format(c.what, fmt_time(row.t)))
end

print(("| command | input | crit.lua | peak RSS | MB/s | Python crit | peak RSS | ratio |"))
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for _, r in ipairs(rows) do
  local mbs = r.t > 0 and ("%.0f"):format(r.bytes / 1e6 / r.t) or "-"
  print(("| %s | %.1f MB | %s | %s | %s | %s | %s | %s |"):format(r.what, r.bytes / 1e6,
    fmt_time(r.t), fmt_mib(r.m), mbs,
    r.ct and fmt_time(r.ct) or "-", r.cm and fmt_mib(r.cm) or "-",
    r.ct and ("%.0fx"):format(r.ct / r.t) or "-"))
end

if not args.no_stream then
  print()
  stream.run(args, measure, fmt_time, fmt_mib)
end
