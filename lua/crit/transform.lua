--- crit.transform: run a Lua script over a checkpoint directory (or one
-- image) and write the result, re-encoding only the images that changed;
-- and the conversions between CRIU's image layouts (pagemap 4.1/4.2, v1.0/v1.1).
--
--   local transform = require "crit.transform"
--   local fn = transform.load_script("examples/transforms/hostname.lua")
--   assert(transform.dir("dump", fn, { "newhost" }, { out = "dump-renamed" }))
--
-- A script is a Lua file that returns a function(d, args): d is the
-- directory object of crit.dir, with the writing methods of this module
-- (d:new_image, d:set_image, d:remove_image, d:patch, d:write_memory), and
-- args the list of strings given after `--`. In stream mode the function
-- gets the image object instead of d, and may return another image to write.
local core = require "crit.core"
local crit = require "crit"
local dirlib = require "crit.dir"
local layout = require "crit.layout"
local lfs = require "lfs"

local ipairs, pairs, type, error, tostring, setmetatable, getmetatable, pcall, rawequal =
  ipairs, pairs, type, error, tostring, setmetatable, getmetatable, pcall, rawequal
local string_format, table_sort = string.format, table.sort
local os_rename, os_remove, os_execute, os_time, os_getenv =
  os.rename, os.remove, os.execute, os.time, os.getenv
local io_open, tonumber = io.open, tonumber
local crit_error = core.error

local transform = {}

---------------------------------------------------------------------------
-- Scripts.

--- load_script(path) -> the script's function | nil, message.
function transform.load_script(path)
  local chunk, err = loadfile(path, "t")
  if not chunk then return nil, err end
  local ok, fn = pcall(chunk)
  if not ok then return nil, path .. ": " .. tostring(fn) end
  if type(fn) ~= "function" then
    return nil, path .. ": a transform script must return a function(d, args), it returned "
      .. type(fn)
  end
  return fn
end

---------------------------------------------------------------------------
-- Files: crit.layout names images and lists directories.

local image_file, list_dir = layout.image_file, layout.list

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- cp --reflink=auto: a reflink where the filesystem can (btrfs, xfs), a
-- copy elsewhere. -a keeps modes, times and symlinks, and copies trees.
local function copy(from, to)
  local ok = os_execute("cp -a --reflink=auto -- " .. shell_quote(from) .. " " .. shell_quote(to))
  if not ok then error(string_format("cannot copy %s to %s", from, to), 0) end
end

-- Remove a directory we made, and everything in it (no symlink is followed).
local function remove_tree(path)
  local attr = lfs.symlinkattributes(path)
  if not attr then return end
  if attr.mode == "directory" then
    for _, f in ipairs(list_dir(path)) do remove_tree(path .. "/" .. f) end
    lfs.rmdir(path)
  else
    os_remove(path)
  end
end
transform.remove_tree = remove_tree

---------------------------------------------------------------------------
-- What a run killed part-way leaves: its temporary directories carry the
-- pid of the process that made them, so that the next run tells a
-- leftover (its process is gone) from another run's work in progress.

local function my_pid()
  local f = io_open("/proc/self/stat", "rb")
  local pid = f and tonumber(f:read("a"):match("^(%d+)"))
  if f then f:close() end
  return pid or 0
end

local function alive(pid)
  return lfs.attributes("/proc/" .. pid, "mode") == "directory"
end

-- Failpoint for the kill test (spec/killed_transform_spec.lua): with
-- CRIT_TEST_KILL_STEP=N the process kills itself with SIGKILL at the N-th
-- step of a commit, so that every point between two renames is tried.
local steps = 0
local function step()
  steps = steps + 1
  local at = os_getenv("CRIT_TEST_KILL_STEP")
  if at and tonumber(at) == steps then os_execute("kill -9 " .. my_pid()) end
end

-- A new directory next to `near` (same filesystem: renames and hard links work).
local function temp_dir(near)
  local base = near:gsub("/+$", "")
  for i = 1, 100 do
    local path = string_format("%s.crit-tmp-%d-%d-%d", base, my_pid(), os_time(), i)
    if lfs.mkdir(path) then return path end
  end
  error("cannot create a temporary directory next to " .. near, 0)
end
transform.temp_dir = temp_dir

---------------------------------------------------------------------------
-- The directory object a script gets: crit.dir's, plus the record of what
-- the script replaced, removed and patched.

local Tx = {}
local state = setmetatable({}, { __mode = "k" })   -- d -> what the script did

local function tx_dir(d)
  local Dir = getmetatable(d)
  local mt = { __index = function(_, k)
    local v = Tx[k]
    if v ~= nil then return v end
    return Dir[k]
  end }
  for k, v in pairs(Dir) do    -- keep its other metamethods (__close, __tostring ...)
    if type(k) == "string" and k:find("^__") and k ~= "__index" then mt[k] = v end
  end
  state[d] = { base = Dir, loaded = {}, set = {}, patches = {} }
  return setmetatable(d, mt)
end

--- d:image(name): as crit.dir's; the first image loaded is remembered as
--- the original, to tell later whether it changed.
function Tx:image(name)
  local tx = state[self]
  local img, err, errno = tx.base.image(self, name)
  if img and tx.loaded[name] == nil and tx.set[name] == nil then tx.loaded[name] = img end
  return img, err, errno
end

--- d:set_image(name, img): the image `name` is now img (a new image, or
--- another object); img = nil removes it.
function Tx:set_image(name, img)
  if img ~= nil and type(img) ~= "table" then error("set_image: an image expected", 2) end
  local tx = state[self]
  tx.base.set_image(self, name, img)
  tx.set[name] = img or false
  tx.patches[name] = nil
  tx.files = nil
end

-- file_entry tables by id, from files.img and the legacy per-type images,
-- as cached entries (img[k]) so that changes to them are written.
local function file_index(self)
  local tx = state[self]
  if tx.files then return tx.files end
  local byid = {}
  local function add(id, f) if id ~= nil and byid[id] == nil then byid[id] = f end end
  local files = self:image("files")
  if files then
    for k = 1, #files do add(files[k].id, files[k]) end
  end
  local types = {}
  for t in pairs(dirlib.FILE_TYPES) do types[#types + 1] = t end
  table_sort(types)
  for _, t in ipairs(types) do
    local ft = dirlib.FILE_TYPES[t]
    local img = ft.legacy and self:image(ft.legacy)
    if img then
      for k = 1, #img do
        local e = img[k]
        add(e.id, { type = t, id = e.id, [ft.field] = e })
      end
    end
  end
  tx.files = byid
  return byid
end

--- d:file(id [, type]): as crit.dir's, but the entry is the image's own
--- table: a script may change it (crit.dir's may be a passing copy).
function Tx:file(id)
  return file_index(self)[id]
end

--- d:new_image(name, magic) -> a new empty image, added to the directory.
function Tx:new_image(name, magic)
  local img = crit.new(magic)
  self:set_image(name, img)
  return img
end

--- d:remove_image(name): the image is not written.
function Tx:remove_image(name)
  self:set_image(name, nil)
end

--- d:patch(name, offset, bytes): overwrite bytes of a raw image (pages-N)
--- at a 0-based offset. The file keeps its size; it is rewritten (never
--- changed in place: it may be hard-linked).
function Tx:patch(name, offset, bytes)
  local img, err = self:image(name)
  if not img then error("patch: " .. tostring(err), 2) end
  if not img.raw_image then error("patch: " .. name .. " is not a raw image", 2) end
  local size = img:file_size()
  if offset < 0 or offset + #bytes > size then
    error(string_format("patch: %s: bytes %d..%d are past its end (%d bytes)", name, offset,
      offset + #bytes, size), 2)
  end
  local patches = state[self].patches
  local list = patches[name] or {}
  patches[name] = list
  list[#list + 1] = { offset = offset, bytes = bytes }
end

-- The name under which img was loaded, or nil (an image of another dir).
local function name_of(loaded, img)
  for name, v in pairs(loaded) do
    if rawequal(v, img) then return name end
  end
  return nil
end

--- d:write_memory(pid, addr, bytes): change the task's memory as dumped:
--- the bytes must be in the dump (present pages of this directory, not a
--- hole, not in the parent dump); the pages images are patched.
function Tx:write_memory(pid, addr, bytes)
  local memory = require "crit.memory"
  local m, err = memory.open(self, pid)
  if not m then error("write_memory: " .. tostring(err), 2) end
  local plan = {}
  for p in m:pieces(addr, addr + #bytes) do
    if not p.pages then
      error(string_format("write_memory: pid %s: %#x (%d bytes) is not in the dump (%s)",
        tostring(pid), p.addr, p.len, tostring(p.why)), 2)
    end
    local name = name_of(state[self].loaded, p.pages)
    if not name then
      error(string_format("write_memory: pid %s: %#x is in the parent dump", tostring(pid), p.addr), 2)
    end
    plan[#plan + 1] = { name = name, offset = p.offset, from = p.addr - addr + 1, len = p.len }
  end
  for _, s in ipairs(plan) do
    self:patch(s.name, s.offset, bytes:sub(s.from, s.from + s.len - 1))
  end
end

-- Write a raw image with its patches applied, copying the rest straight
-- from the mapped original.
local function write_patched(img, patches, path, like, name)
  table_sort(patches, function(a, b) return a.offset < b.offset end)
  local size = img:file_size()
  local out <close> = core.output(path, { like = like, private = img.raw_image, name = name })
  local pos = 0
  for _, p in ipairs(patches) do
    if p.offset < pos then error("patch: overlapping patches of the same bytes", 0) end
    if p.offset > pos then img:copy_to(out, pos, p.offset - pos) end
    out:write(p.bytes)
    pos = p.offset + #p.bytes
  end
  if pos < size then img:copy_to(out, pos, size - pos) end
  out:finish()
end

---------------------------------------------------------------------------
-- What changed: the plan of the output directory.

-- Whether img would be written as the bytes of the file that holds the
-- image `name` now: compared an entry at a time, and only the entries the
-- script was handed (img:unchanged()) when img was read from that file.
local function same_as_file(d, name, img)
  local file = d:path_of(name)
  if img:path() == file then return img:unchanged() end
  local original <close> = crit.open(file)
  return original ~= nil and img:same(original)
end

--- changes(d) -> { [file] = change }: what the script did to the
--- directory, file by file: "remove"; { image = img } (img is the new
--- image: img:write(path) streams it, img:encode() gives its bytes); or
--- { image = img, patches = { {offset=, bytes=}, ... }, size = n } (the raw
--- image img with those bytes written over it, sorted and not
--- overlapping). Files without a change are kept as they are. Only images
--- that differ from the original, byte for byte, are changed: an image that
--- was only read, or changed and changed back, is kept. Used to write the
--- result (to_dir, in_place) and to stream it (crit.streamer).
function transform.changes(d)
  local tx = state[d]
  local changes = {}
  local function change_of(name, img)
    local patches = tx.patches[name]
    if patches then
      table_sort(patches, function(a, b) return a.offset < b.offset end)
      for i = 2, #patches do
        if patches[i].offset < patches[i - 1].offset + #patches[i - 1].bytes then
          error(crit_error{ file = image_file(name), message = "patch: overlapping patches of the same bytes" }, 0)
        end
      end
      return { image = img, patches = patches, size = img:file_size() }
    end
    if same_as_file(d, name, img) then return nil end
    return { image = img }
  end
  for name, img in pairs(tx.loaded) do
    if tx.set[name] == nil then changes[image_file(name)] = change_of(name, img) end
  end
  for name, img in pairs(tx.set) do
    changes[image_file(name)] = img and change_of(name, img) or "remove"
  end
  return changes
end

-- plan(d) -> { [file] = action }: "remove", or a function(path, like, name)
-- that writes the new image at path (a temporary name; errors call it
-- name, the file it becomes), from transform.changes. Nothing is encoded
-- whole here: an image is written (streamed, untouched entries copied)
-- when the plan is carried out.
local function plan(d)
  local actions = {}
  for file, change in pairs(transform.changes(d)) do
    local img = change ~= "remove" and change.image
    if not img then
      actions[file] = "remove"
    elseif change.patches then
      actions[file] = function(path, like, name)
        write_patched(img, change.patches, path, like, name or file)
      end
    else
      actions[file] = function(path, like, name)
        img:write(path, { like = like, name = name or file })
      end
    end
  end
  return actions
end

--- run(path, fn, args) -> d (the changed directory object), actions.
--- Raises what the script raises.
function transform.run(path, fn, args)
  local d, err = dirlib.open(path)
  if not d then error(err, 0) end
  tx_dir(d)
  fn(d, args or {})
  return d, plan(d)
end

---------------------------------------------------------------------------
-- Committing.

-- Fill the empty directory `out` (to be renamed `final`) from `src` and
-- the actions. Unchanged files are hard-linked (opts.copy: reflinked or
-- copied), symlinks remade.
local function populate(src, out, actions, opts, final)
  local seen = {}
  for _, f in ipairs(list_dir(src)) do
    seen[f] = true
    local from, to, action = src .. "/" .. f, out .. "/" .. f, actions[f]
    local attr = lfs.symlinkattributes(from)
    if type(action) == "function" then
      action(to, from, final .. "/" .. f)
    elseif action ~= "remove" then
      if attr.mode == "link" then
        local ok, e = lfs.link(attr.target, to, true)
        if not ok then error(crit_error{ file = to, message = tostring(e) }, 0) end
      -- a hard link: the same bytes, no space (we never write a file in
      -- place); across filesystems, or with --copy, a reflink or a copy
      elseif opts.copy or attr.mode ~= "file" or not lfs.link(from, to) then
        copy(from, to)
      end
    end
  end
  for f, action in pairs(actions) do
    if not seen[f] and type(action) == "function" then action(out .. "/" .. f, nil, final .. "/" .. f) end
  end
end

--- to_dir(src, out, actions, opts): write the output directory `out`,
--- complete, or nothing: it is built under a temporary name and renamed.
function transform.to_dir(src, out, actions, opts)
  if lfs.symlinkattributes(out) then error(crit_error{ file = out, message = "already exists" }, 0) end
  local tmp = temp_dir(out)
  local ok, err = pcall(populate, src, tmp, actions, opts or {}, out)
  if ok then
    local renamed, rerr = os_rename(tmp, out)
    if not renamed then ok, err = false, rerr end
  end
  if not ok then
    remove_tree(tmp)
    error(err, 0)
  end
end

-- In place, a dump is replaced as a whole or not at all, whenever the
-- process is killed: every changed image is written into a staging
-- directory inside it (.crit-transform-PID-TIME-I), then a journal there
-- (JOURNAL, written atomically: the commit point) lists what to rename
-- and remove; then the renames and removals are made, and the journal and
-- the stage go. A stage without a journal is an aborted run: removed, the
-- dump is as it was. A stage with one is a commit that was cut short: the
-- next run (transform.recover) makes the renames and removals left.
local STAGE_PATTERN = "^%.crit%-transform%-(%d+)%-%d+%-%d+$"
local JOURNAL = "JOURNAL"

local function read_journal(stage)
  local f = io_open(stage .. "/" .. JOURNAL, "rb")
  if not f then return nil end
  local ops = {}
  for line in f:lines() do
    local op, name = line:match("^(%a+) (.+)$")
    if op then ops[#ops + 1] = { op = op, name = name } end
  end
  f:close()
  return ops
end

-- Carry out a journal: idempotent, so a run killed while doing it is
-- finished by the next one.
local function apply_journal(src, stage, ops)
  for _, o in ipairs(ops) do
    local from, to = stage .. "/" .. o.name, src .. "/" .. o.name
    if o.op == "rename" and lfs.symlinkattributes(from) then
      local done, err = os_rename(from, to)
      if not done then error("in-place commit of " .. o.name .. ": " .. tostring(err), 0) end
    elseif o.op == "remove" then
      os_remove(to)
    end
    step()
  end
  os_remove(stage .. "/" .. JOURNAL)
  step()
  remove_tree(stage)
end

--- interrupted(src) -> list of { stage =, journal = ops or nil, pid = }:
--- the staging directories of in-place runs in src whose process is gone.
--- With a journal, the dump is mixed until the next run finishes it.
function transform.interrupted(src)
  local out = {}
  if lfs.attributes(src, "mode") ~= "directory" then return out end -- an archive
  for _, f in ipairs(list_dir(src)) do
    local pid = f:match(STAGE_PATTERN)
    if pid and not alive(pid) then
      local stage = src .. "/" .. f
      out[#out + 1] = { stage = stage, journal = read_journal(stage), pid = tonumber(pid) }
    end
  end
  return out
end

-- The temporary directories beside path (path.crit-tmp-PID-...) of -o and
-- --dry-run runs whose process is gone: they never replaced anything.
local function clean_beside(path)
  local parent, base = path:match("^(.*)/([^/]+)$")
  if not parent then parent, base = ".", path end
  if parent == "" then parent = "/" end
  local prefix = base .. ".crit-tmp-"
  for _, f in ipairs(list_dir(parent)) do
    local pid = f:sub(1, #prefix) == prefix and f:sub(#prefix + 1):match("^(%d+)%-%d+%-%d+")
    if pid and not alive(pid) then remove_tree(parent .. "/" .. f) end
  end
end

--- recover(src [, out]) -> number of interrupted runs finished or undone:
--- what runs killed part-way left in src (in place) and beside src and
--- out (-o, --dry-run). Every run starts with it.
function transform.recover(src, out)
  local n = 0
  for _, it in ipairs(transform.interrupted(src)) do
    if it.journal then apply_journal(src, it.stage, it.journal) else remove_tree(it.stage) end
    n = n + 1
  end
  clean_beside(src)
  if out then clean_beside((out:gsub("/+$", ""))) end
  return n
end

--- in_place(src, actions): see above.
function transform.in_place(src, actions)
  local stage
  for i = 1, 100 do
    local path = string_format("%s/.crit-transform-%d-%d-%d", src, my_pid(), os_time(), i)
    if lfs.mkdir(path) then stage = path break end
  end
  if not stage then error("cannot create a staging directory in " .. src, 0) end
  local names = {}
  for f in pairs(actions) do names[#names + 1] = f end
  table_sort(names)
  local ops, ok, err = {}, true, nil
  for _, f in ipairs(names) do
    local action = actions[f]
    if type(action) == "function" then
      ok, err = pcall(action, stage .. "/" .. f, src .. "/" .. f, src .. "/" .. f)
      if not ok then break end
      ops[#ops + 1] = "rename " .. f
      step()
    elseif action == "remove" then
      ops[#ops + 1] = "remove " .. f
    end
  end
  if ok then
    ok, err = pcall(function()
      local journal <close> = core.output(stage .. "/" .. JOURNAL)
      journal:write(table.concat(ops, "\n") .. "\n")
      journal:finish()
    end)
  end
  if not ok then
    remove_tree(stage)
    error(err, 0)
  end
  step()
  apply_journal(src, stage, read_journal(stage))
end

---------------------------------------------------------------------------
-- Archives: a dump read from a container checkpoint archive is written as
-- a new archive. Every member is copied as it is (its tar header blocks
-- too), metadata, rootfs-diff.tar and volumes included; the changed images
-- are re-encoded in their place, removed ones left out, new ones added
-- after the last member. The archive is written whole to a temporary file
-- beside OUT and renamed over it.

-- An image written by its action into a scratch directory, then into the
-- archive as a regular file, a MiB at a time.
-- like = the archive whose member of that name gives the header (owner,
-- mode), or nil for a new member.
local function add_written(w, name, like, action, scratch)
  local path = scratch .. "/" .. name:match("([^/]*)$")
  action(path)
  local f = assert(io.open(path, "rb"))
  local size = f:seek("end")
  f:seek("set")
  if like then w:file_like(like, name, size, os_time()) else w:file(name, size, 420, os_time()) end
  while true do
    local chunk = f:read(1 << 20)
    if not chunk then break end
    w:write(chunk)
  end
  f:close()
  os_remove(path)
  w:pad()
end

local function populate_archive(a, images_dir, w, actions, scratch)
  local prefix = images_dir == "" and "" or images_dir .. "/"
  local done = {}
  for _, m in ipairs(a:members()) do
    local parent, base = m.name:match("^(.*)/([^/]*)$")
    if not parent then parent, base = "", m.name end
    local action = parent == images_dir and m.type == "file" and actions[base]
    if action then done[base] = true end
    if type(action) == "function" then
      add_written(w, m.name, a, action, scratch)
    elseif action ~= "remove" then
      w:copy_member(a, m.name)
    end
  end
  local added = {}
  for f, action in pairs(actions) do
    if not done[f] and type(action) == "function" then added[#added + 1] = f end
  end
  table_sort(added)
  for _, f in ipairs(added) do add_written(w, prefix .. f, nil, actions[f], scratch) end
end

--- from_archive(d) -> the path of the archive d was read from, or nil.
function transform.from_archive(d)
  local _, file = require("crit.archive").of(d.path)
  return file
end

--- to_archive(d, out, actions, opts): write the new archive `out` from the
--- archive d was opened from. opts.compression: "none", "gzip" or "zstd"
--- (default: the source's). Complete or nothing: written to a temporary
--- file that replaces out only when finished (out may be the source).
function transform.to_archive(d, out, actions, opts)
  local archive = require "crit.archive"
  local a, file = archive.of(d.path)
  if not a then error(crit_error{ file = d.path, message = "not read from an archive" }, 0) end
  local _, member = archive.split(d.path)
  local compression = (opts and opts.compression) or a:info().compression
  local base = os.tmpname()
  os_remove(base)
  local scratch = temp_dir(base)
  local ok, err = pcall(function()
    local o <close> = core.output(out)
    local w = core.archive_writer(o, compression)
    populate_archive(a, member, w, actions, scratch)
    w:finish()
    o:finish()
  end)
  remove_tree(scratch)
  if not ok then error(err, 0) end
  return file
end

--- dir(src, fn, args, opts) -> true, actions | nil, message. opts: out =
--- OUTDIR, in_place = true, copy = true (no hard links). The script runs
--- and every image is compared with its file first; the changed ones are
--- written into a temporary directory (in place: a staging one) that
--- replaces anything only once all of them are written.
function transform.dir(src, fn, args, opts)
  local ok, result = pcall(function()
    transform.recover((src:gsub("(.)/+$", "%1")), opts.out)
    local d, planned = transform.run(src, fn, args)
    local path = d.path:gsub("(.)/+$", "%1")
    if transform.from_archive(d) then
      transform.to_archive(d, opts.in_place and transform.from_archive(d) or opts.out, planned, opts)
    elseif opts.in_place then
      transform.in_place(path, planned)
    else
      transform.to_dir(path, opts.out, planned, opts)
    end
    return planned
  end)
  if not ok then return nil, result end
  return true, result
end

--- image(bytes, fn, args) -> the bytes of the transformed image. The
--- script gets the image object; it may return another image.
function transform.image(bytes, fn, args, name)
  local img = crit.load(bytes, name or "stdin")
  local result = fn(img, args or {})
  if type(result) == "table" and result.magic then img = result end
  return img:encode()
end

---------------------------------------------------------------------------
-- Version conversions.

--- pagemap_to_compat(img): a criu 4.2 pagemap in the layout of criu 4.1
--- and older: the page count in compat_nr_pages, no nr_pages.
function transform.pagemap_to_compat(img)
  if img.magic ~= "PAGEMAP" then error("pagemap_to_compat: a PAGEMAP image expected", 2) end
  for k = 2, #img do
    local e = img[k]
    if e.nr_pages ~= nil then
      if e.nr_pages < 0 or e.nr_pages > 0xffffffff then
        error(crit_error{ file = img:path(), entry = k, path = "nr_pages", message = string_format(
          "%s pages do not fit in compat_nr_pages", crit.u64.tostring(e.nr_pages)) }, 0)
      end
      e.compat_nr_pages, e.nr_pages = e.nr_pages, nil
    end
  end
end

--- pagemap_from_compat(img): a criu 4.1 pagemap in criu 4.2's layout:
--- nr_pages holds the count, compat_nr_pages = 0.
function transform.pagemap_from_compat(img)
  if img.magic ~= "PAGEMAP" then error("pagemap_from_compat: a PAGEMAP image expected", 2) end
  for k = 2, #img do
    local e = img[k]
    if e.nr_pages == nil then
      e.nr_pages, e.compat_nr_pages = e.compat_nr_pages, 0
    end
  end
end

-- Every image of a directory, by name.
local function each_image(d, f)
  for _, name in ipairs(layout.images(d.path)) do
    local img = d:image(name)
    if img then f(name, img) end
  end
end

--- dir_pagemaps(d, "4.1" | "4.2"): convert every pagemap image of d
--- (pagemap-PID and pagemap-shmem-N).
function transform.dir_pagemaps(d, to)
  local convert = (to == "4.1" and transform.pagemap_to_compat)
    or (to == "4.2" and transform.pagemap_from_compat)
  if not convert then error("dir_pagemaps: '4.1' or '4.2' expected", 2) end
  each_image(d, function(_, img)
    if img.magic == "PAGEMAP" then convert(img) end
  end)
end

--- dir_version(d, "1.0" | "1.1"): the header layout of every image with a
--- magic, and inventory's img_version that tells criu which layout to read
--- (inventory.img always has one magic alone; raw images none).
function transform.dir_version(d, v)
  local img_version = layout.IMG_VERSION[v]
  if not img_version then error("dir_version: '1.0' or '1.1' expected", 2) end
  each_image(d, function(_, img)
    if img.raw_image then return end
    if img.magic == "INVENTORY" then
      for k = 1, #img do img[k].img_version = img_version end
    else
      img:set_version(v)
    end
  end)
end

return transform
