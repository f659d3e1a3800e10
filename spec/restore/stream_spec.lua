-- crit.lua capture and serve with real criu: `criu dump --stream` into
-- capture, `criu restore --stream` from serve, transforms applied on the fly
-- (seen in /proc), criu 4.1.1 restoring a 4.2 dump converted as it passes,
-- and the faults: criu killed mid-stream, a failing script, missing images.
local RS = require "spec.restore_support"
local SC = require "spec.restore.scenarios"

local CRIT = RS.ROOT .. "/crit.lua"
local EXAMPLES = RS.ROOT .. "/examples/transforms/"
local q = RS.quote

-- Start `crit.lua ARGS...` in the background: { pid, dir (its files) }.
local function crit_bg(dir, ...)
  local args = {}
  for i, a in ipairs({ ... }) do args[i] = q(a) end
  assert(os.execute("mkdir -p " .. q(dir)))
  -- crit.lua's own pid in DIR/pid (exec keeps it), its status in DIR/rc
  assert(os.execute(string.format(
    "{ sh -c 'echo $$ >\"$1\"; shift; exec \"$@\"' sh %s %s %s >%s/out 2>%s/err; echo $? >%s/rc; }"
      .. " </dev/null >/dev/null 2>&1 &",
    q(dir .. "/pid"), q(CRIT), table.concat(args, " "), q(dir), q(dir), q(dir))))
  -- the shell creates each file empty before it writes the number: wait for the digits
  assert(RS.wait_until(function() return (RS.read_file(dir .. "/pid") or ""):match("%d+\n") end, 10))
  return { pid = tonumber(RS.read_file(dir .. "/pid")), dir = dir }
end

-- Wait for a background crit.lua: its exit status, stdout, stderr.
local function finished(h, seconds)
  assert(RS.wait_until(function() return (RS.read_file(h.dir .. "/rc") or ""):match("%d+\n") end, seconds or 30),
    "crit.lua did not exit")
  return tonumber(RS.read_file(h.dir .. "/rc")), RS.read_file(h.dir .. "/out"),
    RS.read_file(h.dir .. "/err")
end

local function wait_socket(path)
  assert(RS.wait_until(function()
    local ok = RS.sh("test -S " .. q(path))
    return ok
  end, 10), "no socket " .. path)
end

local function exists(path)
  return (RS.sh("test -e " .. q(path)))
end

local function ls(dir)
  local _, out = RS.sh("ls -A " .. q(dir))
  return out
end

-- Serve s.dir (dumped already) on s.tmp/serve, with crit.lua's extra args.
local function serve(s, ...)
  local imgs = s.tmp .. "/serve"
  assert(os.execute("mkdir -p " .. q(imgs)))
  local h = crit_bg(s.tmp .. "/crit-serve", "serve", imgs, s.dir, "--timeout", "30", ...)
  wait_socket(imgs .. "/streamer-serve.sock")
  return h, imgs
end

-- A script that applies several example scripts, each with its own args.
local function combined_script(s, parts)
  local path = s.tmp .. "/combined.lua"
  local lines = { 'local transform = require "crit.transform"', "return function(d)" }
  for _, p in ipairs(parts) do
    lines[#lines + 1] = string.format("  assert(transform.load_script(%q))(d, %s)", p.script,
      "{" .. table.concat((function()
        local t = {}
        for i, a in ipairs(p.args) do t[i] = string.format("%q", a) end
        return t
      end)(), ", ") .. "}")
  end
  lines[#lines + 1] = "end"
  local f = assert(io.open(path, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  return path
end

describe("crit.lua capture and serve with criu #restore", function()
  local s
  after_each(function() RS.cleanup(s); s = nil end)

  it("dump --stream -> capture -> criu restore from OUT: the process comes back", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    s = RS.start("plain")
    SC.by_name.plain.before(s)
    local imgs, out = s.tmp .. "/images", s.tmp .. "/out"
    assert(os.execute("mkdir -p " .. q(imgs)))
    local h = crit_bg(s.tmp .. "/crit-capture", "capture", imgs, "-o", out, "--check", "--timeout", "30")
    wait_socket(imgs .. "/streamer-capture.sock")
    RS.dump(s, { "--stream" })
    local rc, stdout, stderr = finished(h)
    assert.are.equal(0, rc, stderr)
    assert.matches("no problems found", stdout)
    assert.matches("captured %d+ images .* into " .. out:gsub("%p", "%%%0"), stdout)
    assert.is_false(exists(imgs .. "/streamer-capture.sock"))
    assert.matches("pages%-1%.img", ls(out))
    assert.matches("stats%-dump", ls(out))
    RS.must_restore(out)
    SC.by_name.plain.check(s)
  end)

  it("dump to a dir -> serve -> criu restore --stream: the process comes back", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    s = RS.start("plain")
    SC.by_name.plain.before(s)
    RS.dump(s)
    local h, imgs = serve(s)
    RS.must_restore(imgs, { "--stream" })
    local rc, stdout, stderr = finished(h)
    assert.are.equal(0, rc, stderr)
    -- criu asks for images a dump of this process does not have: exists=false
    local absent = tonumber(stdout:match("(%d+) asked for and absent"))
    assert.is_true(absent > 0, stdout)
    assert.matches("restore succeeded", stdout)
    assert.is_false(exists(imgs .. "/streamer-serve.sock"))
    SC.by_name.plain.check(s)
  end)

  it("dump -> tar.gz -> serve from the archive -> criu restore --stream: the process comes back", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    s = RS.start("plain")
    SC.by_name.plain.before(s)
    RS.dump(s)
    local archive = s.tmp .. "/dump.tar.gz"
    assert(os.execute("tar -czf " .. q(archive) .. " -C " .. q(s.dir) .. " ."))
    local imgs = s.tmp .. "/serve"
    assert(os.execute("mkdir -p " .. q(imgs)))
    local h = crit_bg(s.tmp .. "/crit-serve", "serve", imgs, archive, "--timeout", "30")
    wait_socket(imgs .. "/streamer-serve.sock")
    RS.must_restore(imgs, { "--stream" })
    local rc, stdout, stderr = finished(h)
    assert.are.equal(0, rc, stderr)
    assert.matches("restore succeeded", stdout)
    SC.by_name.plain.check(s)
  end)

  it("rename-process, set-rlimit and rewrite-ip on the fly: seen in /proc", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    local tcp = SC.by_name.tcp
    s = RS.start("tcp")
    local port = s.ready.port
    RS.dump(s, tcp.dump)
    local script = combined_script(s, {
      { script = EXAMPLES .. "rename-process.lua", args = { tostring(s.pid), "crit-moved" } },
      { script = EXAMPLES .. "set-rlimit.lua", args = { "NOFILE=777:888" } },
      { script = EXAMPLES .. "rewrite-ip.lua", args = { "127.0.0.1=127.0.0.2" } },
    })
    local before = RS.read_file(s.dir .. "/files.img")
    local h, imgs = serve(s, "--transform", script)
    local args = { "--stream" }
    for _, a in ipairs(tcp.restore) do args[#args + 1] = a end
    RS.must_restore(imgs, args)
    local rc, _, stderr = finished(h)
    assert.are.equal(0, rc, stderr)
    assert.are.equal("crit-moved\n", RS.proc(s.pid, "comm"))
    assert.are.equal("crit-moved", RS.cmdline(s.pid)[1])
    assert.matches("Max open files%s+777%s+888", RS.proc(s.pid, "limits"))
    -- the listener answers on its new address, not the old one
    local answer = assert(RS.client("tcp", "127.0.0.2:" .. port, "hello"))
    assert.are.equal("pid " .. s.pid .. " heard hello", answer)
    assert.is_nil(RS.client("tcp", "127.0.0.1:" .. port, "hello"))
    SC.report_ok(s)  -- the established connection kept its queued data
    -- the source was not touched: nothing is written to disk
    assert.are.equal(before, RS.read_file(s.dir .. "/files.img"))
  end)

  it("memory patches (d:write_memory) are applied as the pages pass", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    s = RS.start("plain")
    RS.dump(s)
    local script, addrs = s.tmp .. "/patch.lua", s.tmp .. "/addrs"
    local f = assert(io.open(script, "w"))
    f:write(string.format([[
local memory = require "crit.memory"
return function(d)
  local m = assert(memory.open(d, %d))
  local out = assert(io.open(%q, "w"))
  for addr in m:find("CRIT-RESTORE-PLAIN-xxxxxxxx") do
    d:write_memory(%d, addr, "CRIT-RESTORE-PATCH-")
    out:write(addr, "\n")
  end
  out:close()
end
]], s.pid, addrs, s.pid))
    f:close()
    local pages = RS.read_file(s.dir .. "/pages-1.img")
    local h, imgs = serve(s, "--transform", script)
    RS.must_restore(imgs, { "--stream" })
    local rc, _, stderr = finished(h)
    assert.are.equal(0, rc, stderr)
    -- the restored process has the patched bytes where the marker was
    local n = 0
    for addr in RS.read_file(addrs):gmatch("%d+") do
      local ok, got = RS.sh(string.format(
        "%s -c 'import sys; f=open(\"/proc/%d/mem\",\"rb\"); f.seek(%s); sys.stdout.write(f.read(27).decode())'",
        q(RS.PYTHON), s.pid, addr))
      assert(ok, got)
      assert.are.equal("CRIT-RESTORE-PATCH-xxxxxxxx", got)
      n = n + 1
    end
    assert.is_true(n > 0)
    -- and the dump it came from is as it was
    assert.are.equal(pages, RS.read_file(s.dir .. "/pages-1.img"))
  end)

  it("criu 4.1.1 restores a 4.2 dump with the pagemaps converted on the fly", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    local old, why = RS.criu("4.1.1")
    if not old then return pending(why) end
    s = RS.start("plain")
    SC.by_name.plain.before(s)
    RS.dump(s)
    local h, imgs = serve(s, "--transform", EXAMPLES .. "pagemap-layout.lua", "--", "4.1")
    RS.must_restore(imgs, { "--stream" }, { criu = old, env = RS.CRIU_4_1_ENV })
    local rc, _, stderr = finished(h)
    assert.are.equal(0, rc, stderr)
    SC.by_name.plain.check(s)  -- memory intact: the marker and the counter
  end)

  it("a failing restore is a failure: serve exits 1", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    s = RS.start("plain")
    RS.dump(s)
    local script = s.tmp .. "/drop.lua"
    local f = assert(io.open(script, "w"))
    -- criu answers a missing core image with a clean failure (a missing
    -- pstree makes criu 4.2 crash)
    f:write(string.format('return function(d) d:remove_image("core-%d") end\n', s.pid))
    f:close()
    local h, imgs = serve(s, "--transform", script)
    assert.is_false(RS.restore(imgs, { "--stream" }))
    local rc, _, stderr = finished(h)
    assert.are.equal(1, rc)
    assert.matches("serve: criu restore failed %(it wrote no stats%-restore%)", stderr)
    assert.is_false(exists(imgs .. "/streamer-serve.sock"))
  end)

  it("a script error: nothing served, criu's restore fails cleanly", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    s = RS.start("plain")
    RS.dump(s)
    local script = s.tmp .. "/broken.lua"
    local f = assert(io.open(script, "w"))
    f:write('return function(d) error("no such thing") end\n')
    f:close()
    local imgs = s.tmp .. "/serve"
    assert(os.execute("mkdir -p " .. q(imgs)))
    local ok, out = RS.sh(string.format("%s serve %s %s --transform %s", q(CRIT), q(imgs), q(s.dir), q(script)))
    assert.is_false(ok)
    assert.matches("no such thing", out)
    assert.are.equal("", ls(imgs))
    assert.is_false(RS.restore(imgs, { "--stream" }))
    assert.is_false(RS.alive(s.pid))
  end)

  it("criu killed mid-stream: capture exits 1 and leaves nothing", function()
    if RS.skip_reason() then return pending(RS.skip_reason()) end
    s = RS.start("stream_big")
    local imgs, out = s.tmp .. "/images", s.tmp .. "/out"
    assert(os.execute("mkdir -p " .. q(imgs)))
    local h = crit_bg(s.tmp .. "/crit-capture", "capture", imgs, "-o", out, "--timeout", "30")
    wait_socket(imgs .. "/streamer-capture.sock")
    local _, started = RS.sh(string.format("%s dump --stream -D %s -t %d -o %s >/dev/null 2>&1 & echo $!",
      q(RS.criu("4.2")), q(imgs), s.pid, q(s.tmp .. "/dump.log")))
    local criu = tonumber(started:match("%d+"))
    -- once the pages flow, stop the capture: criu blocks on a full pipe
    assert(RS.wait_until(function()
      local _, found = RS.sh("ls " .. q(s.tmp) .. "/out.crit-tmp-*/pages-*.img")
      return found:match("pages%-")
    end, 20), "no pages arrived")
    assert(os.execute("kill -STOP " .. h.pid))
    assert(os.execute("kill -9 " .. criu))
    assert(os.execute("kill -CONT " .. h.pid))
    local rc, _, stderr = finished(h)
    assert.are.equal(1, rc)
    assert.matches("capture: .*" .. out:gsub("%p", "%%%0") .. " not written", stderr)
    assert.is_false(exists(out))
    local _, left = RS.sh("ls -A " .. q(s.tmp))
    assert.is_nil(left:match("crit%-tmp"), left)
    assert.is_false(exists(imgs .. "/streamer-capture.sock"))
  end)
end)
