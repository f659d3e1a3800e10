-- The restore suite's harness: start a live scenario, dump it with real criu,
-- restore it with `criu restore -d`, look at it in /proc, and always clean up.
--
--   local RS = require "spec.restore_support"
--   describe("x #restore", function()
--     local s
--     after_each(function() RS.cleanup(s); s = nil end)   -- runs even when a test fails
--     it("...", function()
--       if RS.skip_reason() then return pending(RS.skip_reason()) end
--       s = RS.start("plain")                    -- spec/restore/scenarios/plain.py
--       local dir = RS.dump(s)                   -- s.tmp/images; the tree is gone
--       assert(RS.restore(dir))                  -- same PIDs again
--       assert.are.equal("ok", RS.ask(s).status) -- the scenario checked itself
--     end)
--   end)
--
-- RS.skip_reason()        nil when root, criu >= 4.2 and the reaper are there, else why not
--                         (with env CRIT_RESTORE_REQUIRED, as in CI, it raises instead).
-- RS.criu(version)        path of criu "4.2" (env CRIT_CRIU, then build/criu-4.2, then
--                         `criu` on PATH if >= 4.2) or "4.1.1" (build/criu-4.1.1; needs
--                         RS.CRIU_4_1_ENV); nil, reason when there is none.
-- RS.start(name, opts)    starts spec/restore/scenarios/NAME.py in a fresh scratch dir and
--                         waits until it is ready (scenario.py says how scenarios behave).
--                         opts.wrap: a command prefix list (e.g. {"unshare", "--ipc",
--                         "--fork"}); opts.uid, opts.gid: run as that uid/gid (setpriv).
--                         Returns s: s.pid (the root to dump), s.tmp (removed by cleanup),
--                         s.run (its cwd), s.ready (the facts it wrote: s.ready.port ...).
-- RS.dump(s, args)        `criu dump -t s.pid` into s.tmp/images (args: extra options;
--                         a scenario started with opts.uid is dumped as that uid);
--                         waits until the whole dumped tree is reaped; returns s.dir.
--                         Raises with criu's error lines when the dump fails.
-- RS.restore(dir, args, opts)  `criu restore -d -D dir`; returns true, or false and the
--                         "Error" lines of criu's log. opts.criu: binary; opts.env: a table
--                         of environment variables; opts.log: the log path.
-- RS.must_restore(dir, args, opts)  the same, raising with the log lines on failure.
-- RS.stop(s)              kills the (restored) tree and waits until it is reaped; the
--                         images stay, so the same dump can be restored again.
-- RS.cleanup(s)           stop, unmount what is under s.tmp, remove s.tmp. Accepts nil.
-- RS.ask(s)               SIGUSR1 to s.pid; returns its report: { status = "ok" or
--                         "fail ...", key = value... }.
-- RS.copy(dir, to)        a copy of an images dir (cp -a); returns to.
-- RS.proc(pid, file)      /proc/PID/FILE as a string (nil if gone); RS.status(pid) the
--                         /proc/PID/status fields as a table; RS.stat(pid) state, ppid,
--                         pgrp, session; RS.fds(pid) { [fd] = readlink target };
--                         RS.cmdline(pid) argv list; RS.readlink(path).
-- RS.sh(cmd)              runs a shell command; returns ok, its output (stdout+stderr).
-- RS.client(...)          spec/restore/scenarios/client.py: talk to a restored server.
local lfs = require "lfs"

local RS = {}

-- Absolute: scenarios run in their own directory.
local function script_dir()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)/[^/]*$") or "."
  local p = assert(io.popen("cd '" .. dir:gsub("'", "'\\''") .. "' && pwd"))
  local abs = p:read("l")
  p:close()
  return abs
end
RS.ROOT = script_dir():gsub("/[^/]*$", "")
RS.SCENARIOS = script_dir() .. "/restore/scenarios"
RS.PYTHON = "/usr/bin/python3"
RS.CRIU_4_1_ENV = { CRIU_FAULT = "130" } -- criu 4.1.1 skips hardware breakpoints here

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
RS.quote = q

function RS.sh(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1"))
  local out = p:read("a")
  local ok, _, code = p:close()
  return ok == true, out, code
end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
RS.read_file = read_file

local function exists(path)
  return lfs.attributes(path, "mode") ~= nil
end

local function sleep(seconds)
  os.execute("sleep " .. seconds)
end

-- wait_until(fn, seconds): true once fn() is true, false after the timeout.
local function wait_until(fn, seconds)
  local tries = math.ceil((seconds or 10) / 0.05)
  for _ = 1, tries do
    if fn() then return true end
    sleep(0.05)
  end
  return fn() and true or false
end
RS.wait_until = wait_until

--- criu's version as {major, minor, sub}, or nil.
local function criu_version(path)
  local ok, out = RS.sh(q(path) .. " --version")
  local a, b, c = out:match("Version:%s*(%d+)%.(%d+)%.?(%d*)")
  if not ok or not a then return nil end
  return { tonumber(a), tonumber(b), tonumber(c) or 0 }
end

local function at_least(v, major, minor)
  return v and (v[1] > major or (v[1] == major and v[2] >= minor))
end

local located = {}
function RS.criu(version)
  version = version or "4.2"
  if located[version] ~= nil then return located[version] or nil, located[version .. "?"] end
  local path, why
  if version == "4.2" then
    local env = os.getenv("CRIT_CRIU")
    local built = RS.ROOT .. "/build/criu-4.2/criu/criu"
    if env and env ~= "" then
      path = env
      if not at_least(criu_version(env), 4, 2) then path, why = nil, "CRIT_CRIU=" .. env .. " is not criu >= 4.2" end
    elseif exists(built) then
      path = built
    else
      local ok, out = RS.sh("command -v criu")
      local onpath = ok and out:match("^%s*(.-)%s*$")
      if onpath and at_least(criu_version(onpath), 4, 2) then
        path = onpath
      else
        why = "no criu >= 4.2: run `make criu` (needs ../shared) or set CRIT_CRIU"
      end
    end
  else
    local built = RS.ROOT .. "/build/criu-" .. version .. "/criu/criu"
    if exists(built) then path = built else why = "no " .. built .. ": run `make criu`" end
  end
  located[version], located[version .. "?"] = path or false, why
  return path, why
end

--- Why the restore suite cannot run here, or nil. With CRIT_RESTORE_REQUIRED
--- set (CI) there must be no reason: it raises instead, and the tests fail.
local function why_not()
  local ok, uid = RS.sh("id -u")
  if not ok or tonumber(uid) ~= 0 then return "the restore suite needs root" end
  local criu, why = RS.criu("4.2")
  if not criu then return why end
  local reaper = tonumber(os.getenv("CRIT_REAPER") or "")
  if not reaper or not exists("/proc/" .. reaper) then
    return "not under build/reaper (run `make test` or `make test-restore`)"
  end
  if not exists(RS.PYTHON) then return "no " .. RS.PYTHON end
  if os.getenv("CRIT_SANITIZED") then return "the restore suite does not run against the sanitized module" end
  return nil
end

function RS.skip_reason()
  local why = why_not()
  if why and os.getenv("CRIT_RESTORE_REQUIRED") and not os.getenv("CRIT_SANITIZED") then
    error("CRIT_RESTORE_REQUIRED, but " .. why, 2)
  end
  return why
end

-- /proc ------------------------------------------------------------------

function RS.proc(pid, file)
  return read_file("/proc/" .. pid .. "/" .. file)
end

function RS.alive(pid)
  return exists("/proc/" .. pid)
end

function RS.status(pid)
  local s = RS.proc(pid, "status")
  if not s then return nil end
  local t = {}
  for k, v in s:gmatch("([%w_]+):[ \t]*([^\n]*)") do t[k] = v end
  return t
end

function RS.stat(pid)
  local s = RS.proc(pid, "stat")
  if not s then return nil end
  -- comm may hold spaces and parentheses: the fields follow the last ')'.
  local rest = s:match(".*%)%s+(.*)")
  local f = {}
  for w in rest:gmatch("%S+") do f[#f + 1] = w end
  return { state = f[1], ppid = tonumber(f[2]), pgrp = tonumber(f[3]), session = tonumber(f[4]) }
end

function RS.cmdline(pid)
  local s = RS.proc(pid, "cmdline") or ""
  local argv = {}
  for a in s:gmatch("([^%z]*)%z") do argv[#argv + 1] = a end
  return argv
end

function RS.readlink(path)
  local ok, out = RS.sh("readlink " .. q(path))
  return ok and (out:gsub("\n$", "")) or nil
end

function RS.fds(pid)
  local ok, out = RS.sh("cd /proc/" .. pid .. "/fd && "
    .. "for f in *; do printf '%s %s\\n' \"$f\" \"$(readlink \"$f\")\"; done")
  local fds = {}
  if not ok then return fds end
  for fd, target in out:gmatch("(%d+) ([^\n]*)") do fds[tonumber(fd)] = target end
  return fds
end

--- pid and all its descendants (zombies included), parents first.
function RS.tree(pid)
  local all, i = { pid }, 1
  while all[i] do
    local _, out = RS.sh("cat /proc/" .. all[i] .. "/task/*/children 2>/dev/null")
    for c in out:gmatch("%d+") do all[#all + 1] = tonumber(c) end
    i = i + 1
  end
  return all
end

-- scenarios --------------------------------------------------------------

local function parse_facts(text)
  local t = {}
  for line in (text or ""):gmatch("[^\n]+") do
    local k, v = line:match("^(%S+)%s?(.*)$")
    if k then t[k] = tonumber(v) or v end
  end
  return t
end

function RS.start(name, opts)
  opts = opts or {}
  local script = RS.SCENARIOS .. "/" .. name .. ".py"
  assert(exists(script), "no scenario " .. script)
  local _, out = RS.sh("mktemp -d /tmp/lua-crit-restore.XXXXXX")
  local s = { name = name, tmp = out:match("%S+"), pids = {} }
  s.run = s.tmp .. "/run"
  assert(os.execute("mkdir " .. q(s.run)))
  local prefix = ""
  if opts.uid then
    -- the scenario writes its ready and report files as that uid
    s.uid, s.gid = opts.uid, opts.gid or opts.uid
    assert(os.execute(string.format("chmod 0755 %s && chown %d:%d %s", q(s.tmp), s.uid, s.gid, q(s.run))))
    prefix = string.format("setpriv --reuid=%d --regid=%d --clear-groups ", s.uid, s.gid)
  end
  local wrap = {}
  for i, w in ipairs(opts.wrap or {}) do wrap[i] = q(w) .. " " end
  prefix = table.concat(wrap) .. prefix
  local cmd = string.format("cd %s && %s%s %s %s </dev/null >launcher.log 2>&1 & echo $!",
    q(s.run), prefix, q(RS.PYTHON), q(script), q(s.run))
  local _, launched = RS.sh(cmd)
  s.launcher = tonumber(launched:match("%d+"))
  local function ready_or_dead()
    return exists(s.run .. "/ready") or not RS.alive(s.launcher)
  end
  if not wait_until(ready_or_dead, 15) or not exists(s.run .. "/ready") then
    local log = (read_file(s.run .. "/launcher.log") or "") .. (read_file(s.run .. "/stdout") or "")
    RS.cleanup(s)
    error("scenario " .. name .. " never got ready: " .. log)
  end
  s.ready = parse_facts(read_file(s.run .. "/ready"))
  s.pid = assert(s.ready.pid, "scenario " .. name .. ": no pid in ready")
  return s
end

-- criu ---------------------------------------------------------------------

--- The lines of a criu log that say what went wrong (the last `n`).
function RS.log_errors(log, n)
  local lines = {}
  for line in (read_file(log) or ("no log " .. log)):gmatch("[^\n]+") do
    if line:match("Error") or line:match("^no log") then lines[#lines + 1] = line end
  end
  n = n or 12
  return table.concat(lines, "\n", math.max(1, #lines - n + 1))
end

-- A damaged image can send criu into a loop: it gets RS.CRIU_TIMEOUT seconds.
RS.CRIU_TIMEOUT = 120

-- as_uid: criu runs as that uid, in its --unprivileged mode, with the two
-- capabilities that mode needs. Root cannot dump another uid's task here:
-- criu reads its rlimits with prlimit(), which then needs CAP_SYS_RESOURCE,
-- and this kind of machine's bounding set lacks it.
local function run_criu(criu, verb, dir, log, args, env, as_uid)
  local words = { "timeout", "-k", "5", tostring(RS.CRIU_TIMEOUT) }
  local function add(...) for _, w in ipairs({ ... }) do words[#words + 1] = q(w) end end
  if as_uid then
    local caps = "+checkpoint_restore,+sys_ptrace"
    add("setpriv", "--reuid=" .. as_uid, "--regid=" .. as_uid, "--clear-groups",
      "--inh-caps=" .. caps, "--ambient-caps=" .. caps)
  end
  if env and next(env) then
    add("env")
    for k, v in pairs(env) do add(k .. "=" .. v) end
  end
  add(criu, verb, "-D", dir, "-v4", "-o", log)
  if as_uid then add("--unprivileged") end
  add(table.unpack(args or {}))
  local ok, _, code = RS.sh(table.concat(words, " "))
  if code == 124 or code == 137 then
    local f = io.open(log, "a")
    if f then
      f:write(("Error (lua-crit spec): criu %s timed out after %d s\n"):format(verb, RS.CRIU_TIMEOUT))
      f:close()
    end
  end
  return ok
end

function RS.dump(s, args, opts)
  opts = opts or {}
  s.dir = s.tmp .. "/images"
  assert(os.execute("mkdir -p " .. q(s.dir)))
  if s.uid then assert(os.execute(string.format("chown %d:%d %s %s", s.uid, s.gid, q(s.dir), q(s.tmp)))) end
  s.pids = RS.tree(s.pid)
  local log = s.tmp .. "/dump.log"
  local criu = opts.criu or assert(RS.criu("4.2"))
  local all = { "-t", tostring(s.pid) }
  for _, a in ipairs(args or {}) do all[#all + 1] = a end
  if not run_criu(criu, "dump", s.dir, log, all, opts.env, s.uid) then
    error("criu dump of " .. s.name .. " failed:\n" .. RS.log_errors(log))
  end
  s.dump_args = args
  if not wait_until(function()
    for _, pid in ipairs(s.pids) do if RS.alive(pid) then return false end end
    return true
  end, 10) then
    error("the dumped tree of " .. s.name .. " was not reaped (run under build/reaper)")
  end
  return s.dir
end

local restores = 0
function RS.restore(dir, args, opts)
  opts = opts or {}
  restores = restores + 1
  local log = opts.log or (dir .. ".restore-" .. restores .. ".log")
  local criu = opts.criu or assert(RS.criu("4.2"))
  local all = { "-d" }
  for _, a in ipairs(args or {}) do all[#all + 1] = a end
  if run_criu(criu, "restore", dir, log, all, opts.env) then return true, log end
  return false, RS.log_errors(log)
end

function RS.must_restore(dir, args, opts)
  local ok, why = RS.restore(dir, args, opts)
  if not ok then error("criu restore of " .. dir .. " failed:\n" .. why, 2) end
  return true
end

-- the restored processes ---------------------------------------------------

function RS.ask(s, timeout)
  local report = s.run .. "/report"
  os.remove(report)
  assert(os.execute("kill -USR1 " .. s.pid), "no process " .. s.pid)
  if not wait_until(function() return exists(report) end, timeout or 10) then
    local st = RS.stat(s.pid)
    error(("scenario %s (pid %d, %s) did not report; its output: %s"):format(s.name, s.pid,
      st and "state " .. st.state or "gone", read_file(s.run .. "/stdout") or ""))
  end
  local text = read_file(report)
  local r = parse_facts(text)
  r.status = text:match("\n?(ok)\n$") or text:match("(fail[^\n]*)") or "no status"
  return r
end

function RS.stop(s)
  if not s then return end
  local pids = {}
  for _, pid in ipairs(s.pid and RS.tree(s.pid) or {}) do pids[#pids + 1] = pid end
  for _, pid in ipairs(s.pids or {}) do pids[#pids + 1] = pid end
  if s.launcher then pids[#pids + 1] = s.launcher end
  for _, pid in ipairs(pids) do os.execute("kill -9 " .. pid .. " 2>/dev/null") end
  -- the reaper reaps them: wait until none is left, zombies included
  local gone = wait_until(function()
    for _, pid in ipairs(pids) do if RS.alive(pid) then return false end end
    return true
  end, 10)
  assert(gone, "processes of " .. (s.name or "?") .. " survive: " .. table.concat(pids, " "))
end

function RS.cleanup(s)
  if not s then return end
  RS.stop(s)
  if s.tmp and s.tmp:match("^/tmp/lua%-crit%-restore%.") then
    local mounts = read_file("/proc/self/mounts") or ""
    for target in mounts:gmatch("%S+ (%S+) [^\n]*") do
      if target:sub(1, #s.tmp) == s.tmp then os.execute("umount -l " .. q(target)) end
    end
    os.execute("rm -rf " .. q(s.tmp))
  end
end

function RS.copy(dir, to)
  assert(os.execute("rm -rf " .. q(to) .. " && cp -a " .. q(dir) .. " " .. q(to)))
  return to
end

--- client.py MODE ADDRESS MESSAGE: the server's one-line answer (or nil, error).
function RS.client(mode, address, message)
  local ok, out = RS.sh(string.format("timeout 10 %s %s %s %s %s", q(RS.PYTHON), q(RS.SCENARIOS .. "/client.py"),
    q(mode), q(address), q(message)))
  if not ok then return nil, out end
  return (out:gsub("\n$", ""))
end

return RS
