--- crit: read, edit and write CRIU checkpoint images from Lua.
--   local img = assert(crit.open("core-1.img"))
--   img[1].tc.comm = "renamed"; img:write("core-1.img")
local core = require "crit.core"
local Image = require "crit.image"

local crit = { _VERSION = "lua-crit 0.1.0" }

--- open(path) -> image | nil, message, errno. A missing or unreadable file
--- returns nil; a corrupt image raises a crit.Error (see crit.error) whose
--- tostring is "path: entry N at offset X: what".
--- path may name an image inside a checkpoint archive:
--- "bb.tar.gz//checkpoint/core-1.img" (see crit.archive).
function crit.open(path)
  local index, msg, errno = require("crit.layout").open(path)
  if not index then return nil, msg, errno end
  return Image.from_index(index)
end

--- load(bytes [, name]) -> image, from bytes in memory. `name` is used in
--- error messages and to recognise raw images ("pages-1.img").
function crit.load(bytes, name)
  return Image.from_index(core.load(bytes, name))
end

--- new(magic) -> an empty image of that type ("CORE", "PAGEMAP", ...).
function crit.new(magic)
  return Image.new(magic)
end

--- dir(path) -> a checkpoint directory (crit.dir) | nil, message, errno:
--- its images by name, the process tree, files, sockets, namespaces.
function crit.dir(path)
  return require("crit.dir").open(path)
end

--- Every image type: { {name=, magic=, raw=}, ... }.
crit.magics = core.magics

--- error{ file=, entry=, offset=, line=, column=, path=, message= } -> the
--- table, made a crit.Error: the value lua-crit raises for every error
--- about data (a file, an entry, a field). file: the file as named to
--- lua-crit; entry: 1-based (nil for the header or the whole file);
--- offset: the byte offset in the file (nil when unknown); line, column:
--- in a text or JSON document; path: the field path ("vmas[3].start");
--- message: what is wrong (required). tostring(err) gives the one line
--- "file: entry N at offset X: path: message", each part only when there.
--- Misuse of the API (a wrong argument, a closed image) raises a string.
crit.error = core.error

--- is_error(v) -> whether v is a crit.Error.
crit.is_error = core.is_error

-- 64-bit values are Lua integers with the same bits: a uint64 above 2^63
-- reads as a negative number. These print and compare them as unsigned.
local u64 = {}
crit.u64 = u64

--- u64.tostring(v) -> decimal string of v read as unsigned.
function u64.tostring(v)
  if v >= 0 then return string.format("%d", v) end
  local q = (v >> 1) // 5        -- v / 10, computed unsigned
  local r = v - q * 10
  return string.format("%d%d", q, r)
end

--- u64.parse(s) -> integer with the bits of the unsigned decimal or 0x hex s.
function u64.parse(s)
  local hex = s:match("^0[xX](%x+)$")
  if hex then
    if #hex:gsub("^0+", "") > 16 then return nil, "out of range" end
    return tonumber(hex, 16)     -- Lua wraps base-16 numerals to 64 bits
  end
  if not s:match("^%d+$") then return nil, "not a number" end
  local v = 0
  for d in s:gmatch("%d") do
    local n = v * 10 + tonumber(d)
    if math.ult(n, v) or (v ~= 0 and math.ult(0x1999999999999999, v)) then return nil, "out of range" end
    v = n
  end
  return v
end

--- u64.lt(a, b) -> a < b as unsigned.
u64.lt = math.ult

return crit
