-- The restore scenarios: how each is started, dumped and restored, and what
-- proves the restored process is the same one. One home for these facts: the
-- scenario suite and the transform specs use them (SC.by_name.tcp ...).
local RS = require "spec.restore_support"
local assert = require "luassert"

local SC = { list = {}, by_name = {} }

local function scenario(t)
  SC.list[#SC.list + 1] = t
  SC.by_name[t.name] = t
end

--- The scenario's own check after restore must say ok; returns its report.
function SC.report_ok(s)
  local r = RS.ask(s)
  assert.are.equal("ok", r.status)
  return r
end

scenario {
  name = "plain",
  before = function(s) s.ticks = SC.report_ok(s).ticks end,
  check = function(s)
    assert.are.equal("crit-plain\n", RS.proc(s.pid, "comm"))
    local argv = RS.cmdline(s.pid)
    assert.are.equal(RS.PYTHON, argv[1])
    assert.are.equal(RS.SCENARIOS .. "/plain.py", argv[2])
    assert.are.equal(s.run, RS.readlink("/proc/" .. s.pid .. "/cwd"))
    local fds = RS.fds(s.pid)
    assert.are.equal("/dev/null", fds[0])
    assert.are.equal(s.run .. "/stdout", fds[1])
    local r = SC.report_ok(s)
    assert.are.equal(s.pid, r.pid)
    -- memory came back: it counts on from where it was dumped
    assert.is_true(r.ticks >= s.ticks)
  end,
}

local function assert_fd(pid, fd, pattern)
  local target = RS.fds(pid)[fd]
  assert(target and target:match(pattern), ("fd %d of %d is %s, not %s"):format(fd, pid, tostring(target), pattern))
end

scenario {
  name = "tree",
  check = function(s)
    local root, z, leader, grand = s.pid, s.ready.zombie, s.ready.leader, s.ready.grandchild
    local st = RS.stat(root)
    assert.are.same({ root, root }, { st.pgrp, st.session })
    assert.are.equal("Z", RS.stat(z).state)
    assert.are.equal(root, RS.stat(z).ppid)
    assert.are.same({ root, leader, root }, { RS.stat(leader).ppid, RS.stat(leader).pgrp, RS.stat(leader).session })
    assert.are.same({ leader, leader, root }, { RS.stat(grand).ppid, RS.stat(grand).pgrp, RS.stat(grand).session })
    SC.report_ok(s)
  end,
}

scenario {
  name = "pipes",
  check = function(s)
    assert_fd(s.pid, s.ready.pipe, "^pipe:%[%d+%]$")
    assert_fd(s.pid, s.ready.empty, "^pipe:%[%d+%]$")
    assert_fd(s.pid, s.ready.fifo, "^" .. s.run:gsub("%p", "%%%0") .. "/fifo$")
    assert_fd(s.pid, s.ready.epoll, "^anon_inode:%[eventpoll%]$")
    -- epoll still watches all three
    local fdinfo = RS.proc(s.pid, "fdinfo/" .. s.ready.epoll)
    local watched = {}
    for tfd in fdinfo:gmatch("tfd:%s*(%d+)") do watched[#watched + 1] = tonumber(tfd) end
    table.sort(watched)
    local want = { s.ready.pipe, s.ready.empty, s.ready.fifo }
    table.sort(want)
    assert.are.same(want, watched)
    SC.report_ok(s)
  end,
}

scenario {
  name = "tcp",
  -- no iptables here: criu's own nftables lock
  dump = { "--tcp-established", "--network-lock", "nftables" },
  restore = { "--tcp-established", "--network-lock", "nftables" },
  check = function(s)
    local answer = assert(RS.client("tcp", "127.0.0.1:" .. s.ready.port, "hello"))
    assert.are.equal("pid " .. s.pid .. " heard hello", answer)
    SC.report_ok(s)
  end,
}

scenario {
  name = "unix",
  check = function(s)
    local answer = assert(RS.client("unix", s.ready.path, "hello"))
    assert.are.equal("pid " .. s.pid .. " heard hello", answer)
    SC.report_ok(s)
  end,
}

scenario {
  name = "ghost",
  check = function(s)
    assert_fd(s.pid, s.ready.fd, "^" .. s.ready.path:gsub("%p", "%%%0") .. " %(deleted%)$")
    SC.report_ok(s)
  end,
}

scenario {
  name = "shm",
  start = { wrap = { "unshare", "--ipc", "--fork" } },
  check = function(s)
    assert.are_not.equal(RS.readlink("/proc/self/ns/ipc"), RS.readlink("/proc/" .. s.pid .. "/ns/ipc"))
    local ok, out = RS.sh("nsenter -t " .. s.pid .. " --ipc ipcs -m")
    assert(ok, out)
    assert.matches("0x0005eed1%s+" .. s.ready.attached .. "%s+root%s+640%s+1048576%s+1", out)
    assert.matches("0x0005eed2%s+" .. s.ready.detached .. "%s+root%s+600%s+65536%s+0", out)
    SC.report_ok(s)
  end,
}

scenario {
  name = "memfd",
  check = function(s)
    assert_fd(s.pid, s.ready.memfd, "^/memfd:crit%-restore %(deleted%)$")
    assert.are.equal(s.pid, RS.stat(s.ready.child).ppid)
    SC.report_ok(s)
  end,
}

scenario {
  name = "uts",
  start = { wrap = { "unshare", "--uts", "--fork" } },
  check = function(s)
    local ok, out = RS.sh("nsenter -t " .. s.pid .. " --uts uname -n")
    assert(ok, out)
    assert.are.equal("crit-restore-uts\n", out)
    assert.are_not.equal(RS.readlink("/proc/self/ns/uts"), RS.readlink("/proc/" .. s.pid .. "/ns/uts"))
    SC.report_ok(s)
  end,
}

scenario {
  name = "uid",
  start = { uid = 65534 },
  check = function(s)
    local st = RS.status(s.pid)
    assert.matches("^65534%s+65534%s+65534%s+65534$", st.Uid)
    assert.matches("^65534%s+65534%s+65534%s+65534$", st.Gid)
    assert.are.equal("", st.Groups)
    assert_fd(s.pid, s.ready.fd, "^" .. s.run:gsub("%p", "%%%0") .. "/owned$")
    SC.report_ok(s)
  end,
}

return SC
