-- Every command checks every write and close: output that cannot be
-- written (/dev/full: "No space left on device") is an error and exit 1,
-- never a short output and exit 0.
local S = require "spec.support"

local D = "spec/fixtures/corpus/sleep"
local IMG = D .. "/core-30956.img"

-- Each command that writes to stdout, with arguments that make it write.
local TO_STDOUT = {
  "--help", "--version", "decode --help", "mem --help",
  "decode -i " .. IMG, "decode --pretty -i " .. IMG, "show " .. IMG, "info " .. IMG,
  "decode --format txt -i " .. IMG,
  "x " .. D .. " ps", "x " .. D .. " fds", "x " .. D .. " mems", "x " .. D .. " rss",
  "mem " .. D .. " 30956", "mem --maps " .. D .. " 30956",
  "mem --raw --addr 94538183192576 --len 4096 " .. D .. " 30956",
  "stats " .. D, "stats --json " .. D, "check " .. D,
  "diff " .. D .. " spec/fixtures/corpus/tree", "diff --json " .. D .. " spec/fixtures/corpus/tree",
}

describe("output that cannot be written", function()
  after_each(S.cleanup)

  for _, args in ipairs(TO_STDOUT) do
    it("crit.lua " .. args .. " > /dev/full: exit 1, saying so", function()
      local r = S.sh("./crit.lua " .. args .. " > /dev/full")
      assert.are.equal(1, r.code, r.err)
      assert.matches("No space left on device", r.err)
    end)
  end

  it("to a file: decode -o, encode -o /dev/full", function()
    local r = S.sh("./crit.lua decode -i " .. IMG .. " -o /dev/full")
    assert.are.equal(1, r.code, r.err)
    assert.matches("No space left on device", r.err)
    r = S.sh("./crit.lua decode -i " .. IMG .. " | ./crit.lua encode -o /dev/full")
    assert.are.equal(1, r.code, r.err)
    assert.matches("No space left on device", r.err)
  end)

  it("coredump and transform --dry-run report on stdout: checked too", function()
    local dir = S.tmpdir()
    local r = S.sh("./crit.lua coredump -o " .. S.quote(dir) .. " " .. D .. " > /dev/full")
    assert.are.equal(1, r.code, r.err)
    local script = dir .. "/t.lua"
    S.write(script, "return function(d) d:core(30956).tc.comm = 'x' end")
    r = S.sh("./crit.lua transform " .. D .. " " .. S.quote(script) .. " --dry-run > /dev/full")
    assert.are.equal(1, r.code, r.err)
  end)
end)

-- The same on a real filesystem that fills up half-way, as a disk does: a
-- 256 KiB tmpfs mounted for these tests (root only), a filler file leaving
-- `room` bytes, so that the first writes go through and a later one fails.
-- Every command that writes a file or stdout there exits 1 with one line
-- naming the file and "No space left on device", leaves no partial or
-- temporary file (a `> FILE` redirection leaves what the shell made of
-- FILE, nothing else), and --in-place leaves the dump as it was.
describe("a filesystem that fills up half-way", function()
  local EX = "examples/checkpoint" -- the example: 124 KiB of pages, a 320 KiB hexdump
  local HEAP = "0x55fb62d3b000" -- its heap, whose first 16 KiB are dumped
  local mnt, skip, scratch

  setup(function()
    if S.sh("id -u").out ~= "0\n" then
      skip = "needs root: it mounts a tmpfs"
      return
    end
    scratch = S.tmpdir()
    local dir = scratch .. "/small"
    assert(os.execute("mkdir " .. S.quote(dir)))
    local r = S.sh("mount -t tmpfs -o size=256k tmpfs " .. S.quote(dir))
    if r.code ~= 0 then
      skip = "cannot mount a tmpfs: " .. r.err
      return
    end
    mnt = dir
    -- inputs that are not on the small filesystem
    assert(S.sh("./crit.lua decode -i " .. EX .. "/core-30956.img > " .. scratch .. "/core.json").code == 0)
    assert(S.sh("./crit.lua decode " .. EX .. " -o " .. scratch .. "/json").code == 0)
    S.write(scratch .. "/patch.lua", [[
      -- the first dumped page of the task patched: pages-1.img is written again
      return function(d)
        local _, runs = d:pagemap_runs(30956)
        for _, vaddr, nr, compat, flags in runs do
          if (nr or 0) + (compat or 0) > 0 and flags & 2 ~= 0 then
            d:write_memory(30956, vaddr, "patched")
            return
          end
        end
        error("no dumped page")
      end]])
    S.write(scratch .. "/rename.lua", "return function(d) d:core(30956).tc.comm = 'renamed' end")
  end)

  -- unmounted whatever the tests did
  teardown(function()
    if mnt then os.execute("umount " .. S.quote(mnt) .. " || umount -l " .. S.quote(mnt)) end
    S.cleanup()
  end)

  before_each(function()
    if skip then return end
    assert(os.execute("find " .. S.quote(mnt) .. " -mindepth 1 -delete"))
  end)

  -- Leave `room` bytes free: a filler file takes the rest.
  local function fill(room)
    os.remove(mnt .. "/.filler")
    local blocks, size = S.sh("stat -f -c '%a %S' " .. S.quote(mnt)).out:match("(%d+) (%d+)")
    local n = math.max(0, tonumber(blocks) * tonumber(size) - room)
    assert(os.execute(("head -c %d /dev/zero > %s/.filler"):format(n, S.quote(mnt))))
  end

  -- What is on the small filesystem, the filler left out: sorted paths.
  local function left()
    return S.lines_of("cd " .. S.quote(mnt) .. " && find . -mindepth 1 ! -name .filler | LC_ALL=C sort")
  end

  -- Run the shell command with `room` bytes free: exit 1, one line on
  -- stderr naming `file` and saying "No space left on device".
  local function fails(room, cmd, file)
    fill(room)
    local r = S.sh(cmd)
    assert.are.equal(1, r.code, r.err)
    assert.matches("^crit%.lua: [^\n]*" .. file:gsub("%p", "%%%0") .. "[^\n]*: No space left on device\n$", r.err)
  end

  local function small(name) return mnt .. "/" .. name end

  -- A test, pending with the reason when there is no small filesystem.
  local function full_it(name, fn)
    it(name, function()
      if skip then return pending(skip) end
      fn()
    end)
  end

  full_it("decode -o, encode -o: no file", function()
    fails(4096, "./crit.lua decode -i " .. EX .. "/core-30956.img -o " .. small("core.json"), small("core.json"))
    assert.are.same({}, left())
    fails(0, "./crit.lua encode -i " .. scratch .. "/core.json -o " .. small("core.img"), small("core.img"))
    assert.are.same({}, left())
  end)

  full_it("decode DIR -o OUTDIR, encode JSONDIR -o OUTDIR: no directory, or the one there as it was", function()
    fails(65536, "./crit.lua decode " .. EX .. " -o " .. small("out"), small("out/pages-1.img"))
    assert.are.same({}, left())
    fails(65536, "./crit.lua encode " .. scratch .. "/json -o " .. small("enc"), small("enc/pages-1.img"))
    assert.are.same({}, left())
    assert(os.execute("mkdir " .. small("out") .. " && echo kept > " .. small("out/old.txt")))
    fails(65536, "./crit.lua decode " .. EX .. " -o " .. small("out"), small("out/pages-1.img"))
    assert.are.same({ "./out", "./out/old.txt" }, left())
  end)

  full_it("mem > FILE (the issue's case: exit 0 with part of the bytes), mem --raw > FILE", function()
    fails(65536, "./crit.lua mem " .. EX .. " 30956 > " .. small("mem.txt"), small("mem.txt"))
    assert.are.same({ "./mem.txt" }, left())
    assert(os.remove(small("mem.txt")))
    fails(4096, "./crit.lua mem --raw --addr " .. HEAP .. " --len 16384 " .. EX .. " 30956 > " .. small("heap"),
          small("heap"))
    assert.are.same({ "./heap" }, left())
  end)

  full_it("coredump -o: no core file", function()
    fails(65536, "./crit.lua coredump -o " .. mnt .. " " .. EX, small("core.30956"))
    assert.are.same({}, left())
  end)

  full_it("transform -o: no output directory, no temporary one", function()
    fails(65536, "./crit.lua transform " .. EX .. " " .. scratch .. "/patch.lua -o " .. small("out"),
          small("out/pages-1.img"))
    assert.are.same({}, left())
  end)

  full_it("transform --in-place of a dump on that filesystem: the dump all old, byte for byte", function()
    for _, case in ipairs({ { "patch.lua", "pages-1.img", 32768 }, { "rename.lua", "core-30956.img", 0 } }) do
      assert(os.execute("find " .. S.quote(mnt) .. " -mindepth 1 -delete"))
      assert(os.execute("cp -a " .. EX .. " " .. small("dump")))
      fails(case[3], "./crit.lua transform " .. small("dump") .. " " .. scratch .. "/" .. case[1] .. " --in-place",
            small("dump/" .. case[2]))
      assert.are.same(S.ls(EX), S.ls(small("dump")))
      for _, f in ipairs(S.ls(EX)) do
        assert.are.equal(S.read(EX .. "/" .. f), S.read(small("dump/" .. f)), f)
      end
    end
  end)

  full_it("x, show, stats, check > FILE", function()
    for _, args in ipairs({ "x " .. EX .. " ps", "x " .. EX .. " mems", "show " .. EX .. "/core-30956.img",
                            "stats " .. EX, "check " .. EX }) do
      fails(args:match("^show") and 16384 or 0, "./crit.lua " .. args .. " > " .. small("report"), small("report"))
      assert.are.same({ "./report" }, left())
      assert(os.remove(small("report")))
    end
  end)

  full_it("capture -o: nothing written", function()
    local imgs = S.tmpdir()
    local sock = imgs .. "/streamer-capture.sock"
    fill(65536)
    os.execute(("{ ./crit.lua capture %s -o %s --timeout 20 2>%s/err; echo $? > %s/rc; } </dev/null >/dev/null 2>&1 &")
      :format(imgs, small("out"), scratch, scratch))
    for _ = 1, 200 do
      if os.execute("test -S " .. sock) then break end
      os.execute("sleep 0.05")
    end
    local files = {}
    for _, f in ipairs(S.ls(EX)) do
      if f ~= "stats-dump" then files[#files + 1] = EX .. "/" .. f end
    end
    S.sh("env -u LD_PRELOAD python3 spec/fixtures/fake_criu.py dump " .. sock .. " --stats " .. imgs
         .. "/stats-dump:" .. EX .. "/stats-dump " .. table.concat(files, " "))
    for _ = 1, 400 do
      if S.exists(scratch .. "/rc") then break end
      os.execute("sleep 0.05")
    end
    assert.are.equal("1\n", S.read(scratch .. "/rc"))
    assert.matches("^crit%.lua: [^\n]*No space left on device[^\n]*" .. small("out"):gsub("%p", "%%%0")
                   .. "[^\n]*\n$", S.read(scratch .. "/err"))
    assert.are.same({}, left())
  end)

  full_it("the API: img:write, and d:write_memory through transform.dir", function()
    local api = [[
      package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
      package.cpath = (os.getenv("CRIT_BUILD") or "build") .. "/?.so;" .. package.cpath
      local crit, transform = require "crit", require "crit.transform"
      local what, out = arg[1], arg[2]
      local ok, err
      if what == "dir" then
        ok, err = transform.dir("]] .. EX .. [[", assert(transform.load_script(arg[3])), {}, { out = out })
      else
        local img = assert(crit.open("]] .. EX .. [[/" .. what))
        ok, err = pcall(img.write, img, out)
      end
      if ok then os.exit(0) end
      io.stderr:write("crit.lua: ", tostring(err), "\n")
      os.exit(1)
    ]]
    S.write(scratch .. "/api.lua", api)
    local run = "lua5.4 " .. scratch .. "/api.lua "
    fails(65536, run .. "pages-1.img " .. small("pages-1.img"), small("pages-1.img"))
    assert.are.same({}, left())
    fails(0, run .. "mm-30956.img " .. small("mm.img"), small("mm.img"))
    assert.are.same({}, left())
    fails(65536, run .. "dir " .. small("out") .. " " .. scratch .. "/patch.lua", small("out/pages-1.img"))
    assert.are.same({}, left())
  end)
end)
