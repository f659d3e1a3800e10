-- crit.inspect: what a container checkpoint is, in the spirit of
-- checkpointctl show and inspect. The container's metadata (podman's and
-- CRI-O's config.dump, spec.dump, network.status, deleted.files: JSON, read
-- with lua-cjson where it is installed, fine for metadata, never for an image
-- value), the sizes of its parts, and from the images the process tree with
-- commands (and environment), open files, sockets, mounts and the dump
-- statistics. A bare criu images directory works too: it has no metadata.
--
--   local r = inspect.collect("bb.tar.gz", { env = true })
--   io.write(inspect.text(r))
local archive = require "crit.archive"
local dirlib = require "crit.dir"
local layout = require "crit.layout"
local lfs = require "lfs"

local ipairs, pairs, pcall, type, tostring, require = ipairs, pairs, pcall, type, tostring, require
local string_format, table_concat, table_sort, os_date = string.format, table.concat, table.sort, os.date

local inspect = {}

-- The files of a podman / CRI-O checkpoint beside checkpoint/, and what
-- they are. Anything else is reported as not recognised.
inspect.KNOWN = {
  ["checkpoint"] = "criu's images",
  ["config.dump"] = "container configuration (JSON)",
  ["spec.dump"] = "OCI runtime spec (JSON)",
  ["network.status"] = "network status (JSON)",
  ["stats-dump"] = "criu dump statistics (STATS image)",
  ["deleted.files"] = "files deleted from the root file system (JSON)",
  ["rootfs-diff.tar"] = "files changed in the root file system (tar)",
  ["devshm-checkpoint.tar"] = "contents of /dev/shm (tar)",
  ["volumes"] = "volume contents (one tar each)",
  ["bind.mounts"] = "bind mounts (JSON)",
  ["artifacts"] = "podman's artifacts",
  ["ctr.log"] = "container log",
  ["dump.log"] = "criu's dump log",
  ["restore.log"] = "criu's restore log",
  ["pod.options"] = "pod options (JSON)",
  ["pod.dump"] = "pod configuration (JSON)",
}

-- The checkpoint's root (where config.dump is) as a path layout.read and
-- layout.list take, and the images directory, for an archive or a DIR.
local function locate(path)
  local a, file = archive.of(path)
  if a then
    local images, err = archive.images_path(file)
    if not images then return nil, err end
    return { root = file .. "//", images = images, archive = a, file = file }
  end
  if lfs.attributes(path, "mode") ~= "directory" then
    local _, err = layout.dump_path(path)
    return nil, err or (path .. ": not a checkpoint")
  end
  local base = path:gsub("/+$", "")
  if lfs.attributes(base .. "/checkpoint", "mode") == "directory" then
    return { root = base .. "/", images = base .. "/checkpoint" }
  end
  return { root = nil, images = base }  -- a bare images directory
end

-- lua-cjson decodes the metadata when it is installed (it is not a
-- dependency of lua-crit: without it the metadata is named as not read).
local has_cjson, cjson = pcall(require, "cjson.safe")

local function read_json(loc, name, r)
  if not loc.root then return nil end
  local text = layout.read(loc.root .. name)
  if not text then return nil end
  if not has_cjson then
    r.problems[#r.problems + 1] = name .. ": not read (lua-cjson is not installed)"
    return nil
  end
  local v, err = cjson.decode(text)
  if v == nil and err then
    r.problems[#r.problems + 1] = name .. ": not JSON (" .. tostring(err) .. ")"
    return nil
  end
  return v
end

-- cjson's null (a light userdata), or nothing.
local function is_null(v)
  return v == nil or (has_cjson and v == cjson.null)
end

-- Sizes of what is at the root: a name -> bytes, and under a directory.
local function entries(loc)
  local list = {}
  if loc.archive then
    for _, m in ipairs(loc.archive:members()) do
      list[#list + 1] = { name = m.name, size = m.size, mtime = m.mtime, dir = m.type == "dir" }
    end
    return list
  end
  local function walk(prefix, rel)
    for _, f in ipairs(layout.list(prefix)) do
      local p, name = prefix .. "/" .. f, rel == "" and f or rel .. "/" .. f
      local attr = lfs.symlinkattributes(p)
      list[#list + 1] = { name = name, size = attr.size, mtime = attr.modification,
        dir = attr.mode == "directory" }
      if attr.mode == "directory" then walk(p, name) end
    end
  end
  if loc.root then walk(loc.root:gsub("/$", ""), "") else walk(loc.images, "checkpoint") end
  return list
end

local function sizes(loc, r)
  local s = { checkpoint = 0, memory_pages = 0, rootfs_diff = 0, volumes = 0 }
  local inventory_time
  local seen = {}
  for _, e in ipairs(entries(loc)) do
    local top = e.name:match("^[^/]+")
    if top and not seen[top] then
      seen[top] = true
      if loc.root and not inspect.KNOWN[top] then r.unrecognised[#r.unrecognised + 1] = top end
    end
    if not e.dir then
      if top == "checkpoint" then s.checkpoint = s.checkpoint + e.size end
      if e.name:find("^checkpoint/pages%-%d+%.img$") then s.memory_pages = s.memory_pages + e.size end
      if e.name == "rootfs-diff.tar" then s.rootfs_diff = e.size end
      if top == "volumes" then s.volumes = s.volumes + e.size end
      if e.name == "checkpoint/inventory.img" then inventory_time = e.mtime end
    end
  end
  if loc.file then s.archive = lfs.attributes(loc.file, "size") end
  return s, inventory_time
end

local function utc(t)
  return t and os_date("!%Y-%m-%dT%H:%M:%SZ", t) or nil
end

-- Container facts from config.dump and spec.dump (podman's and CRI-O's keys).
local function container(config, spec)
  if not config and not spec then return nil end
  config, spec = config or {}, spec or {}
  local ann = type(spec.annotations) == "table" and spec.annotations or {}
  local engine = "unknown"
  if ann["io.container.manager"] == "libpod" then engine = "Podman"
  elseif ann["io.kubernetes.cri-o.ContainerID"] or ann["io.kubernetes.cri-o.Created"] then engine = "CRI-O" end
  local process = type(spec.process) == "table" and spec.process or {}
  local function str(v) return type(v) == "string" and v or nil end
  return {
    name = str(config.name) or str(ann["io.kubernetes.container.name"]),
    id = str(config.id),
    image = str(config.rootfsImageName) or str(config.rootfsImageRef) or str(config.rootfsImage),
    image_id = str(config.rootfsImageID),
    engine = engine,
    runtime = str(config.runtime) or str(config.ociRuntime),
    created = str(config.createdTime) or str(ann["io.kubernetes.cri-o.Created"]),
    checkpointed = str(config.checkpointedTime),
    pod = str(ann["io.kubernetes.pod.name"]),
    namespace = str(ann["io.kubernetes.pod.namespace"]),
    hostname = str(spec.hostname),
    args = type(process.args) == "table" and process.args or nil,
  }
end

-- NUL-separated strings of a task's memory (argv, environ).
local function strings_at(m, from, to)
  if not (from and to) or to <= from or to - from > (1 << 20) then return nil end
  local ok, bytes = pcall(m.read, m, from, to - from)
  if not ok then return nil end
  local list = {}
  for s in bytes:gmatch("([^%z]*)%z") do list[#list + 1] = s end
  local tail = bytes:match("([^%z]+)$")
  if tail then list[#list + 1] = tail end
  return list
end

local function file_of(d, fd)
  local f = d:file(fd.id)
  local ft = f and dirlib.FILE_TYPES[f.type]
  local e = ft and f[ft.field]
  local what = { fd = fd.fd, type = fd.type or (f and f.type) }
  if e and e.name and fd.type == "REG" then what.path = e.name
  elseif fd.type == "PIPE" and e then what.path = string_format("pipe:[%d]", e.pipe_id)
  elseif fd.type == "FIFO" and e then
    local reg = d:file(e.regf_id, "REG")
    what.path = reg and reg.reg and reg.reg.name
  elseif fd.type == "UNIXSK" and e then what.path = string_format("socket:[%d]", e.ino)
  elseif fd.type == "INETSK" and e then what.path = string_format("socket:[%d]", e.ino or 0) end
  return what
end

local function socket_of(s)
  local e = s.entry
  local out = { id = s.id, family = s.family, type = s.type, state = s.state }
  if s.ftype == "INETSK" then
    out.protocol = e.proto
    out.source = e.src_addr and table_concat(e.src_addr, ".")
    out.source_port, out.dest_port = e.src_port, e.dst_port
  elseif s.ftype == "UNIXSK" then
    local name = e.name and require("crit.core").quopri(e.name) or ""
    out.address = name ~= "" and name or nil
    out.inode, out.peer = e.ino, e.peer
  end
  return out
end

local function processes(d, opts, r)
  local tasks = d:tasks()
  if not tasks then return nil end
  local memory = require "crit.memory"
  local sockets_by_id = {}
  for _, s in ipairs(d:sockets()) do sockets_by_id[s.id] = s end
  local function node(t)
    local p = { pid = t.pid, ppid = t.ppid, comm = t.comm, state = t.state, children = {} }
    local mm = d:has("mm-" .. t.pid) and d:mm_head(t.pid)
    if mm then
      local m = memory.open(d, t.pid)
      if m then
        p.args = strings_at(m, mm.mm_arg_start, mm.mm_arg_end)
        if opts.env then p.env = strings_at(m, mm.mm_env_start, mm.mm_env_end) end
      end
    end
    local fds = d:has("ids-" .. t.pid) and d:fdinfo(t.pid)
    if fds then
      p.files, p.sockets = {}, {}
      for _, fd in ipairs(fds) do
        p.files[#p.files + 1] = file_of(d, fd)
        local s = sockets_by_id[fd.id]
        if s then
          local so = socket_of(s)
          so.fd = fd.fd
          p.sockets[#p.sockets + 1] = so
        end
      end
      r.counts.files = r.counts.files + #p.files
      r.counts.sockets = r.counts.sockets + #p.sockets
    end
    for _, kid in ipairs(t.children) do p.children[#p.children + 1] = node(kid) end
    return p
  end
  local roots = {}
  for _, t in ipairs(tasks.roots) do roots[#roots + 1] = node(t) end
  r.counts.processes = #tasks
  return roots
end

local function mounts(d, spec)
  local list = {}
  if spec and type(spec.mounts) == "table" then
    for _, m in ipairs(spec.mounts) do
      list[#list + 1] = { destination = m.destination, type = m.type, source = m.source }
    end
    return list, "spec.dump"
  end
  for _, name in ipairs(d:names()) do
    if layout.kind(name) == "mountpoints" then
      for _, e in d:image(name):entries() do
        list[#list + 1] = { destination = e.mountpoint, type = e.fstype, source = e.source }
      end
    end
  end
  return list, "mountpoints"
end

-- Dump statistics: stats-dump at the root (podman) or among the images.
local function dump_stats(loc, d)
  local img
  if loc.root then img = require("crit").open(loc.root .. "stats-dump") end
  if not img and d:has("stats-dump") then img = d:image("stats-dump") end
  local e = img and img[1]
  return e and e.dump
end

--- inspect.collect(path, opts) -> report | nil, message. opts.env: the
--- processes' environment too. path: an archive or a directory (the
--- extracted archive, or a bare images directory).
function inspect.collect(path, opts)
  opts = opts or {}
  local loc, err = locate(path)
  if not loc then return nil, err end
  local d, derr = dirlib.open(loc.images)
  if not d then return nil, derr end
  if not d:has("pstree") and not d:has("inventory") then
    return nil, path .. ": not a checkpoint (no pstree.img, no inventory.img)"
  end
  local r = { checkpoint = path, problems = {}, unrecognised = {},
    counts = { processes = 0, files = 0, sockets = 0 } }
  r.format = loc.archive and ("archive (" .. loc.archive:info().compression .. ")")
    or (loc.root and "directory (extracted archive)" or "directory (criu images)")
  local config, spec = read_json(loc, "config.dump", r), read_json(loc, "spec.dump", r)
  r.container = container(config, spec)
  local inventory_time
  r.sizes, inventory_time = sizes(loc, r)
  if r.container and not r.container.checkpointed then r.container.checkpointed = utc(inventory_time) end
  local ok, st = pcall(require("crit.stats").collect, d)
  r.criu = ok and st.format and st.format.criu or nil
  r.processes = processes(d, opts, r)
  r.mounts, r.mounts_from = mounts(d, spec)
  if loc.root then
    local net = read_json(loc, "network.status", r)
    r.network = is_null(net) and "none" or net
    r.deleted_files = read_json(loc, "deleted.files", r)
  end
  r.stats = dump_stats(loc, d)
  table_sort(r.unrecognised)
  return r
end

-- Metadata values that came through cjson: its null is a light userdata.
local function plain(v)
  if type(v) == "table" then
    local t = {}
    for k, x in pairs(v) do t[k] = plain(x) end
    return t
  end
  if is_null(v) and v ~= nil then return nil end
  if type(v) == "number" and v == math.floor(v) and v >= -(2 ^ 53) and v <= 2 ^ 53 then
    return math.tointeger(v)
  end
  return v
end

---------------------------------------------------------------------------
-- Text.

local function human(n)
  return require("crit.stats").human(n)
end

local function tree(out, p, depth, opts)
  local pad = string.rep("  ", depth)
  out[#out + 1] = string_format("%s[%d] %s%s\n", pad, p.pid, p.comm or "?",
    p.args and ("  " .. table_concat(p.args, " ")) or "")
  if opts.env and p.env then
    for _, e in ipairs(p.env) do out[#out + 1] = pad .. "      env " .. e .. "\n" end
  end
  for _, f in ipairs(p.files or {}) do
    out[#out + 1] = string_format("%s      fd %d %s %s\n", pad, f.fd, tostring(f.type), f.path or "")
  end
  for _, s in ipairs(p.sockets or {}) do
    out[#out + 1] = string_format("%s      socket fd %d %s %s%s%s\n", pad, s.fd, tostring(s.family),
      tostring(s.type), s.state and (" " .. tostring(s.state)) or "",
      s.address and (" " .. s.address)
        or (s.source and string_format(" %s:%s", s.source, tostring(s.source_port)) or ""))
  end
  for _, kid in ipairs(p.children) do tree(out, kid, depth + 1, opts) end
end

--- inspect.text(r, opts) -> the report as text.
function inspect.text(r, opts)
  opts = opts or {}
  local out = {}
  local function line(k, v) if v ~= nil then out[#out + 1] = string_format("  %-14s %s\n", k, tostring(v)) end end
  out[#out + 1] = string_format("Checkpoint %s: %s\n", r.checkpoint, r.format)
  local c = r.container
  if c then
    out[#out + 1] = "\nContainer\n"
    line("name", c.name) line("id", c.id) line("image", c.image) line("image id", c.image_id)
    line("engine", c.engine) line("runtime", c.runtime) line("created", c.created)
    line("checkpointed", c.checkpointed) line("pod", c.pod) line("namespace", c.namespace)
    line("hostname", c.hostname)
    if c.args then line("command", table_concat(c.args, " ")) end
  end
  line("criu", r.criu)
  out[#out + 1] = "\nSizes\n"
  line("archive", r.sizes.archive and human(r.sizes.archive))
  line("checkpoint", human(r.sizes.checkpoint)) line("memory pages", human(r.sizes.memory_pages))
  line("rootfs diff", human(r.sizes.rootfs_diff)) line("volumes", human(r.sizes.volumes))
  out[#out + 1] = string_format("\nProcesses (%d; %d open files, %d sockets)\n", r.counts.processes,
    r.counts.files, r.counts.sockets)
  for _, p in ipairs(r.processes or {}) do tree(out, p, 1, opts) end
  out[#out + 1] = string_format("\nMounts (%d, from %s)\n", #r.mounts, r.mounts_from)
  for _, m in ipairs(r.mounts) do
    out[#out + 1] = string_format("  %-24s %-8s %s\n", tostring(m.destination), tostring(m.type),
      tostring(m.source))
  end
  if r.network ~= nil then
    out[#out + 1] = "\nNetwork\n  " .. (type(r.network) == "string" and r.network
      or require("crit.json").encode(plain(r.network))) .. "\n"
  end
  if r.deleted_files then
    out[#out + 1] = string_format("\nDeleted files (%d)\n", #r.deleted_files)
    for _, f in ipairs(r.deleted_files) do out[#out + 1] = "  " .. tostring(f) .. "\n" end
  end
  if r.stats then
    out[#out + 1] = "\nDump statistics\n"
    local keys = {}
    for k in pairs(r.stats) do keys[#keys + 1] = k end
    table_sort(keys)
    for _, k in ipairs(keys) do line(k, r.stats[k]) end
  end
  if #r.unrecognised > 0 then
    out[#out + 1] = "\nNot recognised (left alone): " .. table_concat(r.unrecognised, ", ") .. "\n"
  end
  for _, p in ipairs(r.problems) do out[#out + 1] = "Problem: " .. p .. "\n" end
  return table_concat(out)
end

--- inspect.json(r) -> the report as JSON (crit.json: exact integers).
function inspect.json(r)
  local copy = {}
  for k, v in pairs(r) do copy[k] = v end
  copy.network = plain(r.network)
  copy.deleted_files = plain(r.deleted_files)
  return require("crit.json").encode(copy, { stats = true, container = true, counts = true }) .. "\n"
end

return inspect
