-- The image object: a lazily decoded CRIU image. Entries stay wire bytes
-- until they are read; untouched entries are written back byte for byte.
local core = require "crit.core"

local math_type, setmetatable, type, error = math.type, setmetatable, type, error
local table_insert, table_remove = table.insert, table.remove

local Image = {}
local mt = {}

local function new(index, magic, header)
  local info = index and index:info()
  return setmetatable({
    _index = index,            -- crit.core index of the source bytes, or nil
    _magic = magic,
    _header = header,          -- the magic header, kept as it was read
    _n = not index and 0,      -- entry count; false until it is needed
    _raw = info and info.raw or false,
    _slots = {},               -- k -> table (read or set), or original index
    _moved = false,            -- entries were inserted or removed
    _name = info and info.name,
  }, mt)
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
local function size(self)
  local n = self._n
  if not n then
    n = self._index:count()
    self._n = n
  end
  return n
end

-- Whether position k holds an entry, indexing no further than k.
local function exists(self, k)
  if self._n then return k >= 1 and k <= self._n end
  return k >= 1 and self._index:has(k)
end

-- The original entry behind position k, or nil for a new entry.
local function origin(self, k)
  local v = self._slots[k]
  if type(v) == "table" then return nil end
  if v then return v end
  if not self._moved then return k end
  return nil
end

local function get(self, k)
  if not exists(self, k) then return nil end
  local v = self._slots[k]
  if type(v) == "table" then return v end
  local t = self._index:decode(origin(self, k))
  self._slots[k] = t
  return t
end

local function check_entry(v, what)
  if type(v) ~= "table" then
    error(what .. ": an entry must be a table, got " .. type(v), 3)
  end
end

-- From now on every slot says where its entry comes from.
local function materialize(self)
  if self._moved then return end
  local slots = self._slots
  for k = 1, size(self) do
    if slots[k] == nil then slots[k] = k end
  end
  self._moved = true
end

mt.__index = function(self, k)
  if math_type(k) == "integer" then return get(self, k) end
  if k == "magic" then return self._magic end
  if k == "raw_image" then return self._raw end
  if k == "version" then return #self._header == 8 and "1.1" or "1.0" end
  return Image[k]
end

mt.__newindex = function(self, k, v)
  if math_type(k) ~= "integer" then
    error("cannot set field '" .. tostring(k) .. "' of an image", 2)
  end
  local n = size(self)
  if k >= 1 and k <= n then
    check_entry(v, "img[" .. k .. "]")
    self._slots[k] = v
  elseif k == n + 1 then
    Image.append(self, v)
  else
    error("img[" .. k .. "]: index out of range (1.." .. n + 1 .. ")", 2)
  end
end

mt.__len = size

mt.__tostring = function(self)
  return ("crit image %s (%d entries)"):format(self._magic, size(self))
end

--- Append an entry table at the end.
function Image:append(entry)
  check_entry(entry, "append")
  self._n = size(self) + 1
  self._slots[self._n] = entry
  return self
end

--- insert([pos,] entry): like table.insert.
function Image:insert(pos, entry)
  if entry == nil then return self:append(pos) end
  if math_type(pos) ~= "integer" or pos < 1 or pos > size(self) + 1 then
    error("insert: position out of range", 2)
  end
  check_entry(entry, "insert")
  materialize(self)
  table_insert(self._slots, pos, entry)
  self._n = self._n + 1
  return self
end

--- remove(pos): remove entry pos (default: the last); returns it.
function Image:remove(pos)
  pos = pos or size(self)
  if math_type(pos) ~= "integer" or pos < 1 or pos > size(self) then
    error("remove: position out of range", 2)
  end
  local removed = get(self, pos)
  materialize(self)
  table_remove(self._slots, pos)
  self._n = self._n - 1
  return removed
end

-- entries() lets the mapped pages behind it go every DROP_EVERY entries
-- (only whole pages go: fewer entries would leave the pages they share).
local DROP_EVERY = 4096

--- Iterate (k, entry), decoding entries that were not read without
--- caching them: constant memory over huge images.
function Image:entries()
  local k, n = 0, size(self)
  -- Positions 1..indexed are the source's entries, in order.
  local index = not self._moved and self._index
  local indexed = index and index:count() or 0
  return function()
    k = k + 1
    if k > n then return nil end
    if k % DROP_EVERY == 0 and k <= indexed then index:drop(k - DROP_EVERY + 1, k - 1) end
    local v = self._slots[k]
    if type(v) == "table" then return k, v end
    return k, self._index:decode(origin(self, k))
  end
end

--- raw(k) -> message bytes, payload bytes of entry k, as they would be written.
function Image:raw(k)
  if math_type(k) ~= "integer" or not exists(self, k) then
    error("raw: entry index out of range", 2)
  end
  local from = origin(self, k)
  if from then return self._index:raw(from) end
  return core.encode_entry(self._magic, k, self._slots[k])
end

--- The whole file of a raw image (pages, tarballs), as a string.
function Image:bytes()
  if self._raw then return self._index:bytes() end
  return self:encode()
end

--- slice(offset, len) -> len bytes of a raw image from a 0-based offset,
--- without reading the rest (pages of a huge pages-N.img).
function Image:slice(offset, len)
  if not self._raw then error("slice: only raw images have plain bytes", 2) end
  return self._index:slice(offset, len)
end

--- Choose the header format: "1.1" (two magics, the default) or "1.0".
function Image:set_version(v)
  local fresh = core.header(self._magic)
  if v == "1.1" then
    self._header = fresh
  elseif v == "1.0" then
    self._header = fresh:sub(-4)
  else
    error("set_version: '1.0' or '1.1' expected", 2)
  end
end

-- The positions that hold tables, in order: few, even in a huge image.
local function touched(slots)
  local keys = {}
  for k, v in pairs(slots) do
    if type(v) == "table" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

-- Untouched entries go out in runs, one copy per run of original entries.
local function write_entries(self, out)
  local w = core.writer(self._magic, self._header, out)
  local slots, index, n = self._slots, self._index, size(self)
  if not self._moved then
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
  if self._raw then return self._index:bytes() end
  local out <close> = core.output()
  write_entries(self, out)
  return out:finish()
end

--- Write the image to path atomically: a temporary file in the same
--- directory, fsync, rename. On any error the old file is untouched.
function Image:write(path)
  local out <close> = core.output(path)
  if self._raw then
    out:write(self._index:bytes())
  else
    write_entries(self, out)
  end
  return out:finish()
end

return Image
