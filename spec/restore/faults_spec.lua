-- The fault campaign: check against real restore. One live dump of the
-- "faults" scenario (spec/restore/scenarios/faults.py); each fault is
-- applied to a copy, checked, and restored by criu 4.2 with the options
-- check asks for. Restore "goes wrong" when criu fails or when the restored
-- process finds something of its own lost. The verdicts must agree: an
-- error from check exactly when restore goes wrong (no miss, no false
-- alarm), and the error names the image, entry and field of the fault.
-- CRIT_FAULT_MATRIX=FILE writes the matrix (markdown rows) for the README.
local crit = require "crit"
local dirlib = require "crit.dir"
local check = require "crit.check"
local RS = require "spec.restore_support"

-- This host has no iptables: criu locks the network with nftables.
local ENV_ARGS = { "--network-lock", "nftables" }
local DUMP_ARGS = { "--tcp-established", "--file-locks", "--network-lock", "nftables" }
local RESTORE_SECONDS = 20

local function edit(dir, name, fn)
  local path = dir .. "/" .. name .. ".img"
  local img = assert(crit.open(path))
  fn(img)
  assert(img:write(path))
end

local function remove(dir, name) assert(os.remove(dir .. "/" .. name .. ".img")) end

-- Rewrite every image but the inventory (and raw ones) with this header.
local function all_headers(dir, version)
  local d = assert(dirlib.open(dir))
  for _, name in ipairs(d:names()) do
    local img = d:image(name)
    if name ~= "inventory" and not img.raw_image and not name:match("^stats%-") then
      img:set_version(version)
      assert(img:write(dir .. "/" .. dirlib.image_file(name)))
    end
  end
end

local function index_where(img, pred)
  for k, e in img:entries() do if pred(e) then return k end end
end

-- Facts of the dump a fault needs: pids, the root's fd table and pages.
local function facts_of(dir, s)
  local d = assert(dirlib.open(dir))
  local f = { pid = s.pid, child = s.ready.child, fds = d:ids(s.pid).files_id }
  f.pages = d:image("pagemap-" .. s.pid)[1].pages_id
  f.fdinfo = "fdinfo-" .. f.fds
  local function fd_entry(fd)
    for _, e in ipairs(d:fdinfo(s.pid)) do if e.fd == fd then return e end end
  end
  f.pipe_fd, f.data_fd, f.epoll_fd = s.ready.pipe, s.ready.data, s.ready.epoll
  f.pipe_id, f.data_id, f.epoll_id = fd_entry(f.pipe_fd).id, fd_entry(f.data_fd).id, fd_entry(f.epoll_fd).id
  -- criu 4.2 keeps MAP_SHARED anonymous memory as a memfd of /dev/zero
  for k, e in d:image("memfd"):entries() do
    if e.name == "/dev/zero" then f.shared_k, f.shared_shmid = k, e.shmid end
    if e.name == "crit-faults" then f.memfd_k, f.memfd_shmid = k, e.shmid end
  end
  local files = d:image("files")
  local ep = files[index_where(files, function(e) return e.id == f.epoll_id end)]
  f.pipe_tfd = index_where({ entries = function() return ipairs(ep.epfd.tfd) end },
    function(t) return t.tfd == f.pipe_fd end)
  f.tcp_streams = {}
  for _, name in ipairs(d:names()) do
    if name:match("^tcp%-stream%-") then f.tcp_streams[#f.tcp_streams + 1] = name end
  end
  return f
end

-- Each fault: what it does, how, and where check must put the error (nil
-- when the fault is harmless and check must report no error).
local FAULTS = {
  { "inventory.img deleted", function(dir) remove(dir, "inventory") end, { "inventory.img" } },
  { "inventory img_version 99", function(dir) edit(dir, "inventory", function(i) i[1].img_version = 99 end) end,
    { "inventory.img", 1, "img_version" } },
  { "inventory img_version 1, images keep 1.1 headers",
    function(dir) edit(dir, "inventory", function(i) i[1].img_version = 1 end) end,
    { "inventory.img", 1, "img_version" } },
  { "every image with a 1.0 header, inventory says 2 (image-version.lua 1.0 before its fix)",
    function(dir) all_headers(dir, "1.0") end, { "inventory.img", 1, "img_version" } },
  { "every image with a 1.0 header and inventory img_version 1 (harmless)", function(dir)
      all_headers(dir, "1.0")
      edit(dir, "inventory", function(i) i[1].img_version = 1 end)
    end, nil },
  { "pstree.img with a 1.0 header, inventory says 2",
    function(dir) edit(dir, "pstree", function(i) i:set_version("1.0") end) end, { "pstree.img" } },
  { "pstree.img deleted", function(dir) remove(dir, "pstree") end, { "pstree.img" } },
  { "core of the root deleted", function(dir, f) remove(dir, "core-" .. f.pid) end, { "pstree.img", 1, "threads[1]" } },
  { "core of the child deleted", function(dir, f) remove(dir, "core-" .. f.child) end,
    { "pstree.img", 2, "threads[1]" } },
  { "mm of the root deleted", function(dir, f) remove(dir, "mm-" .. f.pid) end, { "pstree.img", 1, "pid" } },
  { "pagemap of the root deleted", function(dir, f) remove(dir, "pagemap-" .. f.pid) end, { "pstree.img", 1, "pid" } },
  { "pages of the root deleted", function(dir, f) remove(dir, "pages-" .. f.pages) end,
    { "pagemap-%d.img", 1, "pages_id" } },
  { "pages of the root one page short", function(dir, f)
      local p = dir .. "/pages-" .. f.pages .. ".img"
      local fh = assert(io.open(p, "rb")); local bytes = fh:read("a"); fh:close()
      fh = assert(io.open(p, "wb")); fh:write(bytes:sub(1, #bytes - 4096)); fh:close()
    end, { "pages-%p.img" } },
  { "pages of the root with a page too many", function(dir, f)
      local fh = assert(io.open(dir .. "/pages-" .. f.pages .. ".img", "ab")); fh:write(("\0"):rep(4096)); fh:close()
    end, nil },
  { "fd table (fdinfo) deleted", function(dir, f) remove(dir, f.fdinfo) end, { "ids-%d.img", 1, "files_id" } },
  { "an fd names a file id that does not exist", function(dir, f)
      edit(dir, f.fdinfo, function(i) i[index_where(i, function(e) return e.fd == f.data_fd end)].id = 9999 end)
    end, { "fdinfo-%f.img", nil, "id" } },
  { "an fd of the wrong type", function(dir, f)
      edit(dir, f.fdinfo, function(i) i[index_where(i, function(e) return e.fd == f.pipe_fd end)].type = "REG" end)
    end, { "fdinfo-%f.img", nil, "type" } },
  { "an fd that epoll watches dropped", function(dir, f)
      edit(dir, f.fdinfo, function(i) i:remove(index_where(i, function(e) return e.fd == f.pipe_fd end)) end)
    end, { "files.img", nil, "epfd.tfd[%t].tfd" } },
  { "an epoll target moved to an fd the task lacks", function(dir, f)
      edit(dir, "files", function(i)
        local k = index_where(i, function(e) return e.id == f.epoll_id end)
        local e = i[k]; e.epfd.tfd[1].tfd = 999; i[k] = e
      end)
    end, { "files.img", nil, "epfd.tfd[1].tfd" } },
  { "the file of an fd removed from files.img", function(dir, f)
      edit(dir, "files", function(i) i:remove(index_where(i, function(e) return e.id == f.data_id end)) end)
    end, { "fdinfo-%f.img", nil, "id" } },
  { "files.img with an extra file no fd uses (harmless)", function(dir)
      local copy = assert(crit.open(dir .. "/files.img"))  -- a second decode: a table of its own
      local e = copy[index_where(copy, function(x) return x.type == "REG" end)]
      e.id, e.reg.id = 7777, 7777
      edit(dir, "files", function(i) i:append(e) end)
    end, nil },
  { "cwd names a file id that does not exist", function(dir, f)
      edit(dir, "fs-" .. f.pid, function(i) i[1].cwd_id = 9999 end)
    end, { "fs-%d.img", 1, "cwd_id" } },
  { "executable names a file id that does not exist", function(dir, f)
      edit(dir, "mm-" .. f.pid, function(i) i[1].exe_file_id = 9999 end)
    end, { "mm-%d.img", 1, "exe_file_id" } },
  { "a thread without its core", function(dir, f)
      edit(dir, "pstree", function(i) i[1].threads = { f.pid, 99999 } end)
    end, { "pstree.img", 1, "threads[2]" } },
  { "the child's parent not in the dump", function(dir)
      edit(dir, "pstree", function(i) i[2].ppid = 4242 end)
    end, { "pstree.img", 2, "ppid" } },
  { "the child's pid duplicates the root's", function(dir, f)
      edit(dir, "pstree", function(i) i[2].pid, i[2].threads = f.pid, { f.pid } end)
    end, { "pstree.img", 2, "pid" } },
  { "the child dropped from pstree.img (its images stay)", function(dir)
      edit(dir, "pstree", function(i) i:remove(2) end)
    end, { "core-%c.img" } },
  { "pagemap entries out of order", function(dir, f)
      edit(dir, "pagemap-" .. f.pid, function(i) i[2], i[3] = i[3], i[2] end)
    end, { "pagemap-%d.img", 3, "vaddr" } },
  { "pagemap entry outside every VMA", function(dir, f)
      edit(dir, "pagemap-" .. f.pid, function(i) local e = i[2]; e.vaddr = 0x1000; i[2] = e end)
    end, { "pagemap-%d.img", 2, "vaddr" } },
  { "two VMAs overlap", function(dir, f)
      edit(dir, "mm-" .. f.pid, function(i)
        local mm = i[1]
        local v = mm.vmas[#mm.vmas - 1]
        v["end"] = mm.vmas[#mm.vmas].start + 4096
        i[1] = mm
      end)
    end, { "mm-%d.img", 1, "vmas[%v].start" } },
  { "pagemap-shmem of the MAP_SHARED mapping deleted", function(dir, f)
      remove(dir, "pagemap-shmem-" .. f.shared_shmid)
    end, { "memfd.img", "%S", "shmid" } },
  { "pagemap-shmem of the memfd deleted", function(dir, f)
      remove(dir, "pagemap-shmem-" .. f.memfd_shmid)
    end, { "memfd.img", "%M", "shmid" } },
  { "pipe data for a pipe not in the dump", function(dir)
      edit(dir, "pipes-data", function(i) local e = i[1]; e.pipe_id = 424242; i[1] = e end)
    end, { "pipes-data.img", 1, "pipe_id" } },
  { "pipe data cut short", function(dir)
      local p = dir .. "/pipes-data.img"
      local fh = assert(io.open(p, "rb")); local bytes = fh:read("a"); fh:close()
      fh = assert(io.open(p, "wb")); fh:write(bytes:sub(1, #bytes - 10)); fh:close()
    end, { "pipes-data.img", 1 } },
  { "socket queue for a socket not in the dump", function(dir)
      edit(dir, "sk-queues", function(i) local e = i[1]; e.id_for = 424242; i[1] = e end)
    end, { "sk-queues.img", 1, "id_for" } },
  -- A known miss: nothing else in the images says a socket had queued data.
  { "socket queues deleted", function(dir) remove(dir, "sk-queues") end, nil,
    miss = "no image records that the socketpair had data queued" },
  { "a tcp-stream image deleted", function(dir, f) remove(dir, f.tcp_streams[1]) end,
    { "files.img", nil, "isk.state" } },
  { "a file lock on an fd the task lacks", function(dir)
      edit(dir, "filelocks", function(i) local e = i[1]; e.fd = 77; i[1] = e end)
    end, { "filelocks.img", 1, "fd" } },
  { "the root in a cgroup set cgroup.img lacks", function(dir, f)
      edit(dir, "core-" .. f.pid, function(i) local c = i[1]; c.thread_core.cg_set = 99; i[1] = c end)
    end, { "core-%d.img", 1, "thread_core.cg_set" } },
  { "fdinfo with trailing garbage", function(dir, f)
      local fh = assert(io.open(dir .. "/" .. f.fdinfo .. ".img", "ab")); fh:write("\7\0\0\0garbage"); fh:close()
    end, { "fdinfo-%f.img" } },
  { "fs image with a corrupt entry size", function(dir, f)
      local p = dir .. "/fs-" .. f.pid .. ".img"
      local fh = assert(io.open(p, "r+b")); fh:seek("set", 8); fh:write("\255\255\0\0"); fh:close()
    end, { "fs-%d.img" } },
}

-- "%d" the root's pid, "%c" the child's, "%p" the pages id, "%f" the fd
-- table, "%v" the last VMA, "%t" the epoll target of the pipe; "%S" and
-- "%M" the memfd.img entries of the shared mapping and of the memfd.
local function expand(s, f)
  if s == "%S" then return f.shared_k elseif s == "%M" then return f.memfd_k end
  if type(s) ~= "string" then return s end
  return (s:gsub("%%(%a)", { d = tostring(f.pid), c = tostring(f.child), p = tostring(f.pages),
    f = tostring(f.fds), v = tostring(f.last_vma), t = tostring(f.pipe_tfd) }))
end

local function describe_findings(fs)
  local out = {}
  for _, x in ipairs(fs) do out[#out + 1] = x.severity .. " " .. check.where(x) .. ": " .. x.message end
  return table.concat(out, "\n")
end

-- The first line of criu's errors that says why, without the harmless
-- rlimit complaint of this host.
local function first_criu_error(lines)
  for line in (lines or ""):gmatch("[^\n]+") do
    if not line:match("RLIMIT_NOFILE") then
      return (line:match("Error %b()[^:]*: (.*)$") or line:match("Error %b(): (.*)$") or line):gsub("|", "/")
    end
  end
  return "(no error line)"
end

-- What check says of a fault, for the matrix: its error, else its first
-- finding that is not one of the dump's own options.
local function verdict_of(fs)
  local pick
  for _, x in ipairs(fs) do
    if x.severity == "error" then pick = x break end
    if not pick and x.check ~= "options" then pick = x end
  end
  if not pick then return "no error (only the dump's own options)" end
  return string.format("%s: %s: %s", pick.severity, check.where(pick), pick.message):gsub("|", "/")
end

-- This host's options, then those check's warnings ask for, as argv words
-- (as a shell splits `$(crit.lua check DIR --restore-options)`). The
-- options of "provided" findings name resources (an fd, a mount) that only
-- a real restorer has: a fault breaking a pipe makes its other end look
-- external, and `--inherit-fd` of an fd criu does not have fails at once.
local function restore_args(fs)
  local warned = {}
  for _, x in ipairs(fs) do
    if x.severity == "warning" then warned[#warned + 1] = x end
  end
  local args = { table.unpack(ENV_ARGS) }
  for _, o in ipairs(check.restore_options(warned)) do
    for word in o:gmatch("%S+") do args[#args + 1] = word end
  end
  return args
end

local function first_error(fs)
  for _, x in ipairs(fs) do if x.severity == "error" then return x end end
end

describe("check agrees with restore: fault campaign #restore", function()
  local s, base, facts
  local rows = {}

  setup(function()
    if RS.skip_reason() then return end
    s = RS.start("faults")
    base = RS.dump(s, DUMP_ARGS)
    facts = facts_of(base, s)
    facts.last_vma = #assert(dirlib.open(base)):vmas(s.pid)
  end)

  teardown(function()
    RS.cleanup(s)
    local out = os.getenv("CRIT_FAULT_MATRIX")
    if out and #rows > 0 then
      local fh = assert(io.open(out, "w"))
      fh:write(table.concat(rows, "\n"), "\n")
      fh:close()
    end
  end)

  -- criu under a time limit: some faults make restore spin for ever (a
  -- pages image one page short).
  local function criu_with_timeout()
    local path = s.tmp .. "/criu-timeout"
    local fh = assert(io.open(path, "w"))
    fh:write("#!/bin/sh\nexec timeout -s KILL ", RESTORE_SECONDS, " ", RS.quote(assert(RS.criu("4.2"))), ' "$@"\n')
    fh:close()
    assert(os.execute("chmod +x " .. RS.quote(path)))
    return path
  end

  -- restore: "fails", "restores, loses data" or "restores intact".
  local function restore_verdict(dir, args)
    local t0 = os.time()
    local ok, why = RS.restore(dir, args, { criu = criu_with_timeout() })
    if not ok then
      RS.stop(s)
      if os.time() - t0 >= RESTORE_SECONDS then return false, "hangs (killed after " .. RESTORE_SECONDS .. " s)" end
      return false, "fails: " .. first_criu_error(why)
    end
    local asked, report = pcall(RS.ask, s, 5)
    RS.stop(s)
    if not asked then return false, "restores, then does not answer" end
    if report.status ~= "ok" then return false, "restores, loses data (" .. report.status .. ")" end
    return true, "restores intact"
  end

  it("the dump itself: no error, only the options it was dumped with, and restores intact", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    local fs = check.run(assert(dirlib.open(base)))
    assert.are.equal(0, (check.counts(fs)), describe_findings(fs))
    assert.are.same({ "--tcp-established", "--file-locks" }, check.restore_options(fs))
    local dir = RS.copy(base, s.tmp .. "/as-dumped")
    local args = restore_args(fs)
    local good, what = restore_verdict(dir, args)
    rows[#rows + 1] = string.format("| none: the dump as made | %s | %s |", verdict_of(fs), what)
    assert.is_true(good, what)
  end)

  it("a dump that needs --tcp-established fails without it, and check says so", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    local fs = check.run(assert(dirlib.open(base)))
    local dir = RS.copy(base, s.tmp .. "/no-option")
    local good, what = restore_verdict(dir, { "--file-locks", table.unpack(ENV_ARGS) })
    assert.is_false(good)
    rows[#rows + 1] = string.format("| restored without `--tcp-established` | warning: %s | %s |",
      "restore needs --tcp-established (`--restore-options` prints it)", what)
    local found = false
    for _, x in ipairs(fs) do found = found or (x.option == "--tcp-established" and x.severity == "warning") end
    assert.is_true(found, describe_findings(fs))
  end)

  it("a dump with file locks restores without --file-locks, but loses them: a warning", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    local fs = check.run(assert(dirlib.open(base)))
    local warned = false
    for _, x in ipairs(fs) do warned = warned or (x.option == "--file-locks" and x.severity == "warning") end
    assert.is_true(warned, describe_findings(fs))
    local function locked_after(args)
      RS.must_restore(RS.copy(base, s.tmp .. "/locks-" .. #args), args, { criu = criu_with_timeout() })
      local locks = RS.read_file("/proc/locks") or ""
      local held = locks:match("POSIX%s+ADVISORY%s+WRITE%s+" .. s.pid .. " ") ~= nil
      RS.stop(s)
      return held
    end
    assert.is_true(locked_after({ "--tcp-established", "--file-locks", table.unpack(ENV_ARGS) }))
    assert.is_false(locked_after({ "--tcp-established", table.unpack(ENV_ARGS) }))
    rows[#rows + 1] = "| restored without `--file-locks` | warning: the tasks hold file locks: restore takes them "
      .. "again only with --file-locks | restores, without the lock (with the option: the lock is held again) |"
  end)

  for n, fault in ipairs(FAULTS) do
    local name, apply, where = fault[1], fault[2], fault[3]
    it(name, function()
      if RS.skip_reason() then return pending(RS.skip_reason()) end
      local dir = RS.copy(base, s.tmp .. "/fault-" .. n)
      apply(dir, facts)
      local fs = check.run(assert(dirlib.open(dir)))
      local err = first_error(fs)
      local args = restore_args(fs)
      local good, what = restore_verdict(dir, args)
      rows[#rows + 1] = string.format("| %s | %s | %s |", name, verdict_of(fs), what)
      if fault.miss then
        -- documented, and kept honest: should check learn it, this fails
        rows[#rows] = rows[#rows]:gsub(" |$", " (a known miss: " .. fault.miss .. ") |")
        assert.is_false(good, what)
        assert.is_nil(err, describe_findings(fs))
      elseif good then
        assert.is_nil(err, "false alarm: restore " .. what .. ", check says\n" .. describe_findings(fs))
      else
        assert.is_not_nil(err, "miss: restore " .. what .. ", check says\n" .. describe_findings(fs))
      end
      if where then
        local image, entry, path = expand(where[1], facts), expand(where[2], facts), expand(where[3], facts)
        local named = false
        for _, x in ipairs(fs) do
          if x.severity == "error" and x.image == image and (entry == nil or x.entry == entry)
            and (path == nil or x.path == path) then named = true end
        end
        assert.is_true(named, string.format("no error at %s %s %s:\n%s", image, tostring(entry),
          tostring(path), describe_findings(fs)))
      end
    end)
  end
end)

-- An external mount (issue 19): criu dumps it as a key, and the restorer
-- says what to mount there. check lists it as provided, with the option;
-- restore without it fails, restore with the options check prints (their
-- PATHs filled in) brings the process back with its file.
describe("check agrees with restore: an external mount #restore", function()
  local s
  after_each(function() RS.cleanup(s); s = nil end)

  it("needs --external mnt[KEY]:PATH and --root PATH, as check says", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    s = RS.start("extmount", { wrap = { "unshare", "--mount", "--propagation", "private", "--fork",
      "sh", "-c", 'mkdir ext && mount -t tmpfs crit-ext ext && exec "$@"', "sh" } })
    local dir = RS.dump(s, { "--external", "mnt[" .. s.ready.mountpoint .. "]:crit-ext" })
    local fs = check.run(assert(dirlib.open(dir)))
    assert.are.equal(0, (check.counts(fs)), describe_findings(fs))
    local options = check.restore_options(fs)
    assert.are.same({ "--root PATH", "--external mnt[crit-ext]:PATH" }, options)

    local without, why = RS.restore(RS.copy(dir, s.tmp .. "/without"), {})
    assert.is_false(without)
    assert.matches("No mapping for", why)

    assert(os.execute("mkdir " .. RS.quote(s.tmp .. "/src")))
    local f = assert(io.open(s.tmp .. "/src/data", "w"))
    f:write("CRIT-FAULTS-EXTERNAL-MOUNT\n")
    f:close()
    local values = { ["--root PATH"] = "/", ["--external mnt[crit-ext]:PATH"] = s.tmp .. "/src" }
    local args = {}
    for _, o in ipairs(options) do
      local flag, value = o:match("^(%S+) (.*)$")
      args[#args + 1] = flag
      args[#args + 1] = value:gsub("PATH$", values[o])
    end
    RS.must_restore(RS.copy(dir, s.tmp .. "/with"), args)
    assert.are.equal("ok", RS.ask(s).status)
  end)
end)

-- A datagram socket connected to a socket outside the dump (--ext-unix-sk):
-- check lists the outside socket as provided. criu 4.2 restores it with the
-- option check names, and (calibrated here) without it too.
describe("check agrees with restore: a unix socket connected outside #restore", function()
  local s
  after_each(function()
    if s and s.ready and s.ready.helper then os.execute("kill -9 " .. s.ready.helper .. " 2>/dev/null") end
    RS.cleanup(s); s = nil
  end)

  it("is provided by the restorer, and restores while it exists", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    s = RS.start("extunix")
    local dir = RS.dump(s, { "--ext-unix-sk" })
    local fs = check.run(assert(dirlib.open(dir)))
    assert.are.equal(0, (check.counts(fs)), describe_findings(fs))
    assert.are.same({ "--ext-unix-sk" }, check.restore_options(fs))
    assert.are.equal("provided", fs[1].severity)
    assert.matches("outside%.sock,", fs[1].message)
    for _, args in ipairs({ { "--ext-unix-sk" }, {} }) do
      RS.must_restore(RS.copy(dir, s.tmp .. "/r" .. #args), args)
      assert.are.equal("ok", RS.ask(s).status)
      RS.stop(s)
    end
  end)
end)

-- No false alarm on real dumps: every scenario of the restore suite, dumped
-- as that suite dumps it, gives no error, and restores with only the options
-- check asks for (and this host's network lock) into a process that passes
-- the suite's own checks.
do
  local SC = require "spec.restore.scenarios"
  for _, sc in ipairs(SC.list) do
    describe("check agrees with restore: scenario " .. sc.name .. " #restore", function()
      local s
      after_each(function() RS.cleanup(s); s = nil end)

      it("no error, and check's options restore it", function()
        if RS.skip_reason() then return pending(RS.skip_reason()) end
        s = RS.start(sc.name, sc.start)
        if sc.before then sc.before(s) end
        local dir = RS.dump(s, sc.dump)
        local fs = check.run(assert(dirlib.open(dir)))
        assert.are.equal(0, (check.counts(fs)), describe_findings(fs))
        if os.getenv("CHECK_SPEC_SHOW") then print(sc.name, describe_findings(fs)) end
        local args = restore_args(fs)
        RS.must_restore(dir, args)
        sc.check(s)
      end)
    end)
  end
end
