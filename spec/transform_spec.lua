-- crit.lua transform and the example scripts of examples/transforms: each
-- runs on a copy of a fixture directory; the result must differ from the
-- input by exactly the intended fields, keep every other file as it was
-- (hard-linked), and pass the checks of crit.check that exist.
local S = require "spec.support"
local sh, quote = S.sh, S.quote
local crit = require "crit"
local dirlib = require "crit.dir"
local transform = require "crit.transform"
local lfs = require "lfs"

local FIXTURES = "spec/fixtures/corpus"
local EXAMPLES = "examples/transforms"


local tmp

local crit_cli = S.crit -- ./crit.lua with quoted arguments

-- A writable copy of a fixture directory.
local n = 0
local function copy_fixture(name)
  n = n + 1
  local path = tmp .. "/" .. name .. "-" .. n
  assert(os.execute("cp -r " .. quote(FIXTURES .. "/" .. name) .. " " .. quote(path)))
  return path
end

local function files_of(path)
  local t = {}
  for f in lfs.dir(path) do
    if f ~= "." and f ~= ".." then t[#t + 1] = f end
  end
  table.sort(t)
  return t
end

---------------------------------------------------------------------------
-- What changed between two directories, field by field:
-- { "files.img 18 reg.name", "pages-1.img bytes", "seccomp.img removed" }

local function walk(a, b, path, out)
  if type(a) == "table" and type(b) == "table" then
    local keys = {}
    for k in pairs(a) do keys[k] = true end
    for k in pairs(b) do keys[k] = true end
    local sorted = {}
    for k in pairs(keys) do sorted[#sorted + 1] = k end
    table.sort(sorted, function(x, y) return tostring(x) < tostring(y) end)
    for _, k in ipairs(sorted) do
      local sub = math.type(k) == "integer" and (path .. "[" .. k .. "]")
        or (path == "" and k or path .. "." .. k)
      walk(a[k], b[k], sub, out)
    end
  elseif a ~= b then
    out[#out + 1] = path
  end
end

local function changes(dir_a, dir_b)
  local out, seen = {}, {}
  local function each(f)
    if seen[f] or f:sub(1, 1) == "." then return end
    seen[f] = true
    local pa, pb = dir_a .. "/" .. f, dir_b .. "/" .. f
    local ea, eb = lfs.symlinkattributes(pa), lfs.symlinkattributes(pb)
    if not eb then out[#out + 1] = f .. " removed" return end
    if not ea then out[#out + 1] = f .. " added" return end
    if ea.mode == "link" or eb.mode == "link" then
      if ea.target ~= eb.target then out[#out + 1] = f .. " target" end
      return
    end
    local ba, bb = S.read(pa), S.read(pb)
    if ba == bb then return end
    local ia, ib = crit.load(ba, f), crit.load(bb, f)
    if ia.raw_image then out[#out + 1] = f .. " bytes" return end
    if ia.version ~= ib.version then out[#out + 1] = f .. " version" end
    for k = 1, math.max(#ia, #ib) do
      local diffs = {}
      walk(ia[k], ib[k], "", diffs)
      for _, p in ipairs(diffs) do out[#out + 1] = f .. " " .. k .. (p ~= "" and " " .. p or "") end
    end
  end
  for _, f in ipairs(files_of(dir_a)) do each(f) end
  for _, f in ipairs(files_of(dir_b)) do each(f) end
  table.sort(out)
  return out
end

-- crit.diff (when it is there) names the same images as changed.
local function assert_diff_agrees(dir_a, dir_b, got)
  local ok, diff = pcall(require, "crit.diff")
  if not ok then return end
  local mine, theirs = {}, {}
  for _, c in ipairs(got) do mine[(c:match("^(%S+)"):gsub("%.img$", ""))] = true end
  for _, c in ipairs(diff.dirs(dir_a, dir_b)) do theirs[c.image] = true end
  assert.are.same(mine, theirs)
end

-- Every file that did not change is the same inode (hard-linked).
local function assert_untouched_linked(dir_a, dir_b, changed)
  local skip = {}
  for _, c in ipairs(changed) do skip[c:match("^(%S+)")] = true end
  for _, f in ipairs(files_of(dir_a)) do
    if not skip[f] and f:sub(1, 1) ~= "." then
      local a, b = lfs.symlinkattributes(dir_a .. "/" .. f), lfs.symlinkattributes(dir_b .. "/" .. f)
      assert(b, f .. " is missing from the output")
      if a.mode == "file" then
        assert.are.equal(a.ino, b.ino, f .. " should be hard-linked")
      end
    end
  end
end

-- The errors the checks that exist so far find (crit.check is being written).
local function check_errors(path)
  local ok, check = pcall(require, "crit.check")
  if not ok then return nil end
  local list = {}
  for _, name in ipairs(check.BUILTIN) do
    local loaded, c = pcall(check.builtin, name)
    if loaded then list[#list + 1] = c end
  end
  local findings = check.run(assert(dirlib.open(path)), list)
  local errors = {}
  for _, f in ipairs(findings) do
    if f.severity == "error" then
      local line = check.where(f) .. ": " .. f.message
      errors[#errors + 1] = line:gsub(path:gsub("%p", "%%%0"), "DIR")
    end
  end
  table.sort(errors)
  return errors
end

-- Run an example on a copy of a fixture: the exact changes, the rest
-- linked, and no new check errors.
local function run_example(fixture, script, args, expected)
  local input = copy_fixture(fixture)
  local out = input .. ".out"
  local r = crit_cli("transform", input, EXAMPLES .. "/" .. script, "-o", out, "--", table.unpack(args))
  assert.are.equal(0, r.code, r.err)
  local got = changes(input, out)
  assert.are.same(expected, got)
  assert_diff_agrees(input, out, got)
  assert_untouched_linked(input, out, got)
  local before, after = check_errors(input), check_errors(out)
  if before then assert.are.same(before, after) end
  return input, out, r
end

describe("crit.lua transform", function()
  setup(function() tmp = S.tmpdir() end)
  teardown(function() S.cleanup() end)

  describe("examples", function()
    it("rename-path renames the file entries (cwd and stdout here)", function()
      run_example("sleep", "rename-path.lua", { "/tmp/corpus-work/run/sleep", "/srv/sleep" }, {
        "files.img 18 reg.name", "files.img 19 reg.name",
      })
    end)

    it("rename-process changes comm and argv[0] in the pages", function()
      local _, out = run_example("sleep", "rename-process.lua", { "30956", "nap" }, {
        "core-30956.img 1 tc.comm", "core-30956.img 1 thread_core.comm", "pages-1.img bytes",
      })
      local memory = require "crit.memory"
      local m = assert(memory.open(out, 30956))
      assert.are.equal("nap\0\0\0" .. "1000\0", (m:read(m.mm.mm_arg_start, 11)))
      assert.are.equal(lfs.attributes(FIXTURES .. "/sleep/pages-1.img").size,
        lfs.attributes(out .. "/pages-1.img").size)
    end)

    it("rename-process leaves argv alone when the name is longer", function()
      run_example("sleep", "rename-process.lua", { "30956", "much-longer" }, {
        "core-30956.img 1 tc.comm", "core-30956.img 1 thread_core.comm",
      })
    end)

    it("rewrite-ip rewrites the inet sockets' addresses", function()
      local _, out = run_example("pyfds", "rewrite-ip.lua", { "127.0.0.1=10.0.0.5" }, {
        "files.img 21 isk.src_addr[1]", "files.img 22 isk.dst_addr[1]", "files.img 22 isk.src_addr[1]",
        "files.img 23 isk.dst_addr[1]", "files.img 23 isk.src_addr[1]", "files.img 25 isk.src_addr[1]",
        "files.img 26 isk.dst_addr[1]", "files.img 26 isk.src_addr[1]",
      })
      local files = assert(crit.open(out .. "/files.img"))
      assert.are.equal(string.unpack("<I4", "\10\0\0\5"), files[21].isk.src_addr[1])
    end)

    it("rewrite-ip rewrites ports, alone or with their address", function()
      run_example("pyfds", "rewrite-ip.lua", { ":45529=:9090", "127.0.0.1:44787=127.0.0.2:8080" }, {
        "files.img 21 isk.src_port", "files.img 22 isk.dst_port", "files.img 23 isk.src_port",
        "files.img 25 isk.src_addr[1]", "files.img 25 isk.src_port",
        "files.img 26 isk.dst_addr[1]", "files.img 26 isk.dst_port",
      })
      local r = crit_cli("transform", copy_fixture("pyfds"), EXAMPLES .. "/rewrite-ip.lua", "--dry-run", "--",
        ":45529=127.0.0.2")
      assert.are.equal(1, r.code)
      assert.matches("OLD and NEW must have the same form", r.err)
    end)

    it("set-creds maps uid and gid 0 to 1000 in every thread", function()
      local expected = {}
      for _, pid in ipairs({ 31110, 31114, 31115, 31116, 31118 }) do
        for _, f in ipairs({ "egid", "euid", "fsgid", "fsuid", "gid", "sgid", "suid", "uid" }) do
          expected[#expected + 1] = ("core-%d.img 1 thread_core.creds.%s"):format(pid, f)
        end
      end
      table.sort(expected)
      run_example("misc", "set-creds.lua", { "uid=0:1000", "gid=0:1000" }, expected)
    end)

    it("set-rlimit sets soft and hard limits", function()
      local expected = {}
      for _, pid in ipairs({ 31110, 31114, 31115, 31116, 31118 }) do
        expected[#expected + 1] = ("core-%d.img 1 tc.rlimits.rlimits[8].cur"):format(pid)
        expected[#expected + 1] = ("core-%d.img 1 tc.rlimits.rlimits[8].max"):format(pid)
      end
      expected[#expected + 1] = "core-31110.img 1 tc.rlimits.rlimits[5].cur"
      table.sort(expected)
      local _, out = run_example("misc", "set-rlimit.lua", { "NOFILE=4096:8192", "31110:CORE=unlimited" }, expected)
      local core = assert(crit.open(out .. "/core-31110.img"))[1]
      assert.are.equal(4096, core.tc.rlimits.rlimits[8].cur)
      assert.are.equal(-1, core.tc.rlimits.rlimits[5].cur)
    end)

    it("set-rlimit warns about what the restoring host may refuse", function()
      local input = copy_fixture("misc")
      local r = crit_cli("transform", input, EXAMPLES .. "/set-rlimit.lua", "-o", input .. ".out", "--",
        "31110:NOFILE=4096:2000000")
      assert.are.equal(0, r.code, r.err)
      assert.matches("pid 31110: NOFILE: a hard limit above the dumped one %(20000%) needs CAP_SYS_RESOURCE", r.err)
      assert.matches("NOFILE above 1048576 needs fs.nr_open raised", r.err)
      r = crit_cli("transform", input, EXAMPLES .. "/set-rlimit.lua", "-o", input .. ".low", "--", "NOFILE=64:128")
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("", r.err)
      r = crit_cli("transform", input, EXAMPLES .. "/set-rlimit.lua", "-o", input .. ".bad", "--", "NOFILE=256:128")
      assert.are.equal(1, r.code)
      assert.matches("soft limit above the hard limit", r.err)
    end)

    it("drop-fd removes the fdinfo entry and leaves files.img alone", function()
      local _, out = run_example("sleep", "drop-fd.lua", { "30956", "2" }, { "fdinfo-2.img 3" })
      assert.are.equal(2, #assert(crit.open(out .. "/fdinfo-2.img")))
    end)

    it("drop-fd --prune removes the file entry nothing uses any more", function()
      local input = copy_fixture("sleep")
      local out = input .. ".out"
      local r = crit_cli("transform", input, EXAMPLES .. "/drop-fd.lua", "-o", out, "--", "30956", "0", "--prune")
      assert.are.equal(0, r.code, r.err)
      local fdinfo, files = assert(crit.open(out .. "/fdinfo-2.img")), assert(crit.open(out .. "/files.img"))
      assert.are.same({ 1, 2 }, { fdinfo[1].fd, fdinfo[2].fd })
      local orig = assert(crit.open(input .. "/files.img"))
      assert.are.equal(#orig - 1, #files)
      for _, e in files:entries() do assert.are_not.equal(17, e.id) end   -- /dev/null
      -- fd 1 shares its file with fd 2: --prune keeps a file that is used
      r = crit_cli("transform", input, EXAMPLES .. "/drop-fd.lua", "-o", out .. "2", "--", "30956", "1", "--prune")
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ "fdinfo-2.img 2 fd", "fdinfo-2.img 3" }, changes(input, out .. "2"))
    end)

    it("hostname changes the UTS namespace", function()
      local _, out = run_example("nsfull", "hostname.lua", { "newhost" }, { "utsns-12.img 1 nodename" })
      assert.are.equal("newhost", assert(crit.open(out .. "/utsns-12.img"))[1].nodename)
      local r = crit_cli("transform", copy_fixture("sleep"), EXAMPLES .. "/hostname.lua", "-o", tmp .. "/no", "--", "x")
      assert.are.equal(1, r.code)
      assert.matches("no utsns image", r.err)
    end)
  end)

  describe("version conversion", function()
    local function fields(img)
      local t = {}
      for k, e in img:entries() do
        if k > 1 then
          local names = {}
          for f in pairs(e) do names[#names + 1] = f end
          table.sort(names)
          t[#t + 1] = table.concat(names, ",")
        end
      end
      return t
    end

    local function run(fixture, script, args)
      local input = copy_fixture(fixture)
      local r = crit_cli("transform", input, EXAMPLES .. "/" .. script, "-o", input .. ".out", "--", table.unpack(args))
      assert.are.equal(0, r.code, r.err)
      return input, input .. ".out"
    end

    it("4.2 pagemaps in 4.1's layout are shaped as criu 4.1.1's, and back byte for byte", function()
      local input, out = run("sleep", "pagemap-layout.lua", { "4.1" })
      local converted = assert(crit.open(out .. "/pagemap-30956.img"))
      local real = assert(crit.open(FIXTURES .. "/sleep-criu4.1.1/pagemap-8139.img"))
      local f = fields(converted)
      assert.are.same(fields(real)[1], f[1])
      for _, x in ipairs(f) do assert.are.equal("compat_nr_pages,flags,vaddr", x) end
      local orig = assert(crit.open(input .. "/pagemap-30956.img"))
      for k = 2, #orig do
        assert.are.equal(orig[k].nr_pages, converted[k].compat_nr_pages)
        assert.are.equal(orig[k].vaddr, converted[k].vaddr)
      end
      assert.are.same({ "pagemap-30956.img" }, (function()
        local t = {}
        for _, c in ipairs(changes(input, out)) do t[c:match("^%S+")] = true end
        local l = {}
        for k in pairs(t) do l[#l + 1] = k end
        return l
      end)())
      local back = input .. ".back"
      local r = crit_cli("transform", out, EXAMPLES .. "/pagemap-layout.lua", "-o", back, "--", "4.2")
      assert.are.equal(0, r.code, r.err)
      assert.are.same({}, changes(input, back))
    end)

    it("4.1.1 pagemaps in 4.2's layout are shaped as criu 4.2's, and back byte for byte", function()
      local input, out = run("sleep-criu4.1.1", "pagemap-layout.lua", { "4.2" })
      local converted = assert(crit.open(out .. "/pagemap-8139.img"))
      local real = assert(crit.open(FIXTURES .. "/sleep/pagemap-30956.img"))
      assert.are.same(fields(real)[1], fields(converted)[1])
      local orig = assert(crit.open(input .. "/pagemap-8139.img"))
      for k = 2, #orig do
        assert.are.equal(orig[k].compat_nr_pages, converted[k].nr_pages)
        assert.are.equal(0, converted[k].compat_nr_pages)
      end
      local back = input .. ".back"
      local r = crit_cli("transform", out, EXAMPLES .. "/pagemap-layout.lua", "-o", back, "--", "4.1")
      assert.are.equal(0, r.code, r.err)
      assert.are.same({}, changes(input, back))
    end)

    it("v1.1 images to v1.0 and back, byte for byte", function()
      local input, out = run("sleep", "image-version.lua", { "1.0" })
      for _, f in ipairs(files_of(out)) do
        local img = crit.open(out .. "/" .. f)
        if img and not img.raw_image then assert.are.equal("1.0", img.version, f) end
      end
      -- the headers, and inventory's img_version that tells criu to read them so
      local others = {}
      for _, c in ipairs(changes(input, out)) do
        if not c:match(" version$") then others[#others + 1] = c end
      end
      assert.are.same({ "inventory.img 1 img_version" }, others)
      assert.are.equal(1, assert(crit.open(out .. "/inventory.img"))[1].img_version)
      local r = crit_cli("transform", out, EXAMPLES .. "/image-version.lua", "-o", input .. ".back", "--", "1.1")
      assert.are.equal(0, r.code, r.err)
      assert.are.same({}, changes(input, input .. ".back"))
    end)
  end)

  describe("examples: what criu restores", function()
    local FOWN = { uid = 0, euid = 0, signum = 0, pid_type = 0, pid = 0 }

    -- Change an image of a fixture copy through the Lua API.
    local function edit(path, name, fn)
      local file = path .. "/" .. name .. ".img"
      local img = crit.open(file) or crit.new(fn(nil))
      fn(img)
      img:write(file)
    end

    -- An epoll (file id 900, fd 9) in the fd tables files_ids, watching targets.
    local function add_epoll(path, files_ids, targets)
      local tfd = {}
      for i, fd in ipairs(targets) do tfd[i] = { id = 0, tfd = fd, events = 25, data = fd } end
      edit(path, "files", function(f)
        f:append({ type = "EVENTPOLL", id = 900, epfd = { id = 900, flags = 2, fown = FOWN, tfd = tfd } })
      end)
      for _, id in ipairs(files_ids) do
        edit(path, "fdinfo-" .. id, function(f) f:append({ id = 900, flags = 0, type = "EVENTPOLL", fd = 9 }) end)
      end
    end

    local function epoll_targets(path)
      for _, e in assert(crit.open(path .. "/files.img")):entries() do
        if e.id == 900 then
          local fds = {}
          for i, t in ipairs(e.epfd.tfd or {}) do fds[i] = t.tfd end
          return fds
        end
      end
    end

    local function legacy_targets(path)
      local t = {}
      for _, e in assert(crit.open(path .. "/eventpoll-tfd.img")):entries() do t[#t + 1] = e.id .. ":" .. e.tfd end
      return t
    end

    it("drop-fd removes the fd from the targets of the task's epolls", function()
      local input = copy_fixture("sleep")
      add_epoll(input, { 2 }, { 2, 1 })
      local r = crit_cli("transform", input, EXAMPLES .. "/drop-fd.lua", "-o", input .. ".out", "--", "30956", "2")
      assert.are.equal(0, r.code, r.err)
      assert.matches("fd 2 removed from the targets of its epolls %(1 entries%)", r.err)
      assert.are.same({ 1 }, epoll_targets(input .. ".out"))
      -- fdinfo's entry 3 (fd 2) is gone, the epoll (files.img 21) watches fd 1 alone
      assert.are.same({ "fdinfo-2.img 3 fd", "fdinfo-2.img 3 id", "fdinfo-2.img 3 type", "fdinfo-2.img 4",
        "files.img 21 epfd.tfd[1].data", "files.img 21 epfd.tfd[1].tfd", "files.img 21 epfd.tfd[2]" },
        changes(input, input .. ".out"))
    end)

    it("drop-fd removes the targets of old dumps' eventpoll-tfd.img, and of a pruned epoll", function()
      local input = copy_fixture("sleep")
      add_epoll(input, { 2 }, {})
      edit(input, "eventpoll-tfd", function(img)
        if not img then return "EVENTPOLL_TFD" end
        for _, t in ipairs({ { 900, 2 }, { 900, 1 }, { 901, 2 } }) do   -- 901: not this task's
          img:append({ id = t[1], tfd = t[2], events = 25, data = 0 })
        end
      end)
      local r = crit_cli("transform", input, EXAMPLES .. "/drop-fd.lua", "-o", input .. ".out", "--", "30956", "2")
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ "900:1", "901:2" }, legacy_targets(input .. ".out"))
      r = crit_cli("transform", input, EXAMPLES .. "/drop-fd.lua", "-o", input .. ".pruned", "--",
        "30956", "9", "--prune")
      assert.are.equal(0, r.code, r.err)
      assert.is_nil(epoll_targets(input .. ".pruned"))
      assert.are.same({ "901:2" }, legacy_targets(input .. ".pruned"))
    end)

    it("drop-fd refuses an epoll that another fd table shares", function()
      local input = copy_fixture("misc")
      add_epoll(input, { 2, 3 }, { 1 })                -- 31110 (files 2) and 31114 (files 3)
      local r = crit_cli("transform", input, EXAMPLES .. "/drop-fd.lua", "-o", input .. ".out", "--", "31110", "1")
      assert.are.equal(1, r.code)
      assert.matches("drop%-fd: epoll 0x384 watches fd 1 and is also open in pid 31114", r.err)
      assert.is_nil(lfs.attributes(input .. ".out"))
      -- an fd it does not watch drops as before
      r = crit_cli("transform", input, EXAMPLES .. "/drop-fd.lua", "-o", input .. ".out", "--", "31110", "2")
      assert.are.equal(0, r.code, r.err)
    end)

    it("drop-fd removes what nothing uses; a unix socket goes only with its peer", function()
      local input = copy_fixture("sleep")
      edit(input, "files", function(img)
        for _, u in ipairs({ { 901, 7001, 7002 }, { 902, 7002, 7001 } }) do
          img:append({ type = "UNIXSK", id = u[1], usk = { id = u[1], ino = u[2], type = 1, state = 1, flags = 2,
            uflags = 0, backlog = 0, peer = u[3], fown = FOWN, opts = { so_sndbuf = 1, so_rcvbuf = 1,
            so_snd_tmo_sec = 0, so_snd_tmo_usec = 0, so_rcv_tmo_sec = 0, so_rcv_tmo_usec = 0 }, name = "" } })
        end
      end)
      edit(input, "fdinfo-2", function(img)
        img:append({ id = 901, flags = 0, type = "UNIXSK", fd = 7 })
        img:append({ id = 902, flags = 0, type = "UNIXSK", fd = 8 })
      end)
      edit(input, "sk-queues", function(img)           -- data queued to each, and to another socket
        if not img then return "SK_QUEUES" end
        for _, id in ipairs({ 901, 902, 903 }) do img:append({ id_for = id, length = 2, extra = "hi" }) end
      end)
      local r = crit_cli("transform", input, EXAMPLES .. "/drop-fd.lua", "-o", input .. ".one", "--", "30956", "7")
      assert.are.equal(1, r.code)
      assert.matches("drop%-fd: fd 7 is a unix socket connected to socket 7002 %(file 0x386%) of the dump", r.err)
      assert.is_nil(lfs.attributes(input .. ".one"))
      r = crit_cli("transform", input, EXAMPLES .. "/drop-fd.lua", "-o", input .. ".both", "--", "30956", "7", "8")
      assert.are.equal(0, r.code, r.err)
      local ids = {}
      for _, e in assert(crit.open(input .. ".both/files.img")):entries() do ids[e.id] = true end
      assert.is_nil(ids[901])
      assert.is_nil(ids[902])
      assert.are.equal(3, #assert(crit.open(input .. ".both/fdinfo-2.img")))
      local queued = {}
      for _, e in assert(crit.open(input .. ".both/sk-queues.img")):entries() do queued[#queued + 1] = e.id_for end
      assert.are.same({ 903 }, queued)                  -- the dropped sockets' data goes with them
      -- without --prune too: fd 0's /dev/null entry (17) is used by nothing else
      r = crit_cli("transform", input, EXAMPLES .. "/drop-fd.lua", "-o", input .. ".null", "--", "30956", "0")
      assert.are.equal(0, r.code, r.err)
      for _, e in assert(crit.open(input .. ".null/files.img")):entries() do assert.are_not.equal(17, e.id) end
    end)

    it("image-version sets inventory's img_version in stream mode", function()
      local out = tmp .. "/inventory-1.0.img"
      local r = sh("./crit.lua transform - " .. EXAMPLES .. "/image-version.lua -- 1.0 < "
        .. FIXTURES .. "/sleep/inventory.img > " .. out)
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(1, assert(crit.open(out))[1].img_version)
      r = sh("./crit.lua transform - " .. EXAMPLES .. "/image-version.lua -- 1.0 < "
        .. FIXTURES .. "/sleep/core-30956.img > " .. tmp .. "/core-1.0.img")
      assert.are.equal(0, r.code, r.err)
      assert.matches("inventory.img must say img_version 1", r.err)
    end)

    -- sleep, with the owners criu restores: SysV IPC, memfd inodes, a ghost
    -- file, a bound unix socket (pyfds's files.img) and an F_SETOWN owner.
    local function owners_fixture()
      local input = copy_fixture("sleep")
      for _, f in ipairs({ "ipcns/ipcns-shm-9.img", "ipcns/ipcns-sem-9.img", "ipcns/ipcns-msg-9.img",
                           "pyfds/memfd.img", "pyfds/ghost-file-1.img", "pyfds/files.img" }) do
        assert(os.execute("cp " .. quote(FIXTURES .. "/" .. f) .. " " .. quote(input)))
      end
      edit(input, "files", function(img)
        img[1].reg.fown = { uid = 0, euid = 0, signum = 0, pid_type = 1, pid = 30956 }
      end)
      return input
    end

    it("set-creds changes every owner criu restores", function()
      local input = owners_fixture()
      local r = crit_cli("transform", input, EXAMPLES .. "/set-creds.lua", "-o", input .. ".out", "--",
        "uid=0:1000", "gid=0:1001")
      assert.are.equal(0, r.code, r.err)
      assert.matches("files on disk keep their owners", r.err)
      local out = input .. ".out"
      for _, kind in ipairs({ "shm", "sem", "msg" }) do
        for _, e in assert(crit.open(out .. "/ipcns-" .. kind .. "-9.img")):entries() do
          assert.are.same({ 1000, 1001, 1000, 1001 }, { e.desc.uid, e.desc.gid, e.desc.cuid, e.desc.cgid })
        end
      end
      for _, e in assert(crit.open(out .. "/memfd.img")):entries() do
        assert.are.same({ 1000, 1001 }, { e.uid, e.gid })
      end
      local ghost = assert(crit.open(out .. "/ghost-file-1.img"))[1]
      assert.are.same({ 1000, 1001 }, { ghost.uid, ghost.gid })
      local bound, fown
      for _, e in assert(crit.open(out .. "/files.img")):entries() do
        if e.usk and e.usk.file_perms then bound = e.usk.file_perms end
        if e.id == 1 then fown = e.reg.fown end
        if e.id ~= 1 and e.reg then assert.are.equal(0, e.reg.fown.uid) end   -- no owner set: left
      end
      assert.are.same({ 1000, 1001 }, { bound.uid, bound.gid })
      assert.are.same({ 1000, 1000 }, { fown.uid, fown.euid })
      assert.matches("^1000$", tostring(assert(crit.open(out .. "/core-30956.img"))[1].thread_core.creds.uid))
    end)

    it("set-creds pid=PID leaves what other tasks may share, and says so", function()
      local input = owners_fixture()
      local r = crit_cli("transform", input, EXAMPLES .. "/set-creds.lua", "-o", input .. ".out", "--",
        "uid=0:1000", "pid=30956")
      assert.are.equal(0, r.code, r.err)
      assert.matches("SysV IPC, memfd inodes, socket files, ptys and ghost files keep their owners", r.err)
      local changed = {}
      for _, c in ipairs(changes(input, input .. ".out")) do changed[c:match("^%S+")] = true end
      assert.are.same({ ["core-30956.img"] = true }, changed)
    end)

    it("rename-path refuses to move a path out of its mount; below the mount point it renames", function()
      local input = copy_fixture("sleep")
      assert(os.execute("cp " .. quote(FIXTURES .. "/nsfull/mountpoints-13.img") .. " " .. quote(input)))
      edit(input, "files", function(img)   -- a file on the tmpfs mounted at .../nsfull/mnt
        img:append({ type = "REG", id = 901, reg = { id = 901, flags = 0, pos = 0, fown = FOWN,
          name = "/tmp/corpus-work/run/nsfull/mnt/data" } })
      end)
      local r = crit_cli("transform", input, EXAMPLES .. "/rename-path.lua", "-o", input .. ".out", "--",
        "/tmp/corpus-work/run/nsfull", "/srv/nsfull")
      assert.are.equal(1, r.code)
      assert.matches("rename%-path: /tmp/corpus%-work/run/nsfull/mnt/data is in the mount at "
        .. "/tmp/corpus%-work/run/nsfull/mnt %(mountpoints%-13%), which criu mounts there again", r.err)
      assert.is_nil(lfs.attributes(input .. ".out"))
      r = crit_cli("transform", input, EXAMPLES .. "/rename-path.lua", "-o", input .. ".out", "--",
        "/tmp/corpus-work/run/nsfull/mnt/data", "/tmp/corpus-work/run/nsfull/mnt/other")
      assert.are.equal(0, r.code, r.err)
      assert.matches("1 paths renamed", r.err)
      r = crit_cli("transform", input, EXAMPLES .. "/rename-path.lua", "-o", input .. ".root", "--", "/", "/x")
      assert.are.equal(1, r.code)
      assert.matches("OLD is /", r.err)
    end)

    it("rename-path renames bound unix sockets, absolute and relative, not abstract ones", function()
      local input = copy_fixture("sleep")
      edit(input, "files", function(img)
        local function sock(id, name, dir)
          img:append({ type = "UNIXSK", id = id, usk = { id = id, ino = id, type = 1, state = 10, flags = 2,
            uflags = 0, backlog = 1, peer = 0, fown = FOWN, opts = { so_sndbuf = 1, so_rcvbuf = 1,
            so_snd_tmo_sec = 0, so_snd_tmo_usec = 0, so_rcv_tmo_sec = 0, so_rcv_tmo_usec = 0 },
            name = name, name_dir = dir } })
        end
        sock(901, "/tmp/corpus-work/run/sleep/app.sock")
        sock(902, "rel.sock", "/tmp/corpus-work/run/sleep/sub")
        sock(903, "\0/tmp/corpus-work/run/sleep/abstract")
        sock(904, "/tmp/corpus-work/run/sleeping.sock")
      end)
      local r = crit_cli("transform", input, EXAMPLES .. "/rename-path.lua", "-o", input .. ".out", "--",
        "/tmp/corpus-work/run/sleep", "/srv/sleep")
      assert.are.equal(0, r.code, r.err)
      assert.matches("rename%-path: 4 paths renamed", r.err)
      local got = {}
      for _, e in assert(crit.open(input .. ".out/files.img")):entries() do
        if e.usk then got[e.id] = { e.usk.name, e.usk.name_dir } end
      end
      assert.are.same({
        [901] = { "/srv/sleep/app.sock" },
        [902] = { "rel.sock", "/srv/sleep/sub" },
        [903] = { "\0/tmp/corpus-work/run/sleep/abstract" },
        [904] = { "/tmp/corpus-work/run/sleeping.sock" },
      }, got)
    end)
  end)

  describe("the engine", function()
    local function script(body)
      n = n + 1
      local path = tmp .. "/script-" .. n .. ".lua"
      S.write(path, body)
      return path
    end

    local function snapshot(path)
      local t = {}
      for _, f in ipairs(files_of(path)) do
        local a = lfs.symlinkattributes(path .. "/" .. f)
        t[f] = a.mode == "link" and ("-> " .. a.target) or S.read(path .. "/" .. f)
      end
      return t
    end

    it("a script that only reads writes nothing new: every file is linked", function()
      local input = copy_fixture("sleep")
      local s = script([[return function(d)
        for _, t in ipairs(d:tasks()) do local _ = d:core(t.pid).tc.comm, d:mm(t.pid).vmas[1] end
        local files = d:image("files") for k = 1, #files do local _ = files[k].reg end
      end]])
      local r = crit_cli("transform", input, s, "-o", input .. ".out")
      assert.are.equal(0, r.code, r.err)
      assert.are.same({}, changes(input, input .. ".out"))
      assert_untouched_linked(input, input .. ".out", {})
    end)

    it("an entry changed and changed back keeps its file; an error names the image", function()
      local input = copy_fixture("sleep")
      local s = script([[return function(d)
        local tc = d:core(30956).tc
        local comm = tc.comm
        tc.comm = "changed"
        tc.comm = comm
      end]])
      local r = crit_cli("transform", input, s, "-o", input .. ".out")
      assert.are.equal(0, r.code, r.err)
      assert_untouched_linked(input, input .. ".out", {})
      s = script([[return function(d)
        d:image("pstree"):append({ pid = -5, ppid = 0, pgid = 1, sid = 1 })
      end]])
      r = crit_cli("transform", input, s, "-o", input .. ".out2")
      assert.are.equal(1, r.code)
      -- the file it was going to be, not the temporary one it was written as
      assert.are.equal("crit.lua: " .. input .. ".out2/pstree.img: entry 2 at offset 30: pid: -5 is out of "
                       .. "range for uint32\n", r.err)
      assert.is_nil(lfs.attributes(input .. ".out2"))
    end)

    it("copies symlinks (parent) and other files; --copy makes copies", function()
      local input = copy_fixture("sleep")
      assert(lfs.link("../some-parent-dump", input .. "/parent", true))
      S.write(input .. "/dump.log", "log\n")
      local s = script("return function(d) d:core(30956).tc.comm = 'x' end")
      local r = crit_cli("transform", input, s, "-o", input .. ".out", "--copy")
      assert.are.equal(0, r.code, r.err)
      local a = lfs.symlinkattributes(input .. ".out/parent")
      assert.are.same({ "link", "../some-parent-dump" }, { a.mode, a.target })
      assert.are.equal("log\n", S.read(input .. ".out/dump.log"))
      assert.are_not.equal(lfs.attributes(input .. "/pages-1.img").ino,
        lfs.attributes(input .. ".out/pages-1.img").ino)
      assert.are.same({ "core-30956.img 1 tc.comm" }, changes(input, input .. ".out"))
    end)

    it("changes made through d:file(id), d:fs and d:fdinfo are written", function()
      local input = copy_fixture("sleep")
      local s = script([[return function(d)
        local fs = d:fs(30956)
        d:file(fs.cwd_id).reg.name = "/elsewhere"
        d:fdinfo(30956)[1].flags = 1
      end]])
      local r = crit_cli("transform", input, s, "-o", input .. ".out")
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ "fdinfo-2.img 1 flags", "files.img 19 reg.name" }, changes(input, input .. ".out"))
    end)

    it("adds and removes images", function()
      local input = copy_fixture("sleep")
      local s = script([[return function(d)
        local uts = d:new_image("utsns-1", "UTSNS")
        uts:append({ nodename = "h", domainname = "(none)" })
        d:remove_image("seccomp")
      end]])
      local r = crit_cli("transform", input, s, "-o", input .. ".out")
      assert.are.equal(0, r.code, r.err)
      assert.are.same({ "seccomp.img removed", "utsns-1.img added" }, changes(input, input .. ".out"))
      assert.are.equal("h", assert(crit.open(input .. ".out/utsns-1.img"))[1].nodename)
    end)

    it("a failing script leaves no OUTDIR and no temporary directory", function()
      local input = copy_fixture("sleep")
      local s = script("return function(d) d:core(30956).tc.comm = 'x'; error('boom', 0) end")
      local before = files_of(tmp)
      local r = crit_cli("transform", input, s, "-o", input .. ".out")
      assert.are.equal(1, r.code)
      assert.are.equal("crit.lua: boom\n", r.err)
      assert.is_nil(lfs.attributes(input .. ".out"))
      local after = {}
      for _, f in ipairs(files_of(tmp)) do if f:sub(1, 1) ~= "." then after[#after + 1] = f end end
      local b = {}
      for _, f in ipairs(before) do if f:sub(1, 1) ~= "." then b[#b + 1] = f end end
      assert.are.same(b, after)
    end)

    it("an entry that cannot be encoded fails before anything is written", function()
      local input = copy_fixture("sleep")
      local snap = snapshot(input)
      local s = script([[return function(d)
        d:core(30956).tc.comm = "renamed"
        d:mm(30956).mm_start_code = "not a number"
      end]])
      local r = crit_cli("transform", input, s, "--in-place")
      assert.are.equal(1, r.code)
      assert.are.same(snap, snapshot(input))
      r = crit_cli("transform", input, s, "-o", input .. ".out")
      assert.are.equal(1, r.code)
      assert.is_nil(lfs.attributes(input .. ".out"))
    end)

    it("--in-place: a failing script changes nothing; a good one only the changed images", function()
      local input = copy_fixture("sleep")
      local snap = snapshot(input)
      local bad = script([[return function(d, args)
        d:core(30956).tc.comm = "renamed"
        d:remove_image("seccomp")
        error("half-way", 0)
      end]])
      local r = crit_cli("transform", input, bad, "--in-place")
      assert.are.equal(1, r.code)
      assert.are.same(snap, snapshot(input))

      local pages_ino = lfs.attributes(input .. "/pages-1.img").ino
      local good = script("return function(d, args) d:core(30956).tc.comm = args[1] end")
      r = crit_cli("transform", input, good, "--in-place", "--", "renamed")
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("renamed", assert(crit.open(input .. "/core-30956.img"))[1].tc.comm)
      assert.are.equal(pages_ino, lfs.attributes(input .. "/pages-1.img").ino)
      local now = snapshot(input)
      for f, bytes in pairs(snap) do
        if f ~= "core-30956.img" then assert.are.equal(bytes, now[f], f) end
      end
      assert.are.same(files_of(FIXTURES .. "/sleep"), files_of(input))
    end)

    it("--dry-run prints what would change and writes nothing", function()
      local input = copy_fixture("sleep")
      local snap = snapshot(input)
      local before = files_of(tmp)
      local r = crit_cli("transform", input, EXAMPLES .. "/rename-process.lua", "--dry-run", "--", "30956", "nap")
      assert.are.equal(0, r.code, r.err)
      if not pcall(require, "crit.diff") then
        assert.are.equal("changed  core-30956.img\nchanged  pages-1.img\n", r.out)
      else
        assert.matches('core%-30956%[1%] tc.comm: "sleep" %-> "nap"', r.out)
        assert.matches("pages%-1", r.out)
      end
      assert.are.same(snap, snapshot(input))
      assert.are.same(before, files_of(tmp))
    end)

    it("stream mode: one image through a pipe", function()
      local pm = FIXTURES .. "/sleep/pagemap-30956.img"
      local out = tmp .. "/stream-pm.img"
      local r = sh("cat " .. quote(pm) .. " | ./crit.lua transform - " .. EXAMPLES
        .. "/pagemap-layout.lua -- 4.1 > " .. quote(out))
      assert.are.equal(0, r.code, r.err)
      local img = assert(crit.open(out))
      assert.is_nil(img[2].nr_pages)
      assert.are.equal(1, img[2].compat_nr_pages)
      -- a script that changes nothing gives the same bytes
      local noop = script("return function(img) assert(img.magic == 'CORE') end")
      r = sh("./crit.lua transform - " .. quote(noop) .. " < " .. FIXTURES .. "/sleep/core-30956.img")
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(S.read(FIXTURES .. "/sleep/core-30956.img"), r.out)
      -- the script may return another image
      local other = script([[local crit = require "crit"
        return function(img) local u = crit.new("UTSNS") u:append({ nodename = "a", domainname = "b" }) return u end]])
      r = sh("./crit.lua transform - " .. quote(other) .. " < " .. FIXTURES .. "/sleep/core-30956.img")
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("UTSNS", crit.load(r.out).magic)
    end)

    it("refuses an existing OUTDIR, a script that returns no function, no mode", function()
      local input = copy_fixture("sleep")
      local s = script("return function() end")
      local r = crit_cli("transform", input, s, "-o", input)
      assert.are.equal(1, r.code)
      assert.matches("already exists", r.err)
      r = crit_cli("transform", input, script("return 42"), "-o", input .. ".x")
      assert.are.equal(1, r.code)
      assert.matches("must return a function", r.err)
      r = crit_cli("transform", input, s)
      assert.are.equal(2, r.code)
      r = crit_cli("transform", input, s, "--in-place", "--dry-run")
      assert.are.equal(2, r.code)
    end)

    it("the library: transform.dir and transform.image", function()
      local input = copy_fixture("sleep")
      local fn = assert(transform.load_script(EXAMPLES .. "/hostname.lua"))
      local ok, err = transform.dir(input, fn, { "x" }, { out = input .. ".out" })
      assert.is_nil(ok)
      assert.matches("no utsns image", err)
      assert.is_nil(lfs.attributes(input .. ".out"))
      fn = function(d) d:core(30956).tc.comm = "lib" end
      assert(transform.dir(input, fn, {}, { out = input .. ".out" }))
      assert.are.same({ "core-30956.img 1 tc.comm" }, changes(input, input .. ".out"))
      local core_bytes = S.read(input .. "/core-30956.img")
      assert.are.equal(core_bytes, transform.image(core_bytes, function(img) local _ = img[1].tc end))
      local renamed = transform.image(core_bytes, function(img) img[1].tc.comm = "s" end)
      assert.are.equal("s", crit.load(renamed)[1].tc.comm)
    end)

    it("write_memory refuses memory that is not in the dump", function()
      local d = assert(dirlib.open(FIXTURES .. "/sleep"))
      assert.has_error(function()
        transform.run(FIXTURES .. "/sleep", function(dd) dd:write_memory(30956, 0x1000, "x") end)
      end)
      assert.is_truthy(d)
    end)
  end)
end)
