--- The image object: a lazily decoded CRIU image. Entries stay wire bytes
-- until they are read; untouched entries are written back byte for byte.
-- An image's state lives here, out of reach (pairs(img) shows nothing):
-- other modules use its methods.
local core = require "crit.core"

local math_type, setmetatable, type, error, pairs, ipairs, tostring, rawequal, pcall =
  math.type, setmetatable, type, error, pairs, ipairs, tostring, rawequal, pcall
local table_insert, table_remove, table_sort, table_unpack = table.insert, table.remove, table.sort,
  table.unpack
local next = next

local Image = {}
local mt = {}
local state = setmetatable({}, { __mode = "k" })  -- image -> its state

local function new(index, magic, header)
  local info = index and index:info()
  local img = setmetatable({}, mt)
  state[img] = {
    index = index,            -- crit.core index of the source bytes, or nil
    magic = magic,
    header = header,          -- the magic header, kept as it was read
    n = not index and 0,      -- entry count; false until it is needed
    raw = info and info.raw or false,
    slots = {},               -- k -> table (read or set), or original index
    moved = false,            -- entries were inserted or removed
    path = info and info.name,
    size = info and info.size,
    -- Set by anything that may make the image differ from its source:
    -- a write, or an entry handed out (img[k]) that the caller may edit.
    dirty = false,
    closed = false,
  }
  return img
end

-- The state of an open image; a closed one raises.
local function open_state(self)
  local s = state[self]
  if s.closed then error("crit image " .. tostring(s.magic) .. ": used after close()", 3) end
  return s
end

function Image.from_index(index)
  local info = index:info()
  return new(index, info.magic, info.header)
end

function Image.new(magic)
  return new(nil, magic, core.header(magic))
end

-- The number of entries; counting indexes the whole image, so it waits
-- until something needs it.
local function size(s)
  local n = s.n
  if not n then
    n = s.index:count()
    s.n = n
  end
  return n
end

-- Whether position k holds an entry, indexing no further than k.
local function exists(s, k)
  if s.n then return k >= 1 and k <= s.n end
  return k >= 1 and s.index:has(k)
end

-- The original entry behind position k, or nil for a new entry.
local function origin(s, k)
  local v = s.slots[k]
  if type(v) == "table" then return nil end
  if v then return v end
  if not s.moved then return k end
  return nil
end

-- Entry k, kept: the caller may edit it, so the image is dirty.
local function get(s, k)
  if not exists(s, k) then return nil end
  local v = s.slots[k]
  if type(v) ~= "table" then
    v = s.index:decode(origin(s, k))
    s.slots[k] = v
  end
  s.dirty = true
  return v
end

local function check_entry(v, what)
  if type(v) ~= "table" then
    error(what .. ": an entry must be a table, got " .. type(v), 3)
  end
end

-- From now on every slot says where its entry comes from.
local function materialize(s)
  if s.moved then return end
  local slots = s.slots
  for k = 1, size(s) do
    if slots[k] == nil then slots[k] = k end
  end
  s.moved = true
end

mt.__index = function(self, k)
  if math_type(k) == "integer" then return get(open_state(self), k) end
  local s = state[self]
  if k == "magic" then return s.magic end
  if k == "raw_image" then return s.raw end
  if k == "version" then return #s.header == 8 and "1.1" or "1.0" end
  return Image[k]
end

mt.__newindex = function(self, k, v)
  if math_type(k) ~= "integer" then
    error("cannot set field '" .. tostring(k) .. "' of an image", 2)
  end
  local s = open_state(self)
  local n = size(s)
  if k >= 1 and k <= n then
    check_entry(v, "img[" .. k .. "]")
    s.slots[k] = v
    s.dirty = true
  elseif k == n + 1 then
    Image.append(self, v)
  else
    error("img[" .. k .. "]: index out of range (1.." .. n + 1 .. ")", 2)
  end
end

mt.__len = function(self) return size(open_state(self)) end

mt.__tostring = function(self)
  local s = state[self]
  if s.closed then return ("crit image %s (closed)"):format(s.magic) end
  return ("crit image %s (%d entries)"):format(s.magic, size(s))
end

--- Append an entry table at the end.
-- A raw image (pages-N.img) is bytes, not entries: adding one would be
-- dropped when it is written.
local function check_not_raw(s, what)
  if s.raw then
    error(what .. ": " .. tostring(s.path or s.magic) .. " is a raw image: it has bytes, not entries", 3)
  end
end

function Image:append(entry)
  check_entry(entry, "append")
  local s = open_state(self)
  check_not_raw(s, "append")
  s.n = size(s) + 1
  s.slots[s.n] = entry
  s.dirty = true
  return self
end

--- insert([pos,] entry): like table.insert.
function Image:insert(pos, entry)
  if entry == nil then return self:append(pos) end
  local s = open_state(self)
  if math_type(pos) ~= "integer" or pos < 1 or pos > size(s) + 1 then
    error("insert: position out of range", 2)
  end
  check_entry(entry, "insert")
  check_not_raw(s, "insert")
  materialize(s)
  table_insert(s.slots, pos, entry)
  s.n = s.n + 1
  s.dirty = true
  return self
end

--- remove(pos): remove entry pos (default: the last); returns it.
function Image:remove(pos)
  local s = open_state(self)
  pos = pos or size(s)
  if math_type(pos) ~= "integer" or pos < 1 or pos > size(s) then
    error("remove: position out of range", 2)
  end
  local removed = get(s, pos)
  materialize(s)
  table_remove(s.slots, pos)
  s.n = s.n - 1
  s.dirty = true
  return removed
end

-- entries() lets the mapped pages behind it go every DROP_EVERY entries
-- (only whole pages go: fewer entries would leave the pages they share).
local DROP_EVERY = 4096

--- Iterate (k, entry), decoding entries that were not read without
--- caching them: constant memory over huge images.
--- entries{ reuse = true }: an entry not read before is decoded into one
--- table, emptied and refilled at each step (no table made, none to
--- collect: the loop runs as fast as decoding to JSON). Such an entry is
--- only good until the next step: copy what you keep.
function Image:entries(opts)
  local s = open_state(self)
  local k, n = 0, size(s)
  -- Positions 1..indexed are the source's entries, in order.
  local index = not s.moved and s.index
  local indexed = index and index:count() or 0
  local slots, source = s.slots, s.index
  local reused = opts and opts.reuse and {} or nil
  return function()
    k = k + 1
    if k > n then return nil end
    if k % DROP_EVERY == 0 and k <= indexed then index:drop(k - DROP_EVERY + 1, k - 1) end
    local v = slots[k]
    if v == nil and index then return k, index:decode(k, reused) end
    if type(v) == "table" then return k, v end
    return k, source:decode(origin(s, k), reused)
  end
end

--- fields(name, ...) -> an iterator of k and the values of those fields
--- of each entry (nil where an entry has none): `for k, vaddr, nr in
--- img:fields("vaddr", "nr_pages") do`. No table is made per entry: over
--- an image nobody read or changed, the values come straight from its
--- bytes, as fast as decoding it to JSON. At most 16 names, none of a
--- repeated field; "extra" is not a field.
function Image:fields(...)
  local s = open_state(self)
  local names = { ... }
  if not s.moved and s.index and next(s.slots) == nil then
    return s.index:fields(1, names)
  end
  local it, n = self:entries(), #names
  return function()
    local k, e = it()
    if k == nil then return nil end
    local values = {}
    for i = 1, n do values[i] = e[names[i]] end
    return k, table_unpack(values, 1, n)
  end
end

--- entry(k [, without]) -> entry k, or nil: the table img[k] would give,
--- but an entry not read before is decoded afresh and not kept (changes to
--- it are not written, and the image stays unchanged). For reading only.
--- `without` names a repeated field that such an entry leaves out (mm's
--- "vmas": read them with items()).
function Image:entry(k, without)
  local s = open_state(self)
  if math_type(k) ~= "integer" or not exists(s, k) then return nil end
  local v = s.slots[k]
  if type(v) == "table" then return v end
  return s.index:decode(origin(s, k), nil, without)
end

--- items(k, field, name, ...) -> an iterator of j and the values of those
--- fields of element j of the repeated message field `field` of entry k
--- (nil where an element has none): `for j, s, e in img:items(1, "vmas",
--- "start", "end") do`. Over an entry nobody read, straight from its
--- bytes: the list is never made, whatever its length. At most 16 names,
--- none of a repeated field.
function Image:items(k, field, ...)
  local s = open_state(self)
  if math_type(k) ~= "integer" or not exists(s, k) then error("items: entry index out of range", 2) end
  local names = { ... }
  local v = s.slots[k]
  if type(v) ~= "table" then return s.index:items(origin(s, k), field, names) end
  local list, j, n = v[field] or {}, 0, #names
  return function()
    j = j + 1
    local e = list[j]
    if e == nil then return nil end
    local values = {}
    for i = 1, n do values[i] = e[names[i]] end
    return j, table_unpack(values, 1, n)
  end
end

--- raw(k) -> message bytes, payload bytes of entry k, as they would be written.
function Image:raw(k)
  local s = open_state(self)
  if math_type(k) ~= "integer" or not exists(s, k) then
    error("raw: entry index out of range", 2)
  end
  local from = origin(s, k)
  if from then return s.index:raw(from) end
  return core.encode_entry(s.magic, k, s.slots[k])
end

--- The whole file of a raw image (pages, tarballs), as a string.
function Image:bytes()
  local s = open_state(self)
  if s.raw then return s.index:bytes() end
  return self:encode()
end

--- slice(offset, len) -> len bytes of a raw image from a 0-based offset,
--- without reading the rest (pages of a huge pages-N.img).
function Image:slice(offset, len)
  local s = open_state(self)
  if not s.raw then error("slice: only raw images have plain bytes", 2) end
  return s.index:slice(offset, len)
end

--- copy_to(out, offset, len): len bytes of a raw image from a 0-based
--- offset into a crit.core output, straight from the mapped file (core
--- files copy gigabytes of pages this way, without a Lua string).
function Image:copy_to(out, offset, len)
  local s = open_state(self)
  if not s.raw then error("copy_to: only raw images have plain bytes", 2) end
  out:copy_from(s.index, offset, len)
end

--- file_size() -> the size in bytes of the file (or bytes) the image was
--- read from, as it is there; nil for a new image.
function Image:file_size()
  return open_state(self).size
end

--- path() -> the file the image was read from (as crit.open was given it),
--- or nil (a new image, or one loaded from bytes: then its name).
function Image:path()
  return state[self].path
end

--- Choose the header format: "1.1" (two magics, the default) or "1.0".
function Image:set_version(v)
  local s = open_state(self)
  local fresh = core.header(s.magic)
  if v == "1.1" then
    s.header = fresh
  elseif v == "1.0" then
    s.header = fresh:sub(-4)
  else
    error("set_version: '1.0' or '1.1' expected", 2)
  end
  s.dirty = true
end

-- The positions that hold tables, in order: few, even in a huge image.
local function touched(slots)
  local keys = {}
  for k, v in pairs(slots) do
    if type(v) == "table" then keys[#keys + 1] = k end
  end
  table_sort(keys)
  return keys
end

-- Untouched entries go out in runs, one copy per run of original entries.
local function write_entries(s, out)
  local w = core.writer(s.magic, s.header, out)
  local slots, index, n = s.slots, s.index, size(s)
  if not s.moved then
    local k = 1
    for _, t in ipairs(touched(slots)) do
      if t > k then w:copy_range(index, k, t - 1) end
      w:encode(slots[t])
      k = t + 1
    end
    if k <= n then w:copy_range(index, k, n) end
    return
  end
  local k = 1
  while k <= n do
    local v = slots[k]
    if type(v) == "table" then
      w:encode(v)
      k = k + 1
    else
      local j = k
      while j < n and slots[j + 1] == v + (j + 1 - k) do j = j + 1 end
      w:copy_range(index, v, v + (j - k))
      k = j + 1
    end
  end
end

--- The image as bytes.
function Image:encode()
  local s = open_state(self)
  if s.raw then return s.index:bytes() end
  local out <close> = core.output()
  write_entries(s, out)
  return out:finish()
end

--- Write the image to path atomically: a temporary file in the same
--- directory, fsync, rename. On any error the old file is untouched. The
--- file keeps the mode and owner of the one it replaces (or of opts.like,
--- the file it stands for); a new raw image (process memory) is 0600.
--- opts.name: what errors call the file (path by default).
function Image:write(path, opts)
  local s = open_state(self)
  if type(path) ~= "string" then
    error("write: a path expected, got " .. type(path) .. " (encode() gives the bytes)", 2)
  end
  local out <close> = core.output(path, { like = opts and opts.like, private = s.raw,
                                          name = opts and opts.name })
  if s.raw then
    out:copy_from(s.index, 0, s.size)
  else
    write_entries(s, out)
  end
  return out:finish()
end

---------------------------------------------------------------------------
-- Comparing without encoding whole images: an entry at a time, a chunk of
-- a raw image at a time.

local CHUNK = 1 << 20

local function same_raw(a, b)
  if a.size ~= b.size then return false end
  for off = 0, a.size - 1, CHUNK do
    local len = a.size - off < CHUNK and a.size - off or CHUNK
    if a.index:slice(off, len) ~= b.index:slice(off, len) then return false end
  end
  return true
end

-- Whether entry k of img has the bytes of entry j of a crit.core index.
-- An entry that cannot be encoded differs (writing it reports why).
local function same_entry(img, k, index, j)
  local ok, ma, pa = pcall(img.raw, img, k)
  if not ok then return false end
  local mb, pb = index:raw(j)
  return ma == mb and pa == pb
end

--- unchanged() -> whether the image would be written as the bytes it was
--- read from. An image no entry was handed out of (img[k]; entries() and
--- entry() do not count) and nothing was written to is unchanged at no
--- cost; otherwise the entries that may differ are encoded and compared
--- with the source's, one at a time (an image changed and changed back is
--- unchanged). A new image is not.
function Image:unchanged()
  local s = open_state(self)
  local index = s.index
  if not index then return false end
  if not s.dirty or s.raw then return true end
  if s.header ~= index:info().header or size(s) ~= index:count() then return false end
  if s.moved then
    for k = 1, s.n do
      if s.slots[k] ~= k and not same_entry(self, k, index, k) then return false end
    end
    return true
  end
  for k, v in pairs(s.slots) do
    if type(v) == "table" and not same_entry(self, k, index, k) then return false end
  end
  return true
end

--- same(other) -> whether two images would be written as the same bytes,
--- compared an entry (or, raw, a chunk) at a time: constant memory.
function Image:same(other)
  if rawequal(self, other) then return true end
  local a, b = open_state(self), open_state(other)
  if a.magic ~= b.magic or a.raw ~= b.raw then return false end
  if a.raw then return same_raw(a, b) end
  if a.header ~= b.header or size(a) ~= size(b) then return false end
  for k = 1, a.n do
    local ok, ma, pa = pcall(self.raw, self, k)
    if not ok then return false end
    local mb, pb = other:raw(k)
    if ma ~= mb or pa ~= pb then return false end
  end
  return true
end

--- close(): let the source bytes go (the mapping is unmapped); the image
--- raises if used again. Also `local img <close> = crit.open(...)`.
function Image:close()
  local s = state[self]
  if s.closed then return end
  s.closed = true
  if s.index then s.index:close() end
end
mt.__close = Image.close

return Image
