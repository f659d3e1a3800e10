-- The streaming table of make bench: criu dump and restore of a process with
-- N MiB of touched memory (1 GiB by default), through crit.lua capture and
-- serve (`criu dump --stream`, `criu restore --stream`), and through a plain
-- directory, interleaved; wall time of dump and restore, crit.lua's peak RSS,
-- and the ratio streamed / plain. Needs root, criu 4.2 (build/criu-4.2 or
-- CRIT_CRIU) and a child subreaper (build/reaper) to reap the dumped process.
local M = {}

local CRIT_LUA = "./crit.lua"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  local ok = os.execute(cmd)
  if not ok then error("failed: " .. cmd) end
end

local function capture_sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  return out
end

local function exists(path)
  return os.rename(path, path) ~= nil
end

local function wait_for(fn, seconds)
  for _ = 1, seconds * 20 do
    if fn() then return true end
    os.execute("sleep 0.05")
  end
  return fn()
end

local function criu_path()
  local env = os.getenv("CRIT_CRIU")
  if env and env ~= "" then return env end
  if exists("build/criu-4.2/criu/criu") then return "build/criu-4.2/criu/criu" end
  return nil
end

local function skip_reason()
  if capture_sh("id -u"):match("%d+") ~= "0" then return "needs root" end
  if not criu_path() then return "no criu 4.2 (build/criu-4.2 or CRIT_CRIU)" end
  local reaper = tonumber(os.getenv("CRIT_REAPER") or "")
  if not reaper or not exists("/proc/" .. reaper) then return "not under build/reaper (make bench)" end
  return nil
end

-- A process with mib MiB of touched memory, each page its own bytes.
local PROGRAM = [[
import os, sys, time
buf = bytearray(int(sys.argv[1]) << 20)
for i in range(0, len(buf), 4096):
    buf[i] = (i >> 12) & 255 or 1
open(sys.argv[2], "w").write(str(os.getpid()))
while True:
    time.sleep(1)
]]

local function start_process(dir, mib)
  local pidfile = dir .. "/pid"
  os.remove(pidfile)
  sh(("setsid python3 -c %s %d %s </dev/null >/dev/null 2>&1 &"):format(q(PROGRAM), mib, q(pidfile)))
  assert(wait_for(function()
    local f = io.open(pidfile)
    local pid = f and f:read("n")
    if f then f:close() end
    return pid
  end, 120), "the process did not start")
  local f = io.open(pidfile)
  local pid = f:read("n")
  f:close()
  return pid
end

local function gone(pid)
  assert(wait_for(function() return not exists("/proc/" .. pid) end, 30), "pid " .. pid .. " not reaped")
end

-- Start crit.lua in the background under GNU time: its peak RSS in rssfile.
local function crit_bg(rssfile, args)
  os.remove(rssfile)
  sh(("/usr/bin/time -f %%M -o %s %s %s >/dev/null 2>&1 &"):format(q(rssfile), CRIT_LUA, args))
end

local function read_number(path)
  local f = io.open(path)
  local n = f and f:read("n")
  if f then f:close() end
  return n
end

-- One round trip, plain or streamed: dump seconds, restore seconds, and
-- crit.lua's peak RSS (KiB; streamed only).
local function round(dir, mib, streamed, measure)
  local criu = criu_path()
  sh("rm -rf " .. q(dir) .. " && mkdir -p " .. q(dir .. "/imgs") .. " " .. q(dir .. "/serve"))
  local pid = start_process(dir, mib)
  -- the last round's writeback must not land in this one's time
  sh("sync")
  local imgs, out, log = dir .. "/imgs", dir .. "/out", dir .. "/criu.log"
  local dump_t, restore_t, rss
  if not streamed then
    dump_t = measure(("%s dump -t %d -D %s -o %s"):format(criu, pid, q(imgs), q(log)))
    gone(pid)
    sh("sync")
    restore_t = measure(("%s restore -d -D %s -o %s"):format(criu, q(imgs), q(log)))
  else
    crit_bg(dir .. "/capture.rss", ("capture %s -o %s"):format(q(imgs), q(out)))
    assert(wait_for(function() return exists(imgs .. "/streamer-capture.sock") end, 10))
    -- the dump is done when crit.lua capture has committed OUT
    dump_t = measure(("%s dump --stream -t %d -D %s -o %s && while [ ! -s %s ]; do sleep 0.01; done")
      :format(criu, pid, q(imgs), q(log), q(dir .. "/capture.rss")))
    assert(exists(out .. "/inventory.img"), "capture wrote no " .. out)
    gone(pid)
    sh("sync")
    crit_bg(dir .. "/serve.rss", ("serve %s %s"):format(q(dir .. "/serve"), q(out)))
    assert(wait_for(function() return exists(dir .. "/serve/streamer-serve.sock") end, 10))
    restore_t = measure(("%s restore --stream -d -D %s -o %s && while [ ! -s %s ]; do sleep 0.01; done")
      :format(criu, q(dir .. "/serve"), q(log), q(dir .. "/serve.rss")))
    rss = math.max(read_number(dir .. "/capture.rss") or 0, read_number(dir .. "/serve.rss") or 0)
  end
  sh(("kill -9 %d"):format(pid))
  gone(pid)
  return dump_t, restore_t, rss
end

local function median(xs)
  table.sort(xs)
  return xs[(#xs + 1) // 2]
end

function M.run(args, measure, fmt_time, fmt_mib)
  local why = skip_reason()
  if why then
    print("Streaming (criu dump + restore through crit.lua capture/serve): skipped, " .. why)
    return
  end
  local mib = args.stream_mib
  sh("mkdir -p " .. q(args.dir))
  -- absolute: criu takes -o relative to the images directory
  local dir = capture_sh("realpath " .. q(args.dir)):gsub("%s+$", "") .. "/stream"
  local t = { plain = { d = {}, r = {} }, streamed = { d = {}, r = {}, m = {} } }
  for _ = 1, args.runs do
    for _, kind in ipairs({ "plain", "streamed" }) do
      local d, r, m = round(dir, mib, kind == "streamed", measure)
      local row = t[kind]
      row.d[#row.d + 1], row.r[#row.r + 1] = d, r
      if m then row.m[#row.m + 1] = m end
      io.stderr:write(("stream %-8s dump %s restore %s\n"):format(kind, fmt_time(d), fmt_time(r)))
    end
  end
  sh("rm -rf " .. q(dir))
  local pd, pr = median(t.plain.d), median(t.plain.r)
  local sd, sr = median(t.streamed.d), median(t.streamed.r)
  print(("| criu, %d MiB touched | dump | restore | dump + restore | crit.lua peak RSS | ratio |")
    :format(mib))
  print("|---|---:|---:|---:|---:|---:|")
  print(("| plain directory | %s | %s | %s | - | 1.00 |"):format(fmt_time(pd), fmt_time(pr),
    fmt_time(pd + pr)))
  print(("| crit.lua capture / serve | %s | %s | %s | %s | %.2f |"):format(fmt_time(sd), fmt_time(sr),
    fmt_time(sd + sr), fmt_mib(median(t.streamed.m)), (sd + sr) / (pd + pr)))
end

return M
