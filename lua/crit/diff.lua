-- What changed between two checkpoint directories, or two images: a list of
-- changes, each an image, an entry and a field path with its old and new
-- value. Fast on untouched images: whole files, then each entry's raw bytes,
-- are compared first; only entries whose bytes differ are decoded.
--
--   local changes = diff.dirs("dump", "dump.new")    -- paths or crit.dir objects
--   for _, c in ipairs(changes) do print(diff.format(c)) end
--   local changes = diff.images(img_a, img_b, "core-1")  -- crit images
--
-- A change is a table:
--   image   the image name, without ".img" ("core-1", "stats-dump").
--   what    "added"    the image (or, with entry, the entry) is only in b;
--           "removed"  it is only in a;
--           "changed"  a field: path, old, new (old or new is nil when the
--                      field is absent on that side);
--           "payload"  the bytes after the entry (crit's "extra": pipe data,
--                      queued socket data ...) differ: old, new are their
--                      sizes in bytes;
--           "encoding" the entry's message bytes differ but every field is
--                      the same (unknown fields, packed or not, field
--                      order): old, new are the message sizes;
--           "bytes"    a raw image (pages-N, tarballs) differs: old, new are
--                      the sizes, offset the first byte that differs;
--           "header"   the image's header: path "magic" or "version".
--   entry   the entry's position, 1-based as img[k] (nil for a whole image).
--   path    the field: "tc.comm", "vmas[3].start" (1-based list indexes).
--   old, new  the values as Lua has them: 64-bit integers keep their bits
--           (see diff.value for how they are printed).
-- Changes come sorted by image name, then entry, then path.
local crit = require "crit"
local dirlib = require "crit.dir"

local ipairs, pairs, type, tostring, math_type, error =
  ipairs, pairs, type, tostring, math.type, error
local string_format, string_byte, string_sub = string.format, string.byte, string.sub
local table_sort, table_concat = table.sort, table.concat
local io_open = io.open
local u64 = crit.u64

local diff = {}

---------------------------------------------------------------------------
-- Decoded entries, field by field.

local function sorted_keys(a, b)
  local seen, keys = {}, {}
  for _, t in ipairs({ a, b }) do
    if type(t) == "table" then
      for k in pairs(t) do
        if not seen[k] then
          seen[k] = true
          keys[#keys + 1] = k
        end
      end
    end
  end
  table_sort(keys, function(x, y)
    local tx, ty = type(x), type(y)
    if tx ~= ty then return tx == "number" end
    return x < y
  end)
  return keys
end

local function join(path, k)
  if math_type(k) == "integer" then return path .. "[" .. k .. "]" end
  if path == "" then return k end
  return path .. "." .. k
end

-- Walk a and b together and call found(path, old, new) at every leaf that
-- differs. The payload ("extra" of the entry itself) is compared as bytes
-- elsewhere.
local function walk(a, b, path, found, top)
  if type(a) == "table" or type(b) == "table" then
    if type(a) ~= type(b) and a ~= nil and b ~= nil then
      found(path, a, b)
      return
    end
    for _, k in ipairs(sorted_keys(a, b)) do
      if not (top and k == "extra") then
        walk(a and a[k], b and b[k], join(path, k), found)
      end
    end
    return
  end
  if a ~= b then found(path, a, b) end
end

--- entries(a, b) -> list of { path=, old=, new= }: every leaf field of two
--- decoded entries that differs (the payload, "extra", left out).
function diff.entries(a, b)
  local list = {}
  walk(a, b, "", function(path, old, new)
    list[#list + 1] = { path = path, old = old, new = new }
  end, true)
  return list
end

---------------------------------------------------------------------------
-- Images.

-- The first offset (0-based) where two strings differ, or nil.
local function first_difference(a, b)
  if a == b then return nil end
  local n = #a < #b and #a or #b
  local lo, step = 1, 4096
  while lo <= n do
    local hi = lo + step - 1
    if string_sub(a, lo, hi) ~= string_sub(b, lo, hi) then
      for i = lo, hi do
        if string_byte(a, i) ~= string_byte(b, i) then return i - 1 end
      end
    end
    lo = hi + 1
  end
  return n
end

local CHUNK = 1 << 20

-- Raw images compared a chunk at a time: a pages image can be huge.
local function raw_images(a, b, name, out)
  local sa, sb = a:file_size(), b:file_size()
  local n = sa < sb and sa or sb
  for off = 0, n - 1, CHUNK do
    local len = n - off < CHUNK and n - off or CHUNK
    local at = first_difference(a:slice(off, len), b:slice(off, len))
    if at then
      out[#out + 1] = { image = name, what = "bytes", old = sa, new = sb, offset = off + at }
      return
    end
  end
  if sa ~= sb then out[#out + 1] = { image = name, what = "bytes", old = sa, new = sb, offset = n } end
end

--- images(a, b [, name]) -> list of changes from image a to image b (crit
--- images, as crit.open gives them, edited or not). name labels the
--- changes (default: "image").
function diff.images(a, b, name, out)
  name = name or "image"
  out = out or {}
  if a.magic ~= b.magic then
    out[#out + 1] = { image = name, what = "header", path = "magic", old = a.magic, new = b.magic }
    return out
  end
  if a.raw_image or b.raw_image then
    raw_images(a, b, name, out)
    return out
  end
  if a.version ~= b.version then
    out[#out + 1] = { image = name, what = "header", path = "version", old = a.version, new = b.version }
  end
  local na, nb = #a, #b
  for k = 1, na < nb and na or nb do
    local ma, pa = a:raw(k)
    local mb, pb = b:raw(k)
    if ma ~= mb then
      local before = #out
      walk(a:entry(k), b:entry(k), "", function(path, old, new)
        out[#out + 1] = { image = name, entry = k, what = "changed", path = path, old = old, new = new }
      end, true)
      if #out == before then
        out[#out + 1] = { image = name, entry = k, what = "encoding", old = #ma, new = #mb }
      end
    end
    if pa ~= pb then
      out[#out + 1] = { image = name, entry = k, what = "payload", old = #pa, new = #pb }
    end
  end
  for k = nb + 1, na do out[#out + 1] = { image = name, entry = k, what = "removed" } end
  for k = na + 1, nb do out[#out + 1] = { image = name, entry = k, what = "added" } end
  return out
end

---------------------------------------------------------------------------
-- Directories.

-- Whether two files hold the same bytes, read a chunk at a time.
local function same_file(pa, pb)
  local fa, fb = io_open(pa, "rb"), io_open(pb, "rb")
  if not (fa and fb) then
    if fa then fa:close() end
    if fb then fb:close() end
    return false
  end
  local same = fa:seek("end") == fb:seek("end")
  fa:seek("set")
  fb:seek("set")
  while same do
    local ca, cb = fa:read(CHUNK), fb:read(CHUNK)
    if ca ~= cb then same = false end
    if not ca then break end
  end
  fa:close()
  fb:close()
  return same
end

local function open_dir(d)
  local opened, err = dirlib.of(d)
  if not opened then error(err, 0) end
  return opened
end

-- The file that holds the image as the dir object has it, or nil when
-- the object's image differs from its file (edited in memory, or set
-- by d:set_image, as crit.transform does before it writes).
local function image_path(d, name)
  if not d:unchanged(name) then return nil end
  return d:path_of(name)
end

--- dirs(a, b) -> list of changes from dump a to dump b (paths or crit.dir
--- objects; a missing directory raises). Images that are only in one side
--- are "added" or "removed"; the others are compared as files, then as
--- images with diff.images when their bytes differ. A dir object is taken
--- as it is in memory: images edited in it, or set and removed with
--- d:set_image, count (crit.transform's --dry-run diffs the original
--- against the transformed object before anything is written).
function diff.dirs(a, b)
  a, b = open_dir(a), open_dir(b)
  local in_a, in_b, names = {}, {}, {}
  for _, n in ipairs(a:names()) do in_a[n] = true; names[#names + 1] = n end
  for _, n in ipairs(b:names()) do
    in_b[n] = true
    if not in_a[n] then names[#names + 1] = n end
  end
  table_sort(names)
  local out = {}
  for _, name in ipairs(names) do
    if not in_b[name] then
      out[#out + 1] = { image = name, what = "removed" }
    elseif not in_a[name] then
      out[#out + 1] = { image = name, what = "added" }
    else
      local pa, pb = image_path(a, name), image_path(b, name)
      if not (pa and pb and same_file(pa, pb)) then
        local ia = assert(a:image(name))
        local ib = assert(b:image(name))
        diff.images(ia, ib, name, out)
      end
    end
  end
  return out
end

---------------------------------------------------------------------------
-- Text.

local function printable(s)
  return not s:find("[^\32-\126]")
end

--- value(v) -> how a value is printed. Strings quoted (bytes that are not
--- printable ASCII as "<N bytes: hex...>"); integers in decimal. Lua does
--- not know a field's protobuf type, so a negative integer is ambiguous:
--- one below -2^31 prints as the unsigned 64-bit number with its bits (no
--- int32 can hold it, and criu's int64 fields do not go that low); one in
--- -2^31..-1 prints signed with the unsigned reading after it:
--- "-10485760 (uint64 18446744073699065856)", [vsyscall]'s address.
--- Absent values print as "(absent)".
function diff.value(v)
  if v == nil then return "(absent)" end
  local t = type(v)
  if t == "string" then
    if printable(v) then return string_format("%q", v) end
    local hex = v:sub(1, 16):gsub(".", function(c) return string_format("%02x", string_byte(c)) end)
    return string_format("<%d bytes: %s%s>", #v, hex, #v > 16 and "..." or "")
  end
  if math_type(v) == "integer" then
    if v < -0x80000000 then return u64.tostring(v) end
    if v < 0 then return string_format("%d (uint64 %s)", v, u64.tostring(v)) end
    return string_format("%d", v)
  end
  if t == "table" then return "{...}" end
  return tostring(v)
end

--- format(change) -> one line: "IMAGE[ENTRY] PATH: OLD -> NEW",
--- "IMAGE: only in b", "IMAGE[ENTRY]: payload N bytes -> M bytes", ...
function diff.format(c)
  local where = c.image .. (c.entry and "[" .. c.entry .. "]" or "")
  local w = c.what
  if w == "added" then
    return where .. (c.entry and ": entry only in the second" or ": only in the second")
  elseif w == "removed" then
    return where .. (c.entry and ": entry only in the first" or ": only in the first")
  elseif w == "payload" then
    return string_format("%s: payload differs (%d bytes -> %d bytes)", where, c.old, c.new)
  elseif w == "encoding" then
    return string_format("%s: same fields, encoded differently (%d bytes -> %d bytes)", where, c.old, c.new)
  elseif w == "bytes" then
    return string_format("%s: bytes differ from offset %d (%d bytes -> %d bytes)", where, c.offset, c.old, c.new)
  end
  return string_format("%s %s: %s -> %s", where, c.path, diff.value(c.old), diff.value(c.new))
end

--- text(changes) -> the changes, a line each.
function diff.text(changes)
  local lines = {}
  for i, c in ipairs(changes) do lines[i] = diff.format(c) end
  return #lines > 0 and table_concat(lines, "\n") .. "\n" or ""
end

return diff
