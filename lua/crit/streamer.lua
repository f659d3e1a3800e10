-- crit.streamer: be criu's image streamer (`criu dump --stream`, `criu
-- restore --stream`): a server on the socket in the images directory, run
-- by a policy written in Lua that says where each image comes from or goes.
--
--   local streamer = require "crit.streamer"
--   local d = assert(require("crit.dir").open("dump"))
--   local server = assert(streamer.server("imgs", "serve"))
--   local result = server:run(streamer.dir_source(d))   -- until criu is done
--   print(result.ok, result.images, result.bytes)
--
-- A policy is a table of functions, called with the image's file name:
--   serve:   policy:source(file) -> nil (criu is told it does not exist),
--            or path, pieces: pieces is a list of strings (bytes as they
--            are) and { offset =, len = } ranges of the file at path; the
--            ranges go from the file to criu's pipe by splice, never
--            through Lua.
--   capture: policy:sink(file) -> the path of a new file to write the image
--            into, or nil to drop it.
--   both, optional: policy:done(file, bytes), policy:failed(file, message).
-- Bytes move in the C core (crit.core.streamer), every pipe at once.
local core = require "crit.core"
local dirlib = require "crit.dir"

local type, error, tostring, setmetatable, pairs, ipairs, pcall, math_floor =
  type, error, tostring, setmetatable, pairs, ipairs, pcall, math.floor
local io_open, string_format = io.open, string.format
local crit_error = core.error

local streamer = {}

-- The sockets criu connects to in its images directory (criu/img-streamer.c).
streamer.SOCKETS = { capture = "streamer-capture.sock", serve = "streamer-serve.sock" }

-- Where criu records that it succeeded: it writes stats-dump (after a
-- complete dump) and stats-restore (once the tasks are resumed) into its
-- work directory (the images directory unless -W), never through the
-- streamer. The protocol itself has no end-of-dump or failure message.
streamer.STATS = { capture = "stats-dump", serve = "stats-restore" }

-- Whether criu asks for a file in the images directory itself: a plain
-- name, no path.
local function plain_name(file)
  return not file:find("/", 1, true) and file ~= "." and file ~= ".."
end
streamer.plain_name = plain_name

-- A file's identity to the nanosecond, to tell whether criu wrote it anew.
local stamp = core.file_stamp

local Server = {}
Server.__index = Server

--- streamer.server(images_dir, "serve" | "capture") -> server | nil, message.
--- The socket exists, and accepts connections, from now until
--- server:close() (or the end of server:run). An existing socket file is
--- never replaced: a live streamer is reported as such, a stale one as a
--- file to remove.
function streamer.server(images_dir, mode)
  local sock_name = streamer.SOCKETS[mode]
  if not sock_name then error("streamer.server: mode 'serve' or 'capture' expected", 2) end
  local d, derr = dirlib.open(images_dir)
  if not d then return nil, derr end
  local path = images_dir:gsub("/+$", "") .. "/" .. sock_name
  local stats_path = images_dir:gsub("/+$", "") .. "/" .. streamer.STATS[mode]
  local before = stamp(stats_path)
  local s, err, errno, live = core.streamer(path, mode)
  if not s then
    if errno == 17 then -- EEXIST
      err = live and path .. ": another streamer is already listening there"
        or path .. ": a stale socket (nobody listens on it): remove it"
    end
    return nil, err
  end
  return setmetatable({
    mode = mode, path = path, images_dir = images_dir, _s = s,
    _stats_path = stats_path, _stats_before = before,
  }, Server)
end

-- Serve one request: the policy's answer, or "absent".
local function answer_serve(self, policy, file, result)
  local path, pieces
  if plain_name(file) then path, pieces = policy:source(file) end
  if path == nil and pieces == nil then
    result.absent[#result.absent + 1] = file
    return self._s:serve(nil)
  end
  if type(pieces) ~= "table" then
    error(crit_error{ file = file, message = "the policy returned no pieces" }, 0)
  end
  return self._s:serve(path or nil, pieces)
end

local function answer_capture(self, policy, file)
  local path = plain_name(file) and policy:sink(file) or nil
  return self._s:capture(path)
end

--- server:run(policy [, opts]) -> result: serves (or captures) until criu
--- closes the connection. opts.timeout: seconds to wait for criu to
--- connect (default: forever); opts.on_event(event): every event, as it
--- comes (for logging). result = { ok = whether criu reported success,
--- pid = criu's, images = count, bytes = total, absent = { file... } (serve:
--- asked for, not there), refused = { pid... } (other connections), broken =
--- the first transfer that broke off, error = message when something went
--- wrong (criu failed, a capture's pipe broken off, a policy error, a
--- protocol error, no criu) }.
function Server:run(policy, opts)
  opts = opts or {}
  local s = self._s
  local result = { ok = false, images = 0, bytes = 0, absent = {}, refused = {} }
  local answer = self.mode == "serve" and answer_serve or answer_capture
  local waited, timeout_ms = 0, opts.timeout and math_floor(opts.timeout * 1000)
  local failure
  while true do
    local ev = s:next(not result.pid and timeout_ms and 200 or -1)
    if opts.on_event then opts.on_event(ev) end
    local kind = ev.kind
    if kind == "timeout" then
      waited = waited + 200
      if waited >= timeout_ms then failure = "criu did not connect within the timeout" break end
    elseif kind == "connected" then
      result.pid = ev.pid
    elseif kind == "dropped" then
      result.pid = nil  -- closed without a word: a probe, not criu
    elseif kind == "request" then
      local ok, res, err = pcall(answer, self, policy, ev.name, result)
      if not ok or not res then
        failure = ev.name .. ": " .. tostring(ok and err or res)
        break  -- criu sees the connection close: its open of the image fails
      end
    elseif kind == "done" then
      result.images, result.bytes = result.images + 1, result.bytes + ev.bytes
      if policy.done then policy:done(ev.name, ev.bytes) end
    elseif kind == "failed" then
      local why = string_format("%s: the transfer broke off after %d bytes (%s)", ev.name, ev.bytes,
        tostring(ev.error))
      if policy.failed then policy:failed(ev.name, why) end
      result.broken = result.broken or why
      -- a capture lost bytes of the dump; criu may stop reading what it
      -- served early, and its own verdict decides
      if self.mode == "capture" then failure = failure or why end
    elseif kind == "refused" then
      result.refused[#result.refused + 1] = ev.pid or 0
    elseif kind == "error" then
      failure = "criu's connection: " .. tostring(ev.error)
      break
    elseif kind == "closed" then
      break
    end
  end
  result.error = failure
  result.ok = not failure and self:criu_succeeded()
  if not result.ok and not result.error then
    result.error = string_format("criu %s failed (it wrote no %s)",
      self.mode == "serve" and "restore" or "dump", streamer.STATS[self.mode])
    if result.broken then result.error = result.error .. "; " .. result.broken end
  end
  self:close()
  return result
end

--- server:criu_succeeded() -> whether criu wrote its stats file anew since
--- the server started. After a dump criu writes it once it has closed the
--- connection: wait for criu's process to exit first (up to 60 s).
function Server:criu_succeeded()
  local function written()
    local now = stamp(self._stats_path)
    return now ~= nil and now ~= self._stats_before
  end
  if self.mode == "capture" and self._s then
    for _ = 1, 600 do
      local exited = self._s:wait_peer(100)
      if exited then break end
      -- criu's pid unknown (no pidfd): give it a moment to write the file
      if exited == nil then
        for _ = 1, 50 do
          if written() then break end
          os.execute("sleep 0.1")
        end
        break
      end
    end
  end
  return written()
end

--- server:close(): stop listening, remove the socket, close every pipe.
function Server:close()
  if self._s then self._s:close() end
end
Server.__close = Server.close
Server.__gc = Server.close

---------------------------------------------------------------------------
-- Policies.

--- streamer.dir_source(d [, changes]) -> a serve policy: the images of the
--- crit.dir object d, as they are on disk, or as changes
--- (crit.transform.changes(d)) says: replaced bytes, patched pages (the
--- patches are written into the stream as the pages pass), removed images.
function streamer.dir_source(d, changes)
  changes = changes or {}
  local policy = {}
  function policy.source(_, file)
    local c = changes[file]
    if c == "remove" then return nil end
    -- a re-encoded image: small, built in memory (pages are never re-encoded)
    if c and not c.patches then return false, { c.image:encode() } end
    -- a file, or an image inside a checkpoint archive: a path and where
    -- in it the image's bytes start
    local path, base, size = d:locate(file)
    if not path then
      if c then error(crit_error{ file = file, message = "patched, but the file is gone" }, 0) end
      return nil
    end
    if not c then return path, { { offset = base, len = size } } end
    local pieces, pos = {}, 0
    for _, p in ipairs(c.patches) do
      if p.offset > pos then pieces[#pieces + 1] = { offset = base + pos, len = p.offset - pos } end
      pieces[#pieces + 1] = p.bytes
      pos = p.offset + #p.bytes
    end
    if pos < size then pieces[#pieces + 1] = { offset = base + pos, len = size - pos } end
    return path, pieces
  end
  return policy
end

--- streamer.dir_sink(path) -> a capture policy: every image into the
--- existing directory path, under its own name (a name criu sends twice
--- is an error: files are created, never overwritten).
function streamer.dir_sink(path)
  local prefix = path:gsub("/*$", "/")
  local policy = { files = {} }
  function policy.sink(self, file)
    self.files[#self.files + 1] = file
    return prefix .. file
  end
  return policy
end

--- streamer.apply_changes(path, changes): write a transform's changes into
--- the directory path, which is ours alone (a capture's temporary
--- directory): new bytes replace images atomically, patches are written
--- over the captured pages in place, without copying them.
function streamer.apply_changes(path, changes)
  local prefix = path:gsub("/*$", "/")
  for file, c in pairs(changes) do
    local target = prefix .. file
    if c == "remove" then
      os.remove(target)
    elseif not c.patches then
      c.image:write(target)
    else
      local f <close>, err = io_open(target, "r+b")
      if not f then error(tostring(err), 0) end
      for _, p in ipairs(c.patches) do
        f:seek("set", p.offset)
        assert(f:write(p.bytes))
      end
      assert(f:flush())
    end
  end
end

return streamer
