-- Run by underneath_spec.lua in a process of its own (a signal must fail the
-- spec, not kill busted):
--   lua5.4 spec/underneath_run.lua CPATH SCENARIO FILE [ROUNDS [MEMBER]]
-- Opens FILE (or, given MEMBER, the image FILE//MEMBER of the archive FILE)
-- through the API, lets the file change underneath (the scenario says
-- how), reads on, and prints "old N" (entries or bytes read as they were)
-- or "error MESSAGE" (the error raised); exit 0.
local cpath, scenario, path, rounds = arg[1], arg[2], arg[3], tonumber(arg[4] or "1")
local member = arg[5]
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = cpath .. ";" .. package.cpath
local core = require "crit.core"

local function read_all(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write_all(p, bytes, mode)
  local f = assert(io.open(p, mode or "wb"))
  f:write(bytes)
  f:close()
end

-- `dd conv=notrunc`: bytes written over the file at an offset, in place.
local function overwrite(p, offset, bytes)
  local f = assert(io.open(p, "r+b"))
  f:seek("set", offset)
  f:write(bytes)
  f:close()
end

local original = read_all(path)

-- The image and where its bytes start in the file (an archive member's
-- offset). Raises "FILE: what" or "FILE//MEMBER: what".
local function open_image()
  if not member then return assert(core.open(path)), 0 end
  local a, err = core.archive(path)
  if not a then error(core.error({ file = path, message = err }), 0) end
  local _, base = a:locate(member)
  return assert(a:open(member, path .. "//" .. member)), base
end

-- Whether err is a crit.Error about the file (or the archive's member).
local function clean_error(err)
  return core.is_error(err) and (err.file == path or (member ~= nil and err.file == path .. "//" .. member))
end

-- Whether a line crit.lua printed is one clean error naming the file.
local function clean_line(line)
  return line ~= nil and (line:sub(1, #path + 2) == path .. ": "
    or (member ~= nil and line:sub(1, #path + 2) == path .. "//"))
end

local function decode_all(idx)
  local n = idx:count()
  for i = 1, n do idx:decode(i) end
  return n
end

local scenarios = {}

-- Truncated after the first entry was read: the rest is no longer there.
function scenarios.truncate()
  local idx = open_image()
  idx:decode(1)
  write_all(path, original:sub(1, 4096))
  return decode_all(idx)
end

-- Grown after indexing: what was indexed reads as it was.
function scenarios.grow()
  local idx = open_image()
  local n = idx:count()
  write_all(path, string.rep("\255", 1 << 20), "ab")
  assert(decode_all(idx) == n)
  return n
end

-- An entry's size rewritten in place after indexing, its bytes let go.
function scenarios.rewrite()
  local idx, base = open_image()
  local n = idx:count()
  local at = idx:span(n // 2)
  idx:drop(1, n)
  overwrite(path, base + at, string.pack("<I4", 0x7fffffff))
  idx:decode(n // 2 + 1) -- found by hopping over the entry rewritten
  return decode_all(idx)
end

-- A raw image (pages-N.img) truncated while open.
function scenarios.raw()
  local idx = open_image()
  local size = idx:info().size
  write_all(path, "")
  local got = 0
  for off = 0, size - 4096, 4096 do got = got + #idx:slice(off, 4096) end
  return got
end

-- Another process truncating, growing and rewriting the file at random,
-- over and over, until stop() is called.
local function start_mutator()
  local stop = path .. ".stop"
  local script = path .. ".mutator.lua"
  os.remove(stop)
  write_all(script, [[
    local path, stop = arg[1], arg[2]
    local f = assert(io.open(path, "rb")); local original = f:read("a"); f:close()
    local seed = 1
    local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n end
    while not io.open(stop, "rb") do
      local how = rnd(4)
      if how == 0 then       -- truncate
        f = assert(io.open(path, "wb")); f:write(original:sub(1, rnd(#original))); f:close()
      elseif how == 1 then   -- grow
        f = assert(io.open(path, "ab")); f:write(string.rep("\0", rnd(1 << 20))); f:close()
      elseif how == 2 then   -- rewrite in place
        f = assert(io.open(path, "r+b"))
        if f:seek("end") > 0 then
          f:seek("set", rnd(f:seek("end"))); f:write(string.pack("<I4", rnd(1 << 31)))
        end
        f:close()
      else                   -- back as it was
        f = assert(io.open(path, "wb")); f:write(original); f:close()
      end
    end
  ]])
  local started = assert(io.popen("lua5.4 " .. script .. " " .. path .. " " .. stop .. " & echo $!"))
  local pid = started:read("l")
  started:close()
  return function()
    write_all(stop, "")
    while os.execute("kill -0 " .. pid .. " 2>/dev/null") do os.execute("sleep 0.05") end
    os.remove(stop)
    os.remove(script)
    write_all(path, original)
  end
end

-- ROUNDS times, the file opened and read whole through the API while
-- another process changes it.
function scenarios.hammer()
  local stop = start_mutator()
  local out = core.output()
  local counts = { old = 0, error = 0 }
  for _ = 1, rounds do
    local ok, err = pcall(function()
      local idx = open_image()
      if idx:info().raw then
        local size = idx:info().size
        for off = 0, size - 4096, 65536 do idx:slice(off, 4096) end
      else
        local n = idx:count()
        for i = 1, n, 101 do idx:decode(i) end
        core.json_write(idx, out)
      end
      idx:close()
    end)
    if ok then
      counts.old = counts.old + 1
    elseif clean_error(err) then
      counts.error = counts.error + 1
    else
      io.stderr:write("not a clean error: ", tostring(err), "\n")
      os.exit(3)
    end
  end
  stop()
  return counts.old .. " " .. counts.error
end

-- ROUNDS times, crit.lua decode of the file (of an archive, in turn
-- `x ARCHIVE ps` and decode of its member) while another process changes
-- it: exit 0, or 1 with one line naming the file; never a signal.
function scenarios.cli()
  local commands = { "decode -i " .. path }
  if member then commands = { "x " .. path .. " ps", "decode -i " .. path .. "//" .. member } end
  local stop = start_mutator()
  local counts = { [0] = 0, [1] = 0 }
  local errors = path .. ".stderr"
  for i = 1, rounds do
    local command = "./crit.lua " .. commands[(i - 1) % #commands + 1]
    local _, how, code = os.execute(command .. " > /dev/null 2>" .. errors)
    local said = read_all(errors)
    local line = said:match("^crit%.lua: (.-)\n$")
    if how ~= "exit" or (code ~= 0 and code ~= 1) or (code == 1 and not clean_line(line)) then
      stop()
      io.stderr:write(command, " exited ", tostring(how), " ", tostring(code), ": ", said, "\n")
      os.exit(3)
    end
    counts[code] = counts[code] + 1
  end
  os.remove(errors)
  stop()
  return counts[0] .. " " .. counts[1]
end

local ok, got = pcall(scenarios[scenario])
if ok then
  print("old " .. tostring(got))
else
  print("error " .. tostring(got))
end
os.exit(0)
