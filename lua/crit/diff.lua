--- What changed between two checkpoint directories, or two images: a list of
-- changes, each an image, an entry and a field path with its old and new
-- value. Fast on untouched images: whole files, then each entry's raw bytes,
-- are compared first; only entries whose bytes differ are decoded.
--
-- What belongs together is paired before it is compared, so that a removal
-- is one change and two dumps of the same program differ only where they
-- do: entries by their identity (diff.KEYS: a file by its id, an fd by its
-- number, a pagemap entry by its address ...), list elements the same way
-- (diff.LIST_KEYS: an mm's VMAs by their start), and the tasks of two dumps
-- by pid, or, when the pids differ, by their place in the process tree and
-- their comm; then each task's images (core-PID, mm-PID, fdinfo-N,
-- pages-N ...) are compared with its partner's.
--
--   local changes = diff.dirs("dump", "dump.new")    -- paths or crit.dir objects
--   for _, c in ipairs(changes) do print(diff.format(c)) end
--   local changes = diff.images(img_a, img_b, "core-1")  -- crit images
--
-- A change is a table:
--   image   the image name, without ".img" ("core-1", "stats-dump"); when
--           the images of a task have other names in b, "core-30956/8139"
--           and image_b is b's name ("core-8139").
--   what    "added"    the image (or, with entry, the entry; with path too,
--                      the list element) is only in b;
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
--           "header"   the image's header: path "magic" or "version";
--           "task"     (image "pstree") a task has another pid in b: old,
--                      new are the pids, comm its name.
--   entry   the entry's position, 1-based as img[k] (nil for a whole image):
--           in a, or in b for an entry only in b; entry_b its position in
--           b when that is another.
--   key     how the entry (or list element) was paired: a list of
--           { field, value }, as { { "fd", 3 } }; nil when by position.
--   path    the field: "tc.comm", "vmas[3].start" (1-based list indexes,
--           of a's list; of b's for an element only in b).
--   old, new  the values as Lua has them: 64-bit integers keep their bits
--           (see diff.value for how they are printed).
-- Changes come sorted by image name, then entry, then path.
local crit = require "crit"
local dirlib = require "crit.dir"
local layout = require "crit.layout"
local json = require "crit.json"

local ipairs, pairs, next, type, tostring, tonumber, math_type, error, pcall =
  ipairs, pairs, next, type, tostring, tonumber, math.type, error, pcall
local string_format, string_byte, string_sub = string.format, string.byte, string.sub
local table_sort, table_concat, table_pack, table_unpack = table.sort, table.concat, table.pack, table.unpack
local select = select
local io_open = io.open
local u64 = crit.u64

local diff = {}

---------------------------------------------------------------------------
-- Identity: what pairs entries, list elements and images.

--- diff.KEYS[magic] -> the fields that name an entry of an image of that
--- type (dotted for a nested field): entries with the same values are the
--- same thing, wherever they are. Types not here are paired by position.
--- Where several entries share a key (sk-queues: the packets of a socket),
--- they pair in their order.
--- `moves = true`: the key is an address, which moves from run to run;
--- elements left unpaired pair in their order (see pair_lists).
diff.KEYS = {
  PSTREE = { "pid" }, FDINFO = { "fd" },
  PAGEMAP = { "vaddr", moves = true }, VMAS = { "start", moves = true },
  -- files, in files.img and in the per-type images of older dumps
  FILES = { "id" }, REG_FILES = { "id" }, EXT_FILES = { "id" }, PIPES = { "id" },
  FIFO = { "id" }, EVENTFD_FILE = { "id" }, EVENTPOLL_FILE = { "id" }, SIGNALFD = { "id" },
  INOTIFY_FILE = { "id" }, FANOTIFY_FILE = { "id" }, TTY_FILES = { "id" }, NS_FILES = { "id" },
  TUNFILE = { "id" }, TIMERFD = { "id" }, BPFMAP_FILE = { "id" }, PIDFD = { "id" },
  PACKETSK = { "id" }, EVENTPOLL_TFD = { "id", "tfd" }, INOTIFY_WD = { "id", "wd" },
  FANOTIFY_MARK = { "id" }, MEMFD_INODE = { "inode_id" },
  -- sockets by inode
  UNIXSK = { "ino" }, INETSK = { "ino" }, NETLINK_SK = { "ino" },
  -- data that follows a file or a socket
  PIPES_DATA = { "pipe_id" }, FIFO_DATA = { "pipe_id" }, SK_QUEUES = { "id_for" },
  TTY_INFO = { "id" }, TTY_DATA = { "tty_id" }, REMAP_FPATH = { "orig_id" },
  -- namespaces
  MNTS = { "mnt_id" }, NETDEV = { "ifindex" },
  IPCNS_SHM = { "desc.id" }, IPCNS_SEM = { "desc.id" }, IPCNS_MSG = { "desc.id" },
}

--- diff.LIST_KEYS[field] -> the fields that name an element of a repeated
--- field of that name, inside an entry: the VMAs of an mm by their start.
diff.LIST_KEYS = { vmas = { "start", moves = true } }

--- diff.TASK_IMAGES[kind] -> whether images of that kind are named after a
--- task or thread id ("core-30956"): paired through the task pairing.
diff.TASK_IMAGES = {
  core = true, fs = true, ids = true, mm = true, pagemap = true, vmas = true, creds = true,
  sigacts = true, itimers = true, ["posix-timers"] = true, rlimit = true, ["signal-p"] = true,
  ["signal-s"] = true,
}

local function field_at(t, dotted)
  for part in dotted:gmatch("[^.]+") do
    if type(t) ~= "table" then return nil end
    t = t[part]
  end
  return t
end

-- The key of t under the fields, as a list of { field, value } and as an
-- id to index by (the value of a single field, else the values joined in
-- a string); nil when a field is missing.
local function key_of(t, fields)
  local key, words = {}, {}
  for i, f in ipairs(fields) do
    local v = field_at(t, f)
    if v == nil or type(v) == "table" then return nil end
    key[i] = { f, v }
    words[i] = type(v) .. ":" .. tostring(v)
  end
  if #fields == 1 then return key, key[1][2] end
  return key, table_concat(words, "\0")
end

-- The pairs by id: partner[i] (false: none) and taken[j] (true: paired,
-- false: not, 0: not and without id), and how many pairs.
local function pair_by_id(keys_a, keys_b)
  -- b's first position with each id, and after each position the next
  -- one with its id
  local first, last, after, taken = {}, {}, {}, {}
  for j, id in keys_b() do
    if id == nil then
      taken[j] = 0
    else
      taken[j] = false
      local prev = last[id]
      if prev then after[prev] = j else first[id] = j end
      last[id] = j
    end
  end
  local partner, paired = {}, 0
  for i, id in keys_a() do
    local j
    if id == nil then
      if taken[i] == 0 then j = i end
    else
      j = first[id]
      if j then first[id] = after[j] end
    end
    partner[i] = j or false
    if j then taken[j], paired = true, paired + 1 end
  end
  return partner, taken, paired
end

-- Pair the elements of two lists: calls same(i, j, key) for each pair,
-- only_a(i, key) and only_b(j, key) for the others, a's first. keys_a(),
-- keys_b() -> an iterator of each element's position, id and key (the
-- list of { field, value } it is shown with), in order; the id is what
-- pairs (a value, or the values joined in a string), nil: by position.
-- Where several elements share an id, they pair in their order.
-- `moves`: the keys are addresses, which move from run to run (ASLR):
-- when as many elements of each side are left unpaired, they pair in
-- their order, and their fields say what moved.
-- Only integers per element are kept, whatever the lists' length: b's
-- positions chained by id, and the pairs; the keys are read again.
local function pair_lists(na, nb, keys_a, keys_b, same, only_a, only_b, moves)
  local partner, taken, paired = pair_by_id(keys_a, keys_b)
  local left_a, left_b = na - paired, nb - paired
  if moves and left_a > 0 and left_a == left_b then
    local j = 0
    for i = 1, na do
      if not partner[i] then
        repeat j = j + 1 until taken[j] ~= true
        partner[i], taken[j] = j, true
      end
    end
  end
  for i, _, key in keys_a() do
    if partner[i] then same(i, partner[i], key) else only_a(i, key) end
  end
  for j, _, key in keys_b() do
    if taken[j] ~= true then only_b(j, key) end
  end
end

-- table_keys(n, at, fields) -> for pair_lists, the keys of elements 1..n, at(k)
-- giving element k (a table).
local function table_keys(n, at, fields)
  return function()
    local k = 0
    return function()
      k = k + 1
      if k > n then return nil end
      local key, id = key_of(at(k), fields)
      return k, id, key
    end
  end
end

---------------------------------------------------------------------------
-- Decoded entries, field by field.

local function sorted_keys(a, b)
  local seen, keys = {}, {}
  for i = 1, 2 do -- not ipairs: a may be nil (a list only the second side has)
    local t = i == 1 and a or b
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

local function is_list(t)
  return type(t) == "table" and (t[1] ~= nil or next(t) == nil)
end

-- Walk a and b together and call found(path, old, new) at every leaf that
-- differs, and found(path, nil, nil, what, key) for a list element only in
-- one side. The payload ("extra" of the entry itself) is compared as bytes
-- elsewhere. `name`: the field a and b are the value of.
local walk

local function walk_keyed_list(a, b, path, found, fields)
  pair_lists(#a, #b,
    table_keys(#a, function(i) return a[i] end, fields),
    table_keys(#b, function(j) return b[j] end, fields),
    function(i, j) walk(a[i], b[j], join(path, i), found) end,
    function(i, key) found(join(path, i), nil, nil, "removed", key) end,
    function(j, key) found(join(path, j), nil, nil, "added", key) end,
    fields.moves)
end

walk = function(a, b, path, found, top, name)
  if type(a) == "table" or type(b) == "table" then
    if type(a) ~= type(b) and a ~= nil and b ~= nil then
      found(path, a, b)
      return
    end
    local fields = name and diff.LIST_KEYS[name]
    -- a list one side lacks (an empty repeated field reads as nil) is an empty one
    if fields and (a == nil or is_list(a)) and (b == nil or is_list(b)) then
      walk_keyed_list(a or {}, b or {}, path, found, fields)
      return
    end
    for _, k in ipairs(sorted_keys(a, b)) do
      if not (top and k == "extra") then
        walk(a and a[k], b and b[k], join(path, k), found, false,
          math_type(k) == "integer" and name or k)
      end
    end
    return
  end
  if a ~= b then found(path, a, b) end
end

--- entries(a, b) -> list of { path=, old=, new= }: every leaf field of two
--- decoded entries that differs (the payload, "extra", left out); list
--- elements only in one side (diff.LIST_KEYS) as { path=, what=, key= }.
function diff.entries(a, b)
  local list = {}
  walk(a, b, "", function(path, old, new, what, key)
    list[#list + 1] = { path = path, old = old, new = new, what = what, key = key }
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

--- diff.PID_FIELDS[magic] -> the fields of entries of that type that hold
--- a task's id: compared through the task pairing, so that a task with
--- another pid in b is not a change there.
diff.PID_FIELDS = {
  PSTREE = { "pid", "ppid", "pgid", "sid", "threads" },
  FILE_LOCKS = { "pid" },
}

-- A copy of entry e of a with its task ids as b has them (tids: tid in a
-- -> tid in b).
local function with_tids(e, fields, tids)
  local r = {}
  for k, v in pairs(e) do r[k] = v end
  for _, f in ipairs(fields) do
    local v = r[f]
    if math_type(v) == "integer" then
      r[f] = tids[v] or v
    elseif type(v) == "table" then
      local list = {}
      for i, t in ipairs(v) do list[i] = tids[t] or t end
      r[f] = list
    end
  end
  return r
end

-- Entry k of image img as compared: a's task ids renamed to b's.
local function entry_of(img, k, ctx)
  local e = img:entry(k)
  local fields = ctx and ctx.tids and diff.PID_FIELDS[img.magic]
  if fields and e then return with_tids(e, fields, ctx.tids) end
  return e
end

--- diff.STREAMED[magic] -> the repeated field of entries of that type
--- that can be huge (an mm's VMAs: a million of them in 9 MB), and the
--- fields of its elements: read from the bytes an element at a time, not
--- decoded as a table each.
diff.STREAMED = { MM = { list = "vmas", fields = dirlib.VMA_FIELDS } }

-- Whether the elements of list `list` of entry i of a and entry j of b
-- have the same keys in the same order: then the keyed pairing (pair_lists)
-- pairs them by position.
local function same_keys_in_order(a, b, i, j, list, field)
  local next_b = b:items(j, list, field)
  for _, ka in a:items(i, list, field) do
    local at, kb = next_b()
    if not at or ka ~= kb then return false end
  end
  return next_b() == nil
end

-- The fields of the streamed list, sorted: the order walk visits them.
local function sorted_fields(spec)
  local names = {}
  for n, f in ipairs(spec.fields) do names[n] = f end
  table_sort(names)
  return names
end

-- An items() iterator's values into `to` (n of them); its element number.
local function take(to, n, k, ...)
  for m = 1, n do to[m] = select(m, ...) end
  return k
end

-- Elements of the streamed list compared by position, field by field in
-- the order walk visits them: found(path, old, new) for each that differs.
local function walk_streamed_list(a, b, i, j, spec, found)
  local names = sorted_fields(spec)
  local next_b = b:items(j, spec.list, table_unpack(names))
  local values_a, values_b = {}, {}
  local it_a = a:items(i, spec.list, table_unpack(names))
  while take(values_a, #names, it_a()) do
    local k = take(values_b, #names, next_b())
    for n = 1, #names do
      if values_a[n] ~= values_b[n] then
        found(join(join(spec.list, k), names[n]), values_a[n], values_b[n])
      end
    end
  end
end

-- For pair_lists, the keys of the streamed list of entry k, one field.
local function item_keys(img, k, list, field)
  return function()
    local it = img:items(k, list, field)
    return function()
      local n, v = it()
      if n == nil then return nil end
      if v == nil then return n end
      return n, v, { { field, v } }
    end
  end
end

local function count(it)
  local n = 0
  for _ in it() do n = n + 1 end
  return n
end

-- The changes of the streamed list paired by its key (pair_lists, as
-- walk_keyed_list pairs them), read as they come: a list of
-- table.pack(found's arguments), or nil when b's partners do not come in
-- order (elements moved past each other) or one side has none: then the
-- decoded entries are walked.
local function streamed_keyed_changes(a, b, i, j, spec, field)
  local names = sorted_fields(spec)
  local values_a, values_b = {}, {}
  local it_a = a:items(i, spec.list, table_unpack(names))
  local it_b = b:items(j, spec.list, table_unpack(names))
  local at_b, in_order, changes = 0, true, {}
  local function add(...) changes[#changes + 1] = table_pack(...) end
  local keys_a, keys_b = item_keys(a, i, spec.list, field), item_keys(b, j, spec.list, field)
  local na, nb = count(keys_a), count(keys_b)
  -- a list on one side only (an empty one is absent): walk's way
  if na == 0 or nb == 0 then return nil end
  pair_lists(na, nb, keys_a, keys_b,
    function(ia, jb)
      take(values_a, #names, it_a())
      if jb <= at_b then in_order = false end
      if not in_order then return end
      repeat at_b = take(values_b, #names, it_b()) until at_b == jb or at_b == nil
      if not at_b then in_order = false; return end
      for n = 1, #names do
        if values_a[n] ~= values_b[n] then
          add(join(join(spec.list, ia), names[n]), values_a[n], values_b[n])
        end
      end
    end,
    function(ia, key)
      take(values_a, #names, it_a())
      add(join(spec.list, ia), nil, nil, "removed", key)
    end,
    function(jb, key) add(join(spec.list, jb), nil, nil, "added", key) end,
    diff.LIST_KEYS[spec.list].moves)
  return in_order and changes or nil
end

-- Walk entry i of a and entry j of b as walk does, the streamed list (if
-- any) read an element at a time: compared by position when its elements
-- pair so, else paired by key as they come; the entries whole when the
-- pairs do not come in order.
local function walk_entries(a, b, i, j, ctx, found)
  local spec = diff.STREAMED[a.magic]
  local keys = spec and diff.LIST_KEYS[spec.list]
  local list_changes -- nil: compared by position
  if spec and #keys == 1 and not same_keys_in_order(a, b, i, j, spec.list, keys[1]) then
    list_changes = streamed_keyed_changes(a, b, i, j, spec, keys[1])
    if not list_changes then spec = nil end
  end
  if not (spec and #keys == 1) then
    walk(entry_of(a, i, ctx), b:entry(j), "", found, true)
    return
  end
  -- the head's changes sorted around the list's, as walk sorts the fields
  local after = {}
  -- (an entry read and kept has its list: it is left to the stream)
  walk(a:entry(i, spec.list), b:entry(j, spec.list), "", function(path, ...)
    local top = path:match("^[^.%[]+")
    if top < spec.list then
      found(path, ...)
    elseif top > spec.list then
      after[#after + 1] = table_pack(path, ...)
    end
  end, true)
  if list_changes then
    for _, c in ipairs(list_changes) do found(table_unpack(c, 1, c.n)) end
  else
    walk_streamed_list(a, b, i, j, spec, found)
  end
  for _, c in ipairs(after) do found(table_unpack(c, 1, c.n)) end
end

-- Compare entry i of a with entry j of b (keyed: how they were paired).
-- Whether the message bytes of entry i of a and entry j of b differ, and
-- their payloads, with their sizes: what compare_entries keeps of them (an
-- mm's bytes may be 9 MB a side).
local function raw_differences(a, b, i, j)
  local ma, pa = a:raw(i)
  local mb, pb = b:raw(j)
  return ma ~= mb, #ma, #mb, pa ~= pb, #pa, #pb
end

local function compare_entries(a, b, i, j, name, out, ctx, key)
  local message_differs, size_a, size_b, payload_differs, payload_a, payload_b = raw_differences(a, b, i, j)
  local base = { image = name, image_b = ctx and ctx.image_b, entry = i,
    entry_b = i ~= j and j or nil, key = key }
  local function add(fields)
    local c = {}
    for k, v in pairs(base) do c[k] = v end
    for k, v in pairs(fields) do c[k] = v end
    out[#out + 1] = c
  end
  local renamed = ctx and ctx.tids and diff.PID_FIELDS[a.magic]
  if message_differs or renamed then
    local before = #out
    walk_entries(a, b, i, j, ctx, function(path, old, new, what, ekey)
      add({ what = what or "changed", path = path, old = old, new = new, key = ekey or key })
    end)
    if #out == before and message_differs and not renamed then
      add({ what = "encoding", old = size_a, new = size_b })
    end
  end
  if payload_differs then add({ what = "payload", old = payload_a, new = payload_b }) end
end

-- Whether pairing by position gives the same pairs as the keys would: the
-- same number of entries, and the entries whose bytes differ have the
-- same key. Then huge images that differ in a few entries decode those.
local function positions_agree(a, b, fields, ctx)
  local n = #a
  if n ~= #b then return false end
  for k = 1, n do
    if a:raw(k) ~= b:raw(k) then
      local _, ka = key_of(entry_of(a, k, ctx), fields)
      local _, kb = key_of(b:entry(k), fields)
      if ka ~= kb then return false end
    end
  end
  return true
end

-- For pair_lists, the keys of the entries of img after the first `skip`.
-- A key of one field, not renamed by the task pairing, is read from the
-- bytes (img:fields): no entry is decoded.
local function image_keys(img, skip, fields, ctx)
  local renamed = ctx and ctx.tids and diff.PID_FIELDS[img.magic]
  if #fields > 1 or fields[1]:find(".", 1, true) or renamed then
    return table_keys(#img - skip, function(k) return entry_of(img, k + skip, ctx) end, fields)
  end
  local field = fields[1]
  return function()
    local it = img:fields(field)
    for _ = 1, skip do it() end
    return function()
      local k, v = it()
      if k == nil then return nil end
      if v == nil or type(v) == "table" then return k - skip end
      return k - skip, v, { { field, v } }
    end
  end
end

--- images(a, b [, name [, out [, ctx]]]) -> list of changes from image a to
--- image b (crit images, as crit.open gives them, edited or not). name
--- labels the changes (default: "image"); out: a list to append them to.
--- Entries are paired by diff.KEYS. ctx (from diff.dirs): tids, the task
--- pairing, and image_b, b's name of the image.
function diff.images(a, b, name, out, ctx)
  name = name or "image"
  out = out or {}
  local image_b = ctx and ctx.image_b
  if a.magic ~= b.magic then
    out[#out + 1] = { image = name, image_b = image_b, what = "header", path = "magic",
      old = a.magic, new = b.magic }
    return out
  end
  if a.raw_image or b.raw_image then
    raw_images(a, b, name, out)
    if image_b and out[#out] and out[#out].image == name then out[#out].image_b = image_b end
    return out
  end
  if a.version ~= b.version then
    out[#out + 1] = { image = name, image_b = image_b, what = "header", path = "version",
      old = a.version, new = b.version }
  end
  local fields = diff.KEYS[a.magic]
  local na, nb = #a, #b
  if a.magic == "PAGEMAP" and na > 0 and nb > 0 then
    -- the head first, by position; the entries by address after it
    compare_entries(a, b, 1, 1, name, out, ctx)
  end
  if not fields or positions_agree(a, b, fields, ctx) then
    for k = (a.magic == "PAGEMAP" and 2 or 1), na < nb and na or nb do
      compare_entries(a, b, k, k, name, out, ctx)
    end
    for k = nb + 1, na do out[#out + 1] = { image = name, image_b = image_b, entry = k, what = "removed" } end
    for k = na + 1, nb do out[#out + 1] = { image = name, image_b = image_b, entry = k, what = "added" } end
    return out
  end
  local first = a.magic == "PAGEMAP" and 1 or 0
  pair_lists(na - first, nb - first, image_keys(a, first, fields, ctx), image_keys(b, first, fields),
    function(i, j, key) compare_entries(a, b, i + first, j + first, name, out, ctx, key) end,
    function(i, key)
      out[#out + 1] = { image = name, image_b = image_b, entry = i + first, what = "removed", key = key }
    end,
    function(j, key)
      out[#out + 1] = { image = name, image_b = image_b, entry = j + first, what = "added", key = key }
    end,
    fields.moves)
  return out
end

---------------------------------------------------------------------------
-- Tasks: which task of b each task of a is.

local function comm_of(t)
  local ok, comm = pcall(function() return t.comm end)
  return ok and comm or nil
end

-- Pair the tasks of the two trees by their place and comm: the roots in
-- order, then the children of each pair, each with the next child of the
-- partner that has its comm. Breadth first: no recursion on a deep tree.
local function pair_by_tree(ta, tb, partner)
  local used = {}
  local queue, head = { { ta.roots or {}, tb.roots or {} } }, 1
  while queue[head] do
    local la, lb = queue[head][1], queue[head][2]
    head = head + 1
    local from = 1
    for _, x in ipairs(la) do
      local cx = comm_of(x)
      for j = from, #lb do
        local y = lb[j]
        if not used[y] and comm_of(y) == cx then
          partner[x], used[y] = y, true
          from = j + 1
          queue[#queue + 1] = { x.children or {}, y.children or {} }
          break
        end
      end
    end
  end
  return used
end

--- tasks(a, b) -> { [task of a] = task of b }, and tids: { [tid in a] =
--- tid in b } for the threads of the pairs whose ids differ (nil when none
--- does). By pid when both dumps have the same pids; otherwise by the
--- place in the tree and the comm, then by pid for what is left. nil when
--- a dump has no process tree (a directory of a few images).
function diff.tasks(a, b)
  local oka, ta = pcall(a.tasks, a)
  local okb, tb = pcall(b.tasks, b)
  if not (oka and okb and ta and tb) then return nil end
  local by_pid = {}
  for _, t in ipairs(tb) do by_pid[t.pid] = t end
  local same = #ta == #tb
  for _, t in ipairs(ta) do
    if not by_pid[t.pid] then same = false end
  end
  local partner = {}
  if same then
    for _, t in ipairs(ta) do partner[t] = by_pid[t.pid] end
  else
    local used = pair_by_tree(ta, tb, partner)
    for _, t in ipairs(ta) do
      local y = by_pid[t.pid]
      if not partner[t] and y and not used[y] then partner[t], used[y] = y, true end
    end
  end
  local tids
  for x, y in pairs(partner) do
    local xs, ys = x.threads or { x.pid }, y.threads or { y.pid }
    if x.pid ~= y.pid then
      tids = tids or {}
      tids[x.pid] = y.pid
    end
    for i, tid in ipairs(xs) do
      if ys[i] and ys[i] ~= tid then
        tids = tids or {}
        tids[tid] = ys[i]
      end
    end
  end
  return partner, tids
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

-- A field of the first entry of an image, or nil (absent, corrupt).
local function head_field(d, name, field)
  local ok, v = pcall(function()
    if not d:has(name) then return nil end
    local e = d:image(name):entry(1)
    return e and e[field]
  end)
  return ok and v or nil
end

-- The names in b of the images of a that belong to a task whose ids
-- differ: core-PID and the like by the task pairing, fdinfo-N by the
-- tasks' ids.files_id, pages-N by their pagemaps' pages_id.
local function renamed_images(a, b, names_a, partner, tids)
  local rename = {}
  for _, n in ipairs(names_a) do
    local kind, id = layout.kind(n)
    local tid = id and id:find("^%d+$") and tonumber(id)
    if diff.TASK_IMAGES[kind] and tid and tids and tids[tid] then
      rename[n] = kind .. "-" .. tids[tid]
    end
  end
  for x, y in pairs(partner) do
    local fa = head_field(a, "ids-" .. x.pid, "files_id")
    local fb = head_field(b, "ids-" .. y.pid, "files_id")
    if fa and fb and fa ~= fb then rename["fdinfo-" .. fa] = "fdinfo-" .. fb end
    local pa = head_field(a, "pagemap-" .. x.pid, "pages_id")
    local pb = head_field(b, "pagemap-" .. y.pid, "pages_id")
    if pa and pb and pa ~= pb then rename["pages-" .. pa] = "pages-" .. pb end
  end
  return rename
end

-- "core-30956/8139": a's name, and b's id when b names it otherwise.
local function pair_label(na, nb)
  if na == nb then return na end
  local _, id = layout.kind(nb)
  return na .. "/" .. (id or nb)
end

-- The pids that changed, a "task" change each, in a's pstree order.
local function task_changes(a, partner, out)
  local ok, ta = pcall(a.tasks, a)
  if not ok or not ta then return end
  for _, t in ipairs(ta) do
    local y = partner[t]
    if y and y.pid ~= t.pid then
      out[#out + 1] = { image = "pstree", what = "task", old = t.pid, new = y.pid, comm = comm_of(t) }
    end
  end
end

--- dirs(a, b) -> list of changes from dump a to dump b (paths or crit.dir
--- objects; a missing directory raises). Tasks are paired (diff.tasks) and
--- their images with them; images that are only in one side are "added"
--- or "removed"; the others are compared as files, then as images with
--- diff.images when their bytes differ. A dir object is taken as it is in
--- memory: images edited in it, or set and removed with d:set_image, count
--- (crit.transform's --dry-run diffs the original against the transformed
--- object before anything is written).
function diff.dirs(a, b)
  a, b = open_dir(a), open_dir(b)
  local names_a, names_b = a:names(), b:names()
  local in_b = {}
  for _, n in ipairs(names_b) do in_b[n] = true end
  local partner, tids = diff.tasks(a, b)
  local rename = partner and renamed_images(a, b, names_a, partner, tids) or {}
  -- Renamed images claim their partner first: b's core-P may be the
  -- partner of a's core-Q while a's core-P pairs with another.
  local pair, claimed = {}, {}
  for _, n in ipairs(names_a) do
    local t = rename[n]
    if t and in_b[t] and not claimed[t] then pair[n], claimed[t] = t, true end
  end
  for _, n in ipairs(names_a) do
    if not pair[n] and not rename[n] and in_b[n] and not claimed[n] then
      pair[n], claimed[n] = n, true
    end
  end
  local jobs = {}
  for _, n in ipairs(names_a) do jobs[#jobs + 1] = { n, pair[n] and "same" or "removed", pair[n] } end
  for _, n in ipairs(names_b) do
    if not claimed[n] then jobs[#jobs + 1] = { n, "added" } end
  end
  table_sort(jobs, function(x, y)
    if x[1] ~= y[1] then return x[1] < y[1] end
    return x[2] < y[2]
  end)
  local out = {}
  if partner then task_changes(a, partner, out) end
  for _, job in ipairs(jobs) do
    local name, what, nb = job[1], job[2], job[3]
    if what ~= "same" then
      out[#out + 1] = { image = name, what = what }
    else
      local pa, pb = image_path(a, name), image_path(b, nb)
      if not (pa and pb and same_file(pa, pb)) then
        local ia = assert(a:image(name))
        local ib = assert(b:image(nb))
        diff.images(ia, ib, pair_label(name, nb), out,
          { tids = tids, image_b = nb ~= name and nb or nil })
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

-- " (fd 3)", " (id 5, tfd 2)": how an entry or element was paired.
local function key_text(key)
  if not key then return "" end
  local words = {}
  for i, kv in ipairs(key) do words[i] = kv[1] .. " " .. diff.value(kv[2]) end
  return " (" .. table_concat(words, ", ") .. ")"
end

--- format(change) -> one line: "IMAGE[ENTRY] PATH: OLD -> NEW",
--- "IMAGE: only in b", "IMAGE[ENTRY]: payload N bytes -> M bytes", ...
function diff.format(c)
  local where = c.image .. (c.entry and "[" .. c.entry .. "]" or "")
  local w = c.what
  if (w == "added" or w == "removed") and c.path then
    return string_format("%s %s%s: only in the %s", where, c.path, key_text(c.key),
      w == "added" and "second" or "first")
  elseif w == "added" then
    return where .. key_text(c.key) .. (c.entry and ": entry only in the second" or ": only in the second")
  elseif w == "removed" then
    return where .. key_text(c.key) .. (c.entry and ": entry only in the first" or ": only in the first")
  elseif w == "task" then
    return string_format("%s: task %d%s is %d in the second", c.image, c.old,
      c.comm and " (" .. c.comm .. ")" or "", c.new)
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

---------------------------------------------------------------------------
-- Summary: alike changes on one line.

-- The name a's side gives an image ("core-30956" of "core-30956/8139"),
-- and its kind with a star for the id ("core-*").
local function star_image(label)
  local name = label:match("^[^/]+")
  local kind, id = layout.kind(name)
  return id and kind .. "-*" or name
end

local function star_path(path)
  return (path:gsub("%[%d+%]", "[*]"))
end

local NOUNS = {
  changed = "changes", added = "only in the second", removed = "only in the first",
  task = "tasks with another pid", payload = "payloads differ", bytes = "raw images differ",
  encoding = "encoded differently", header = "headers differ",
}

-- What a group of alike changes has in common: "core-*[1] thread_info.gpregs.ip".
local function pattern_label(group)
  local first = group[1]
  local image, entry, path = first.image, first.entry, first.path
  for _, c in ipairs(group) do
    if c.image ~= image then image = star_image(first.image) end
    if c.entry ~= entry then entry = "*" end
    if c.path ~= path then path = star_path(first.path) end
  end
  return image .. (entry and "[" .. entry .. "]" or "") .. (path and " " .. path or "")
end

-- Group changes by key(c) (nil: no group); a group of more than `limit`
-- becomes one line, line(group), where its first member was; the others
-- go to rest(c), in their order.
local function grouped(changes, key, limit, line, rest)
  local groups = {}
  for _, c in ipairs(changes) do
    local k = key(c)
    if k then
      local g = groups[k] or {}
      groups[k] = g
      g[#g + 1] = c
    end
  end
  local out, done = {}, {}
  for _, c in ipairs(changes) do
    local k = key(c)
    local g = k and groups[k]
    if g and #g > limit then
      if not done[k] then
        done[k] = true
        out[#out + 1] = line(g)
      end
    else
      out[#out + 1] = rest(c)
    end
  end
  return out
end

local function parent_path(path)
  return path:match("^(.*)%.[^.%[]+$") or ""
end

--- summary(changes [, limit]) -> text, as diff.text but shorter: more than
--- `limit` (default 3) changes that differ only in the image's id, the
--- entry or list indexes ("core-*[1] thread_info.fpregs.xsave.hi16_zmm[*]",
--- "pagemap-30956/8139[*]: 12 only in the first") are one line, with the
--- count and the first of them; then more than `limit` fields changed in
--- one message are one line ("core-1[1] thread_info.gpregs.{bp,ip,sp,...}").
--- `crit.lua diff` prints this; --all prints diff.text, --json every change.
function diff.summary(changes, limit)
  limit = limit or 3
  local function alike(c)
    return table_concat({ c.what, star_image(c.image), c.entry and "E" or "",
      c.path and star_path(c.path) or "" }, "\0")
  end
  local lines = grouped(changes, alike, limit, function(g)
    return string_format("%s: %d %s, first: %s", pattern_label(g), #g, NOUNS[g[1].what] or g[1].what,
      diff.format(g[1]))
  end, function(c) return c end)
  -- what is left: fields of one message, one line per message
  local function sibling(c)
    if type(c) ~= "table" or c.what ~= "changed" then return nil end
    return table_concat({ c.image, tostring(c.entry), parent_path(c.path) }, "\0")
  end
  lines = grouped(lines, sibling, limit, function(g)
    local names = {}
    for i, c in ipairs(g) do names[i] = c.path:sub(#parent_path(c.path) + (parent_path(c.path) == "" and 1 or 2)) end
    local parent = parent_path(g[1].path)
    return string_format("%s[%d] %s{%s}: %d changes", g[1].image, g[1].entry,
      parent == "" and "" or parent .. ".", table_concat(names, ","), #g)
  end, function(c) return type(c) == "table" and diff.format(c) or c end)
  return #lines > 0 and table_concat(lines, "\n") .. "\n" or ""
end

---------------------------------------------------------------------------
-- JSON.

-- A value as JSON: integers exact, read as diff.value reads them (signed
-- down to -2^31, below that the uint64 with the same bits); strings as
-- crit.json writes them; a whole message (a field that is a message on
-- one side only) through crit.json.
local function json_value(v)
  if math_type(v) == "integer" then
    if v < -0x80000000 then return u64.tostring(v) end
    return string_format("%d", v)
  elseif type(v) == "string" then
    return json.string(v)
  end
  return json.encode(v)
end

local JSON_FIELDS = { "image", "image_b", "what", "entry", "entry_b", "key", "path", "old", "new",
  "offset", "comm" }

local function json_change(c)
  local parts = {}
  for _, f in ipairs(JSON_FIELDS) do
    local v = c[f]
    if f == "key" and v then
      local kv = {}
      for i, pair in ipairs(v) do kv[i] = json.string(pair[1]) .. ": " .. json_value(pair[2]) end
      parts[#parts + 1] = '"key": {' .. table_concat(kv, ", ") .. "}"
    elseif v ~= nil or ((f == "old" or f == "new") and c.what == "changed") then
      parts[#parts + 1] = json.string(f) .. ": " .. (v == nil and "null" or json_value(v))
      if (f == "old" or f == "new") and math_type(v) == "integer" and v < 0 and v >= -0x80000000 then
        -- an int32 or a uint64 near the top: the text shows both readings
        parts[#parts + 1] = json.string(f .. "_uint64") .. ": " .. u64.tostring(v)
      end
    end
  end
  return "{" .. table_concat(parts, ", ") .. "}"
end

--- json(changes) -> the changes as one JSON document, a change a line:
--- {"same": false, "changes": [{"image": ..., "what": ..., ...}, ...]}.
--- Each change has the fields of the Lua table (key as an object, a field
--- absent on one side as null); integers are exact to 64 bits. A value
--- from -2^31 to -1 may be an int32 or a uint64 near 2^64 (Lua does not
--- know which): "old_uint64" or "new_uint64" gives the unsigned reading.
function diff.json(changes)
  local lines = {}
  for i, c in ipairs(changes) do lines[i] = "  " .. json_change(c) end
  if #lines == 0 then return '{"same": true, "changes": []}\n' end
  return '{"same": false, "changes": [\n' .. table_concat(lines, ",\n") .. "\n]}\n"
end

return diff
