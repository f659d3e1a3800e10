#!/usr/bin/env lua5.4
-- The dump fuzzer: mutate one image of a real dump at a time, one field of
-- one entry at the wire level (dropped, a varint set to 0, 2^31, 2^32-1,
-- 2^63, a length-delimited field emptied or cut), then run every command
-- that reads a directory. Any traceback or internal Lua error, signal,
-- hang or exit other than 0/1 is a finding: its recipe (image, entry,
-- field, mutation) is printed and, with --keep FILE, appended there as a
-- regression case that spec/dumpfuzz_spec.lua replays.
--
--   lua5.4 tools/dumpfuzz.lua [--seed N] [--dumps N] [--keep FILE] DUMP...
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("CRIT_BUILD") or "build") .. "/?.so;" .. package.cpath -- see crit.lua
local core = require "crit.core"
local layout = require "crit.layout"

local M = {}

-- Top-level fields of a protobuf message: { key =, wire =, from =, to = }
-- (byte positions of the whole field, key included), or nil if malformed.
local function varint_at(s, i)
  local v, shift = 0, 0
  while i <= #s do
    local b = s:byte(i)
    v = v | ((b & 0x7f) << shift)
    i = i + 1
    if b < 0x80 then return v, i end
    shift = shift + 7
    if shift > 63 then return nil end
  end
end

local function fields_of(msg)
  local out, i = {}, 1
  while i <= #msg do
    local from = i
    local key, j = varint_at(msg, i)
    if not key then return out end
    local wire, vstart = key & 7, j
    if wire == 0 then
      local _, k = varint_at(msg, j); if not k then return out end
      j = k
    elseif wire == 1 then j = j + 8
    elseif wire == 5 then j = j + 4
    elseif wire == 2 then
      local n, k = varint_at(msg, j); if not n or k + n - 1 > #msg then return out end
      vstart, j = k, k + n
    else return out end
    if j - 1 > #msg then return out end
    out[#out + 1] = { id = key >> 3, wire = wire, from = from, vstart = vstart, to = j - 1 }
    i = j
  end
  return out
end

local function varint(v)
  local t = {}
  repeat
    local b = v & 0x7f
    v = v >> 7
    if v ~= 0 then b = b | 0x80 end
    t[#t + 1] = string.char(b)
  until v == 0
  return table.concat(t)
end

local VALUES = { 0, 1, 1 << 31, (1 << 32) - 1, 1 << 63, 0x7fffffffffffffff, 4096, 12345 }

--- M.mutate(msg, recipe) -> msg with recipe applied. recipe: { field = N
--- (1-based index among the top-level fields), how = "drop" | "value" |
--- "empty" | "cut", value = integer }.
function M.mutate(msg, r)
  local f = fields_of(msg)[r.field]
  if not f then return msg end
  local head, tail = msg:sub(1, f.from - 1), msg:sub(f.to + 1)
  local key = varint(f.id << 3 | f.wire)
  if r.how == "drop" then return head .. tail end
  if r.how == "value" and f.wire == 0 then return head .. key .. varint(r.value) .. tail end
  if r.how == "empty" and f.wire == 2 then return head .. key .. varint(0) .. tail end
  if r.how == "cut" and f.wire == 2 then
    local body = msg:sub(f.vstart, f.to)
    body = body:sub(1, #body // 2)
    return head .. key .. varint(#body) .. body .. tail
  end
  return msg
end

--- M.apply(dir, recipe): rewrite DIR/recipe.image with the entry's message mutated.
function M.apply(dir, r)
  local path = dir .. "/" .. r.image
  local idx = assert(core.open(path))
  local parts = { idx:info().header }
  for i = 1, idx:count() do
    local msg, payload = idx:raw(i)
    if i == r.entry then msg = M.mutate(msg, r) end
    parts[#parts + 1] = string.pack("<I4", #msg) .. msg .. payload
  end
  idx:close()
  local f = assert(io.open(path, "wb"))
  f:write(table.concat(parts))
  f:close()
end

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The commands that read a directory; DIR and TMP are replaced.
M.COMMANDS = {
  "x DIR ps", "x DIR fds", "x DIR mems", "x DIR rss", "stats DIR", "stats --json DIR", "check DIR",
  "coredump -o TMP DIR", "diff ORIG DIR",
}

-- Internal errors: the message of a Lua error in our own code, not one
-- that says what is wrong with the dump.
local INTERNAL = {
  "attempt to ", "table index is ", "bad argument", "stack traceback", "number has no integer",
  "string expected, got", "invalid value %(at index", "C stack overflow", "not enough memory",
  "%.lua:%d+:",
}

--- M.run(dir, orig, tmp) -> nil | { command =, code =, err = }: the first
--- command that fails on dir.
function M.run(dir, orig, tmp)
  for _, c in ipairs(M.COMMANDS) do
    local cmd = c:gsub("DIR", sh_quote(dir)):gsub("ORIG", sh_quote(orig)):gsub("TMP", sh_quote(tmp))
    local errf = os.tmpname()
    local _, how, code = os.execute("timeout -s KILL 30 ./crit.lua " .. cmd .. " >/dev/null 2>" .. errf)
    local f = io.open(errf, "rb")
    local err = f and f:read("a") or ""
    if f then f:close() end
    os.remove(errf)
    -- diff, as diff(1): 0 the same, 1 different, 2 trouble
    local bad = how ~= "exit" or (code ~= 0 and code ~= 1 and not (code == 2 and c:match("^diff")))
    for _, p in ipairs(INTERNAL) do if err:find(p) then bad = true end end
    if bad then return { command = c, code = how == "exit" and code or -code, err = err } end
  end
end

--- M.recipe(dump, rand) -> a random recipe over the images of dump.
function M.recipe(dump, rand)
  local images = {}
  for _, f in ipairs(layout.list(dump)) do
    if f:match("%.img$") and not f:match("^pages%-") and not f:match("^pagemap%-shmem") then
      images[#images + 1] = f
    end
  end
  table.sort(images)
  for _ = 1, 20 do
    local image = images[rand(#images)]
    local ok, idx = pcall(core.open, dump .. "/" .. image)
    if ok and idx and not idx:info().raw and idx:count() > 0 then
      local entry = rand(idx:count())
      local msg = idx:raw(entry)
      idx:close()
      local fields = fields_of(msg)
      if #fields > 0 then
        local k = rand(#fields)
        local wire = fields[k].wire
        local hows = wire == 0 and { "drop", "value", "value", "value" }
          or wire == 2 and { "drop", "empty", "cut" } or { "drop" }
        local how = hows[rand(#hows)]
        return { image = image, entry = entry, field = k, how = how,
                 value = how == "value" and VALUES[rand(#VALUES)] or nil }
      end
    end
  end
end

function M.format(dump, r)
  return string.format("{ dump = %q, image = %q, entry = %d, field = %d, how = %q, value = %s },",
    dump, r.image, r.entry, r.field, r.how, r.value and math.tointeger(r.value) or "nil")
end

local function main(argv)
  local seed, count, keep, dumps = os.time(), 20, nil, {}
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--seed" then seed = tonumber(argv[i + 1]); i = i + 1
    elseif a == "--dumps" then count = tonumber(argv[i + 1]); i = i + 1
    elseif a == "--keep" then keep = argv[i + 1]; i = i + 1
    else dumps[#dumps + 1] = a:gsub("/+$", "") end
    i = i + 1
  end
  assert(#dumps > 0, "usage: dumpfuzz.lua [--seed N] [--dumps N] [--keep FILE] DUMP...")
  math.randomseed(seed)
  local work = os.tmpname()
  os.remove(work)
  assert(os.execute("mkdir -p " .. sh_quote(work .. "/out")))
  local found = 0
  for n = 1, count do
    local dump = dumps[(n - 1) % #dumps + 1]
    local dir = work .. "/d"
    os.execute("rm -rf " .. sh_quote(dir) .. " && cp -r " .. sh_quote(dump) .. " " .. sh_quote(dir))
    local r = M.recipe(dir, math.random)
    if r then
      M.apply(dir, r)
      local bad = M.run(dir, dump, work .. "/out")
      if bad then
        found = found + 1
        io.stdout:write(("FOUND %s -- crit.lua %s: exit %d: %s\n"):format(M.format(dump, r), bad.command,
          bad.code, (bad.err:gsub("\n", " "):sub(1, 300))))
        if keep then
          local f = assert(io.open(keep, "ab"))
          f:write(M.format(dump, r), "\n")
          f:close()
        end
      end
    end
  end
  os.execute("rm -rf " .. sh_quote(work))
  io.stdout:write(("dumpfuzz: seed %d, %d dumps mutated, %d findings\n"):format(seed, count, found))
  return found == 0 and 0 or 1
end

if arg and arg[0] and arg[0]:match("dumpfuzz%.lua$") then os.exit(main(arg)) end
return M
