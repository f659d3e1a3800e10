-- crit.lua serve and capture against criu's side of the streamer protocol,
-- played by spec/fixtures/fake_criu.py: the bytes served equal what
-- `crit.lua transform` writes, images missing are answered exists=false,
-- every pipe is drained at once, and the errors (stale socket, a second
-- connection, not a dump, garbage on the socket, criu failing) are clear
-- and leave nothing behind. No root, no criu: spec/restore/stream_spec.lua
-- has the real thing.
local support = require "spec.support"

local CRIT = "./crit.lua"
local FAKE = "spec/fixtures/fake_criu.py"
local PY = "python3"
local DUMP = "examples/checkpoint"
local EXAMPLES = "examples/transforms/"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  local p = assert(io.popen("(" .. cmd .. ") 2>&1"))
  local out = p:read("a")
  local ok, _, code = p:close()
  return ok and 0 or code, out
end

local function quote_all(list)
  local t = {}
  for i, a in ipairs(list) do t[i] = q(a) end
  return table.concat(t, " ")
end

local function wait_until(fn, seconds)
  for _ = 1, (seconds or 10) * 20 do
    if fn() then return true end
    os.execute("sleep 0.05")
  end
  return fn()
end

-- crit.lua in the background: { dir } with out, err and rc files.
local function crit_bg(args)
  local dir = support.tmpdir()
  assert(os.execute(string.format("{ %s %s >%s/out 2>%s/err; echo $? >%s/rc; } </dev/null >/dev/null 2>&1 &",
    CRIT, quote_all(args), dir, dir, dir)))
  return { dir = dir }
end

local function finished(h)
  assert(wait_until(function() return support.exists(h.dir .. "/rc") end, 30), "crit.lua did not exit")
  return tonumber(support.read(h.dir .. "/rc")), support.read(h.dir .. "/out"), support.read(h.dir .. "/err")
end

local function is_socket(path)
  return os.execute("test -S " .. q(path)) == true
end

local function fake(args)
  return sh(PY .. " " .. FAKE .. " " .. quote_all(args))
end

local function sha256(path)
  local _, out = sh("sha256sum " .. q(path))
  return out:match("^%x+")
end

-- Start serve on a fresh images dir: the handle, the dir, the socket path.
local function serve(source, ...)
  local imgs = support.tmpdir()
  local args = { "serve", imgs, source, "--timeout", "20", ... }
  local h = crit_bg(args)
  local sock = imgs .. "/streamer-serve.sock"
  assert(wait_until(function() return is_socket(sock) end), "no socket")
  return h, imgs, sock
end

describe("crit.lua serve", function()
  after_each(support.cleanup)

  it("serves every image byte for byte, and exists=false for the others", function()
    local h, imgs, sock = serve(DUMP)
    local rc, out = fake({ "restore", sock, "inventory.img", "pages-1.img", "core-30956.img",
      "sigacts-30956.img", "../etc/passwd", "--stats", imgs .. "/stats-restore" })
    assert.are.equal(0, rc, out)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    for i, name in ipairs({ "inventory.img", "pages-1.img", "core-30956.img" }) do
      local path = DUMP .. "/" .. name
      assert.are.equal(("%s %d %s"):format(name, support.size_of(path), sha256(path)), lines[i])
    end
    assert.are.equal("sigacts-30956.img absent", lines[4])
    assert.are.equal("../etc/passwd absent", lines[5])
    local status, stdout, stderr = finished(h)
    assert.are.equal(0, status, stderr)
    assert.matches("served 3 images %(.-%) to criu %(pid %d+%), 2 asked for and absent; restore succeeded",
      stdout)
    assert.is_false(is_socket(imgs .. "/streamer-serve.sock"))
  end)

  it("serves from a checkpoint archive (plain and gzip) byte for byte, pages patched on the way", function()
    local tmp = support.tmpdir()
    assert(os.execute("tar -cf " .. tmp .. "/d.tar -C examples checkpoint"
      .. " && gzip -k " .. tmp .. "/d.tar"))
    local names = { "inventory.img", "pages-1.img", "core-30956.img", "mm-30956.img" }
    for _, archive in ipairs({ tmp .. "/d.tar", tmp .. "/d.tar.gz" }) do
      local h, _, sock = serve(archive)
      local rc, out = fake({ "restore", sock, table.unpack(names) })
      assert.are.equal(0, rc, out)
      for _, name in ipairs(names) do
        local path = DUMP .. "/" .. name
        assert.matches(("%s %d %s"):format(name, support.size_of(path), sha256(path)), out, 1, true)
      end
      finished(h)
    end
    -- a memory patch over an archive's pages: as transform writes it
    local want = support.tmpdir() .. "/out"
    local args = { "--", "30956", "nap" }
    local rc, msg = sh(CRIT .. " transform " .. DUMP .. " " .. EXAMPLES .. "rename-process.lua -o "
      .. q(want) .. " " .. quote_all(args))
    assert.are.equal(0, rc, msg)
    local h, _, sock = serve(tmp .. "/d.tar.gz", "--transform", EXAMPLES .. "rename-process.lua",
      table.unpack(args))
    local frc, fout = fake({ "restore", sock, "pages-1.img", "core-30956.img" })
    assert.are.equal(0, frc, fout)
    for _, name in ipairs({ "pages-1.img", "core-30956.img" }) do
      local path = want .. "/" .. name
      assert.matches(("%s %d %s"):format(name, support.size_of(path), sha256(path)), fout, 1, true)
    end
    finished(h)
  end)

  it("serves what crit.lua transform would write, pages patched on the way", function()
    local out = support.tmpdir() .. "/out"
    local args = { "--", "30956", "nap" }  -- fits over argv[0] "sleep"
    local rc, msg = sh(CRIT .. " transform " .. DUMP .. " " .. EXAMPLES .. "rename-process.lua -o "
      .. q(out) .. " " .. quote_all(args))
    assert.are.equal(0, rc, msg)
    local h, imgs, sock = serve(DUMP, "--transform", EXAMPLES .. "rename-process.lua", table.unpack(args))
    local names = { "core-30956.img", "pages-1.img", "mm-30956.img", "pagemap-30956.img" }
    local frc, fout = fake({ "restore", sock, table.unpack(names) })
    assert.are.equal(0, frc, fout)
    for _, name in ipairs(names) do
      local path = out .. "/" .. name
      assert.matches(("%s %d %s"):format(name, support.size_of(path), sha256(path)), fout, 1, true)
    end
    -- something did change, and the source did not
    assert.are_not.equal(sha256(DUMP .. "/pages-1.img"), sha256(out .. "/pages-1.img"))
    assert.are_not.equal(sha256(DUMP .. "/core-30956.img"), sha256(out .. "/core-30956.img"))
    local status, _, stderr = finished(h)
    -- the fake wrote no stats-restore: as a failed restore
    assert.are.equal(1, status)
    assert.matches("serve: criu restore failed %(it wrote no stats%-restore%)", stderr)
    assert.are.same({}, support.ls(imgs))
  end)

  it("keeps memory flat: a 512 MiB pages image goes through splice", function()
    local src = support.tmpdir() .. "/dump"
    assert(os.execute("cp -a " .. DUMP .. " " .. q(src) .. " && truncate -s 512M " .. q(src .. "/pages-1.img")))
    local imgs = support.tmpdir()
    local rssfile = imgs .. ".rss"
    assert(os.execute(string.format("/usr/bin/time -f %%M -o %s %s serve %s %s --timeout 20 >/dev/null 2>&1 &",
      q(rssfile), CRIT, q(imgs), q(src))))
    local sock = imgs .. "/streamer-serve.sock"
    assert(wait_until(function() return is_socket(sock) end), "no socket")
    local rc, out = fake({ "restore", sock, "pages-1.img", "--stats", imgs .. "/stats-restore" })
    assert.are.equal(0, rc, out)
    assert.matches("pages%-1%.img 536870912 ", out)
    assert(wait_until(function() return support.exists(rssfile) and support.size_of(rssfile) > 0 end, 30))
    local kib = tonumber(support.read(rssfile):match("%d+"))
    assert.is_true(kib < 32 * 1024, kib .. " KiB")
    os.remove(rssfile)
  end)

  it("refuses a SOURCE that is not a dump, before listening", function()
    local imgs, empty = support.tmpdir(), support.tmpdir()
    local rc, out = sh(CRIT .. " serve " .. q(imgs) .. " " .. q(empty))
    assert.are.equal(1, rc)
    assert.matches("crit.lua: " .. empty:gsub("%p", "%%%0") .. ": not a criu dump %(no inventory.img%)\n$", out)
    assert.are.same({}, support.ls(imgs))
  end)

  it("does not replace a stale socket, and says so", function()
    local imgs = support.tmpdir()
    local sock = imgs .. "/streamer-serve.sock"
    assert(os.execute(PY .. " -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' " .. q(sock)))
    local rc, out = sh(CRIT .. " serve " .. q(imgs) .. " " .. DUMP)
    assert.are.equal(1, rc)
    assert.matches("streamer%-serve%.sock: a stale socket %(nobody listens on it%): remove it\n$", out)
    assert.are.same({ "streamer-serve.sock" }, support.ls(imgs))
  end)

  it("refuses a second streamer on a live socket", function()
    local h, imgs = serve(DUMP)
    local rc, out = sh(CRIT .. " serve " .. q(imgs) .. " " .. DUMP)
    assert.are.equal(1, rc)
    assert.matches("another streamer is already listening there", out)
    -- the check did not disturb it: it serves criu, which comes next
    local frc, fout = fake({ "restore", imgs .. "/streamer-serve.sock", "inventory.img",
      "--stats", imgs .. "/stats-restore" })
    assert.are.equal(0, frc, fout)
    assert.are.equal(0, (finished(h)))
  end)

  it("refuses a second connection while serving the first", function()
    local h, imgs, sock = serve(DUMP)
    local first = support.tmpdir()
    assert(os.execute(string.format(PY .. " %s hold %s 1 >%s/out 2>&1 &", FAKE, q(sock), first)))
    os.execute("sleep 0.3")
    local rc, out = fake({ "restore", sock, "inventory.img" })
    assert.are.equal(3, rc)
    assert.matches("error", out)
    local status, _, stderr = finished(h)
    assert.are.equal(1, status)
    assert.matches("refused a second connection %(pid %d+%)", stderr)
    assert.are.same({}, support.ls(imgs))
  end)

  it("stops on garbage from the socket", function()
    local h, imgs, sock = serve(DUMP)
    fake({ "raw", sock, "ffffffff0a01" })
    local status, _, stderr = finished(h)
    assert.are.equal(1, status)
    assert.matches("serve: criu's connection: a request larger than 4096 bytes: not criu%?", stderr)
    assert.are.same({}, support.ls(imgs))
  end)

  it("gives up when criu does not connect in time", function()
    local imgs = support.tmpdir()
    local rc, out = sh(CRIT .. " serve " .. q(imgs) .. " " .. DUMP .. " --timeout 0.3")
    assert.are.equal(1, rc)
    assert.matches("criu did not connect within the timeout", out)
    assert.are.same({}, support.ls(imgs))
  end)
end)

describe("crit.lua capture", function()
  after_each(support.cleanup)

  local function capture(...)
    local imgs = support.tmpdir()
    local h = crit_bg({ "capture", imgs, "--timeout", "20", ... })
    local sock = imgs .. "/streamer-capture.sock"
    assert(wait_until(function() return is_socket(sock) end), "no socket")
    return h, imgs, sock
  end

  local function dump_files()
    local files = {}
    for _, f in ipairs(support.ls(DUMP)) do
      if f ~= "stats-dump" then files[#files + 1] = DUMP .. "/" .. f end
    end
    return files
  end

  it("writes the dump criu sends into OUT, checked, with criu's stats", function()
    local out = support.tmpdir() .. "/out"
    local h, imgs, sock = capture("-o", out, "--check")
    local args = { "dump", sock, "--stats", imgs .. "/stats-dump:" .. DUMP .. "/stats-dump" }
    for _, f in ipairs(dump_files()) do args[#args + 1] = f end
    local rc, msg = fake(args)
    assert.are.equal(0, rc, msg)
    local status, stdout, stderr = finished(h)
    assert.are.equal(0, status, stderr)
    assert.matches(out:gsub("%p", "%%%0") .. ": no problems found", stdout)
    assert.matches("captured 12 images", stdout)
    assert.are.same(support.ls(DUMP), support.ls(out))
    for _, f in ipairs(support.ls(DUMP)) do
      assert.are.equal(sha256(DUMP .. "/" .. f), sha256(out .. "/" .. f), f)
    end
    assert.are.same({ "stats-dump" }, support.ls(imgs))
  end)

  it("drains every pipe at once (criu writes several images together)", function()
    local src = support.tmpdir()
    for _, name in ipairs({ "pagemap-1.img", "pages-1.img", "pages-2.img" }) do
      assert(os.execute(string.format("head -c %d /dev/urandom > %s", 3 << 20, q(src .. "/" .. name))))
    end
    local out = support.tmpdir() .. "/out"
    local h, imgs, sock = capture("-o", out)
    local rc, msg = fake({ "dump", sock, src .. "/pagemap-1.img", src .. "/pages-1.img", src .. "/pages-2.img",
      "--stats", imgs .. "/stats-dump" })
    assert.are.equal(0, rc, msg)
    local status, _, stderr = finished(h)
    assert.are.equal(0, status, stderr)
    for _, name in ipairs({ "pagemap-1.img", "pages-1.img", "pages-2.img" }) do
      assert.are.equal(sha256(src .. "/" .. name), sha256(out .. "/" .. name))
    end
  end)

  it("applies a transform before committing", function()
    local out = support.tmpdir() .. "/out"
    local h, imgs, sock = capture("-o", out, "--transform", EXAMPLES .. "rename-process.lua", "--",
      "30956", "nap")
    local args = { "dump", sock, "--stats", imgs .. "/stats-dump:" .. DUMP .. "/stats-dump" }
    for _, f in ipairs(dump_files()) do args[#args + 1] = f end
    assert.are.equal(0, (fake(args)))
    local status, _, stderr = finished(h)
    assert.are.equal(0, status, stderr)
    local want = support.tmpdir() .. "/want"
    assert.are.equal(0, (sh(CRIT .. " transform " .. DUMP .. " " .. EXAMPLES .. "rename-process.lua -o "
      .. q(want) .. " -- 30956 nap")))
    for _, f in ipairs(support.ls(want)) do
      assert.are.equal(sha256(want .. "/" .. f), sha256(out .. "/" .. f), f)
    end
  end)

  it("writes nothing when criu fails (no stats-dump)", function()
    local parent = support.tmpdir()
    local out = parent .. "/out"
    local h, imgs, sock = capture("-o", out)
    local args = { "dump", sock }
    for _, f in ipairs(dump_files()) do args[#args + 1] = f end
    assert.are.equal(0, (fake(args)))
    local status, _, stderr = finished(h)
    assert.are.equal(1, status)
    assert.matches("capture: criu dump failed %(it wrote no stats%-dump%): .* not written", stderr)
    assert.are.same({}, support.ls(parent))
    assert.are.same({}, support.ls(imgs))
  end)

  it("refuses an OUT that exists", function()
    local out = support.tmpdir()
    local imgs = support.tmpdir()
    local rc, msg = sh(CRIT .. " capture " .. q(imgs) .. " -o " .. q(out))
    assert.are.equal(1, rc)
    assert.matches("already exists", msg)
    assert.are.same({}, support.ls(imgs))
  end)
end)
