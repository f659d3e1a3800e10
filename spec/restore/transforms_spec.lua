-- Every example transform (examples/transforms) on the restore scenarios where
-- it applies: a live scenario dumped by real criu, transformed by
-- `crit.lua transform DIR SCRIPT -o OUT -- ARGS`, restored by `criu restore -d`,
-- and the effect looked at in /proc (and by the scenario itself).
local RS = require "spec.restore_support"
local SC = require "spec.restore.scenarios"
local dirlib = require "crit.dir"

local CRIT = RS.ROOT .. "/crit.lua"
local SCRIPTS = RS.ROOT .. "/examples/transforms/"
local q = RS.quote

--- crit.lua transform s.dir SCRIPT -o s.tmp/NAME -- ARGS: the output dir and
--- what the script said on stderr.
local n_out = 0
local function transform(s, script, args, from)
  n_out = n_out + 1
  local out = string.format("%s/%s-%d", s.tmp, script:gsub("%.lua$", ""), n_out)
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = q(a) end
  local ok, said = RS.sh(string.format("%s transform %s %s -o %s -- %s", q(CRIT), q(from or s.dir),
    q(SCRIPTS .. script), q(out), table.concat(quoted, " ")))
  assert(ok, script .. " failed: " .. said)
  return out, said
end

--- criu restores dir, and crit.lua check, which judges by what restore
--- does, finds no error in it.
local function must_restore(dir, args, opts)
  RS.must_restore(dir, args, opts)
  local ok, said = RS.sh(q(CRIT) .. " check " .. q(dir))
  assert(ok, "criu restored " .. dir .. ", but crit.lua check says:\n" .. said)
end

local function sh_ok(cmd)
  local ok, out = RS.sh(cmd)
  assert(ok, cmd .. ": " .. out)
  return out
end

-- /proc/PID/limits: { ["Max open files"] = { soft, hard } }
local function limits(pid)
  local t = {}
  for line in (RS.proc(pid, "limits") or ""):gmatch("[^\n]+") do
    local name, soft, hard = line:match("^(Max [%a ]-)%s%s+(%S+)%s+(%S+)")
    if name then t[name] = { soft, hard } end
  end
  return t
end

-- The fds of the dumped task, with their file entries: { { fd =, file = } }.
local function dumped_fds(s)
  local d = assert(dirlib.open(s.dir))
  local list = {}
  for _, e in ipairs(assert(d:fdinfo(s.pid))) do list[#list + 1] = { fd = e.fd, file = d:file(e.id) } end
  table.sort(list, function(a, b) return a.fd < b.fd end)
  return list
end

local function drop_fd(s, ...)
  local args = { tostring(s.pid) }
  for _, fd in ipairs({ ... }) do args[#args + 1] = tostring(fd) end
  return transform(s, "drop-fd.lua", args)
end

-- Start the scenario once, dump it once; every test restores its own
-- transformed copy and stops what it restored.
local function on_scenario(name, body)
  describe("transforms on scenario " .. name .. " #restore", function()
    local env = {}
    local sc = SC.by_name[name] or {}
    lazy_setup(function()
      env.why = RS.skip_reason()
      if env.why then return end
      env.s = RS.start(name, sc.start)
      if sc.before then sc.before(env.s) end      -- plain: s.ticks, its counter
      env.ticks = env.s.ticks
      env.limits = limits(env.s.pid)
      RS.dump(env.s, sc.dump)
    end)
    after_each(function() RS.stop(env.s) end)
    lazy_teardown(function() RS.cleanup(env.s); env.s = nil end)
    body(env, function(what, fn)
      it(what, function()
        if env.why then return pending(env.why) end
        assert(env.s and env.s.dir, "the scenario was not dumped")
        fn(env.s)
      end)
    end, sc.restore)
  end)
end

-- The run directory moves, as on a target host where the files live
-- elsewhere; an empty one stays at the old path, where the scenario (whose
-- RUN is a string in its memory) writes its report.
local function with_run_moved(s, fn)
  local moved = s.tmp .. "/moved"
  sh_ok(string.format("mv %s %s && mkdir %s", q(s.run), q(moved), q(s.run)))
  local ok, err = pcall(fn, moved)
  RS.stop(s)
  sh_ok(string.format("rm -rf %s && mv %s %s", q(s.run), q(moved), q(s.run)))
  if not ok then error(err, 0) end
end

on_scenario("plain", function(env, test)
  test("rename-process: comm and argv[0]", function(s)
    local out = transform(s, "rename-process.lua", { tostring(s.pid), "crit-renamed" })
    must_restore(out)
    assert.are.equal("crit-renamed\n", RS.proc(s.pid, "comm"))
    -- argv[0] /usr/bin/python3 overwritten in place, the rest of it NULs
    local cmdline = RS.proc(s.pid, "cmdline")
    assert.are.equal("crit-renamed" .. ("\0"):rep(#RS.PYTHON - #"crit-renamed") .. "\0"
      .. RS.SCENARIOS .. "/plain.py\0" .. s.run .. "\0", cmdline)
    assert.is_true(SC.report_ok(s).ticks >= env.ticks)
  end)

  test("set-rlimit: /proc/PID/limits", function(s)
    local out = transform(s, "set-rlimit.lua", { "NOFILE=256:512", s.pid .. ":MSGQUEUE=4096" })
    must_restore(out)
    local l = limits(s.pid)
    assert.are.same({ "256", "512" }, l["Max open files"])
    assert.are.equal("4096", l["Max msgqueue size"][1])
    SC.report_ok(s)
  end)

  test("set-rlimit: a raised hard limit needs CAP_SYS_RESOURCE, as the script warns", function(s)
    local soft, hard = table.unpack(env.limits["Max open files"])
    assert(tonumber(hard), "NOFILE is unlimited here")
    local raised = tostring(math.tointeger(hard + 1000))
    local out, said = transform(s, "set-rlimit.lua", { "NOFILE=" .. raised .. ":" .. raised })
    assert.matches("needs CAP_SYS_RESOURCE where criu restores", said)
    must_restore(out)
    -- criu's restorer ignores setrlimit's EPERM: the restore succeeds either way
    local cap_eff = tonumber(RS.status("self").CapEff, 16)
    local CAP_SYS_RESOURCE = 24
    if cap_eff & (1 << CAP_SYS_RESOURCE) ~= 0 then
      assert.are.same({ raised, raised }, limits(s.pid)["Max open files"])
    else
      assert.are.same({ soft, hard }, limits(s.pid)["Max open files"])
    end
    SC.report_ok(s)
  end)

  test("rename-path: the cwd and an open file", function(s)
    with_run_moved(s, function(moved)
      local out, said = transform(s, "rename-path.lua", { s.run, moved })
      assert.matches("rename%-path: 2 paths renamed", said)
      must_restore(out)
      assert.are.equal(moved, RS.readlink("/proc/" .. s.pid .. "/cwd"))
      assert.are.equal(moved .. "/stdout", RS.fds(s.pid)[1])
      SC.report_ok(s)
    end)
  end)

  test("set-creds: uid and gid of a root process", function(s)
    local out = transform(s, "set-creds.lua", { "uid=0:1000", "gid=0:1001" })
    must_restore(out)
    local st = RS.status(s.pid)
    assert.matches("^1000%s+1000%s+1000%s+1000$", st.Uid)
    assert.matches("^1001%s+1001%s+1001%s+1001$", st.Gid)
    SC.report_ok(s)
  end)

  test("pagemap-layout 4.1: restored by criu 4.1.1, memory intact", function(s)
    local criu41, why = RS.criu("4.1.1")
    if not criu41 then return pending(why) end
    local out = transform(s, "pagemap-layout.lua", { "4.1" })
    must_restore(out, nil, { criu = criu41, env = RS.CRIU_4_1_ENV })
    assert.are.equal("crit-plain\n", RS.proc(s.pid, "comm"))
    local r = SC.report_ok(s)                     -- its marker string is intact
    assert.is_true(r.ticks >= env.ticks)
  end)

  test("image-version 1.0: restored by criu 4.2; back to 1.1: the original bytes", function(s)
    local v10 = transform(s, "image-version.lua", { "1.0" })
    local inv = sh_ok(q(CRIT) .. " decode -i " .. q(v10 .. "/inventory.img"))
    assert.matches('"img_version": 1,', inv)
    local head = RS.read_file(v10 .. "/pstree.img"):sub(1, 4)
    assert.are.equal(string.pack("<I4", 0x50273030), head)   -- PSTREE's magic alone
    must_restore(v10)
    assert.is_true(SC.report_ok(s).ticks >= env.ticks)
    RS.stop(s)

    local v11 = transform(s, "image-version.lua", { "1.1" }, v10)
    local _, names = RS.sh("ls " .. q(s.dir))
    for name in names:gmatch("[^\n]+") do
      assert(RS.read_file(s.dir .. "/" .. name) == RS.read_file(v11 .. "/" .. name),
        name .. " differs after 1.0 and back")
    end
    must_restore(v11)
    SC.report_ok(s)
  end)
end)

on_scenario("uid", function(_, test)
  test("set-creds: a task of uid 65534 runs as 1000", function(s)
    local out = transform(s, "set-creds.lua", { "uid=65534:1000", "gid=65534:1000" })
    -- files on disk keep their owners: on a target host they are chowned
    -- (the file it has open, and the directory it writes its report in)
    sh_ok("chown 1000:1000 " .. q(s.run) .. " " .. q(s.run .. "/owned"))
    must_restore(out)
    local st = RS.status(s.pid)
    assert.matches("^1000%s+1000%s+1000%s+1000$", st.Uid)
    assert.matches("^1000%s+1000%s+1000%s+1000$", st.Gid)
    assert.are.equal("", st.Groups)
    local r = SC.report_ok(s)                     -- it checks getresuid and its file's owner
    assert.are.equal(1000, r.uid)
  end)
end)

on_scenario("shm", function(_, test)
  test("set-creds: the SysV shm segments' owners", function(s)
    local out = transform(s, "set-creds.lua", { "uid=0:1000", "gid=0:1001" })
    must_restore(out)
    assert.matches("^1000%s", RS.status(s.pid).Uid)
    -- key shmid perms size cpid lpid nattch uid gid cuid cgid ...
    local table_ = sh_ok("nsenter -t " .. s.pid .. " --ipc cat /proc/sysvipc/shm")
    local seen = 0
    for line in table_:gmatch("[^\n]+") do
      local f = {}
      for w in line:gmatch("%S+") do f[#f + 1] = w end
      if f[2] == tostring(s.ready.attached) or f[2] == tostring(s.ready.detached) then
        seen = seen + 1
        assert.are.same({ "1000", "1001" }, { f[8], f[9] })
        -- the kernel makes criu, the restorer, the creator (the header says so)
        assert.are.same({ "0", "0" }, { f[10], f[11] })
      end
    end
    assert.are.equal(2, seen)
    SC.report_ok(s)
  end)
end)

on_scenario("memfd", function(_, test)
  test("set-creds: the memfd inode's owner, both tasks", function(s)
    local out = transform(s, "set-creds.lua", { "uid=0:1000", "gid=0:1001" })
    must_restore(out)
    for _, pid in ipairs({ s.pid, s.ready.child }) do
      assert.matches("^1000%s+1000%s+1000%s+1000$", RS.status(pid).Uid)
    end
    assert.are.equal("1000:1001\n", sh_ok("stat -L -c %u:%g /proc/" .. s.pid .. "/fd/" .. s.ready.memfd))
    SC.report_ok(s)
  end)
end)

on_scenario("unix", function(_, test)
  test("set-creds: the bound socket's file", function(s)
    local out = transform(s, "set-creds.lua", { "uid=0:1000", "gid=0:1001" })
    must_restore(out)
    assert.matches("^1000%s", RS.status(s.pid).Uid)
    assert.are.equal("1000:1001\n", sh_ok("stat -c %u:%g " .. q(s.ready.path)))
    assert.are.equal("pid " .. s.pid .. " heard hello", assert(RS.client("unix", s.ready.path, "hello")))
    SC.report_ok(s)
  end)

  test("rename-path: the bound socket answers under the new path", function(s)
    with_run_moved(s, function(moved)
      local out = transform(s, "rename-path.lua", { s.run, moved })
      must_restore(out)
      assert.are.equal("pid " .. s.pid .. " heard hello", assert(RS.client("unix", moved .. "/sock", "hello")))
      assert.is_nil(RS.readlink(s.run .. "/sock"))   -- nothing bound at the old path
      assert.are.equal(moved .. "/stdout", RS.fds(s.pid)[1])
      SC.report_ok(s)
    end)
  end)
end)

on_scenario("ghost", function(_, test)
  test("rename-path: the deleted file is recreated under the new path", function(s)
    with_run_moved(s, function(moved)
      local out = transform(s, "rename-path.lua", { s.run, moved })
      must_restore(out)
      assert.are.equal(moved .. "/ghost (deleted)", RS.fds(s.pid)[s.ready.fd])
      SC.report_ok(s)                             -- same bytes, same offset
    end)
  end)
end)

on_scenario("pipes", function(_, test)
  test("rename-path: the FIFO, reopened under the new path, keeps its data", function(s)
    with_run_moved(s, function(moved)
      local out = transform(s, "rename-path.lua", { s.run, moved })
      must_restore(out)
      assert.are.equal(moved .. "/fifo", RS.fds(s.pid)[s.ready.fifo])
      SC.report_ok(s)                             -- the queued data, and epoll
    end)
  end)
end)

on_scenario("pipes", function(_, test)
  test("drop-fd: one end of a pipe, watched by the epoll", function(s)
    local out = drop_fd(s, s.ready.empty)
    must_restore(out)
    local fds = RS.fds(s.pid)
    assert.is_nil(fds[s.ready.empty])
    assert.matches("^pipe:", fds[s.ready.pipe])
    local watched = RS.proc(s.pid, "fdinfo/" .. s.ready.epoll)
    assert.not_matches("tfd:%s+" .. s.ready.empty .. "%s", watched)
    assert.matches("tfd:%s+" .. s.ready.pipe .. "%s", watched)
  end)
end)

on_scenario("tcp", function(_, test, restore_args)
  test("drop-fd: one end of an established connection", function(s)
    local ends = {}
    for _, f in ipairs(dumped_fds(s)) do
      if f.file.isk and f.file.isk.state == 1 then ends[#ends + 1] = f.fd end
    end
    assert.are.equal(2, #ends)
    local out = drop_fd(s, ends[2])
    must_restore(out, restore_args)
    local fds = RS.fds(s.pid)
    assert.is_nil(fds[ends[2]])
    assert.matches("^socket:", fds[ends[1]])
    assert.are.equal("pid " .. s.pid .. " heard hello", assert(RS.client("tcp", "127.0.0.1:" .. s.ready.port, "hello")))
  end)
end)

on_scenario("unix", function(_, test)
  -- the stream socket pair: two unnamed stream sockets, each the other's peer
  local function stream_pair(s)
    local pair = {}
    for _, f in ipairs(dumped_fds(s)) do
      local u = f.file.usk
      if u and u.type == 1 and u.name == "" and u.peer ~= 0 then
        pair[#pair + 1] = { fd = f.fd, ino = u.ino, peer = u.peer }
      end
    end
    -- the client of the accepted connection is unnamed too, but its peer is not
    for _, a in ipairs(pair) do
      for _, b in ipairs(pair) do
        if a.peer == b.ino and b.peer == a.ino and a.fd < b.fd then return a.fd, b.fd end
      end
    end
    error("no stream socket pair in the dump")
  end

  test("drop-fd: one end of a socket pair is refused, both ends restore", function(s)
    local a, b = stream_pair(s)
    local ok, said = RS.sh(string.format("%s transform %s %s -o %s -- %d %d", q(CRIT), q(s.dir),
      q(SCRIPTS .. "drop-fd.lua"), q(s.tmp .. "/one-end"), s.pid, a))
    assert.is_false(ok)
    assert.matches("drop%-fd: fd " .. a .. " is a unix socket connected to socket %d+", said)
    local out = drop_fd(s, a, b)
    must_restore(out)
    local fds = RS.fds(s.pid)
    assert.is_nil(fds[a])
    assert.is_nil(fds[b])
    assert.are.equal("pid " .. s.pid .. " heard hello", assert(RS.client("unix", s.ready.path, "hello")))
  end)
end)

on_scenario("tree", function(_, test)
  test("set-creds: every task of a tree with a session and a zombie", function(s)
    local out = transform(s, "set-creds.lua", { "uid=0:1000", "gid=0:1001" })
    must_restore(out)
    for _, pid in ipairs({ s.pid, s.ready.leader, s.ready.grandchild }) do
      assert.matches("^1000%s+1000%s+1000%s+1000$", RS.status(pid).Uid)
      assert.matches("^1001%s+1001%s+1001%s+1001$", RS.status(pid).Gid)
    end
    SC.by_name.tree.check(s)                      -- sessions, groups, the zombie
  end)

  test("rename-process: a child keeps its place in the tree", function(s)
    local out = transform(s, "rename-process.lua", { tostring(s.ready.leader), "crit-leader" })
    must_restore(out)
    assert.are.equal("crit-leader\n", RS.proc(s.ready.leader, "comm"))
    assert.are.equal("crit-leader", RS.cmdline(s.ready.leader)[1])
    SC.by_name.tree.check(s)
  end)
end)

on_scenario("uts", function(_, test)
  test("hostname: the namespace's node name", function(s)
    local out = transform(s, "hostname.lua", { "crit-renamed", "crit-domain" })
    must_restore(out)
    assert.are.equal("crit-renamed\n", sh_ok("nsenter -t " .. s.pid .. " --uts uname -n"))
    assert.are.equal("crit-domain\n", sh_ok("nsenter -t " .. s.pid .. " --uts domainname"))
    assert.are_not.equal("crit-renamed\n", sh_ok("uname -n"))   -- not the host's
    -- the process itself sees the new name (its check wanted the old one)
    assert.matches("got 'crit%-renamed'", RS.ask(s).status)
  end)
end)

on_scenario("tcp", function(_, test, restore_args)
  test("rewrite-ip: the listener answers on 127.0.0.2, the connection carries on", function(s)
    local out, said = transform(s, "rewrite-ip.lua", { "127.0.0.1=127.0.0.2" })
    assert.matches("rewrite%-ip: %d+ addresses and ports rewritten", said)
    must_restore(out, restore_args)
    local answer = assert(RS.client("tcp", "127.0.0.2:" .. s.ready.port, "hello"))
    assert.are.equal("pid " .. s.pid .. " heard hello", answer)
    assert.is_nil(RS.client("tcp", "127.0.0.1:" .. s.ready.port, "hello"))
    SC.report_ok(s)                               -- the queued data, both ways
  end)

  test("rewrite-ip: the listener answers on its new port", function(s)
    local port = s.ready.port < 65000 and s.ready.port + 7 or s.ready.port - 7
    local out = transform(s, "rewrite-ip.lua", { ":" .. s.ready.port .. "=:" .. port })
    must_restore(out, restore_args)
    local answer = assert(RS.client("tcp", "127.0.0.1:" .. port, "hello"))
    assert.are.equal("pid " .. s.pid .. " heard hello", answer)
    assert.is_nil(RS.client("tcp", "127.0.0.1:" .. s.ready.port, "hello"))
    SC.report_ok(s)
  end)
end)

on_scenario("epoll", function(_, test)
  test("drop-fd --prune: an fd an epoll watches; the epoll delivers the others", function(s)
    local out, said = transform(s, "drop-fd.lua", { tostring(s.pid), tostring(s.ready.drop), "--prune" })
    assert.matches("removed from the targets of its epolls", said)
    must_restore(out)
    assert.is_nil(RS.fds(s.pid)[s.ready.drop])
    local watched = RS.proc(s.pid, "fdinfo/" .. s.ready.epoll)
    assert.matches("tfd:%s+" .. s.ready.fifo .. "%s", watched)
    assert.not_matches("tfd:%s+" .. s.ready.drop .. "%s", watched)
    sh_ok("timeout 5 sh -c " .. q("echo wake > " .. q(s.ready.path)))
    local r = RS.ask(s)
    assert.are.equal("ok", r.status)
    assert.are.same({ tostring(s.ready.fifo), "wake", 0 }, { tostring(r.ready), r.fifo_data, r.drop_open })
  end)
end)

-- The layout conversions apply to every dump: every scenario, converted,
-- restores and passes its own checks (sc.check, as in scenarios_spec.lua).
for _, sc in ipairs(SC.list) do
  on_scenario(sc.name, function(_, test, restore_args)
    test("image-version 1.0: restored by criu 4.2, the same process", function(s)
      must_restore(transform(s, "image-version.lua", { "1.0" }), restore_args)
      sc.check(s)
    end)

    -- its own check (sc.check also wants the owners it was dumped with)
    test("set-creds uid=0:1000 gid=0:1001: restored, as 1000, and its state intact", function(s)
      must_restore(transform(s, "set-creds.lua", { "uid=0:1000", "gid=0:1001" }), restore_args)
      if not s.uid then assert.matches("^1000%s+1000%s+1000%s+1000$", RS.status(s.pid).Uid) end
      SC.report_ok(s)
    end)

    test("pagemap-layout 4.1: restored by criu 4.1.1, the same process", function(s)
      local criu41, why = RS.criu("4.1.1")
      if not criu41 then return pending(why) end
      must_restore(transform(s, "pagemap-layout.lua", { "4.1" }), restore_args,
        { criu = criu41, env = RS.CRIU_4_1_ENV })
      sc.check(s)
    end)
  end)
end
