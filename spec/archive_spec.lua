-- Container checkpoint archives (podman's, ../shared/corpus/archives) read
-- in place: every command that takes a checkpoint directory takes the
-- archive, gzip, zstd or plain, with the same output as on the extracted
-- directory; ARCHIVE//MEMBER for one image; transform writes a new archive.
local crit = require "crit"
local core = require "crit.core"
local S = require "spec.support"
local sh, quote = S.sh, S.quote

local ARCHIVES = S.archives()
local NAMES = { "bb-sleep", "bb-files" }

local run = S.crit -- ./crit.lua with quoted arguments

-- out, failing the test on a non-zero exit status
local function ok(...)
  local r = run(...)
  assert.are.equal(0, r.code, r.err)
  return r.out
end

local function has(cmd)
  return sh("command -v " .. quote(cmd)).code == 0
end

if not ARCHIVES then
  describe("checkpoint archives", function()
    pending("needs " .. S.CORPUS .. "/archives (the podman archives): set CRIT_CORPUS")
  end)
  return
end

describe("checkpoint archives", function()
  local tmp
  -- name -> { gzip = path, none = path, zstd = path, dir = extracted checkpoint/ }
  local A = {}

  setup(function()
    tmp = S.tmpdir()
    for _, n in ipairs(NAMES) do
      local gz = ARCHIVES .. "/" .. n .. ".tar.gz"
      local root = tmp .. "/" .. n
      assert(os.execute("mkdir " .. root .. " && tar -xzf " .. quote(gz) .. " -C " .. root))
      assert(os.execute("gzip -dc " .. quote(gz) .. " > " .. tmp .. "/" .. n .. ".tar"))
      A[n] = { gzip = gz, none = tmp .. "/" .. n .. ".tar", dir = root .. "/checkpoint", root = root }
      if has("zstd") then
        local plain = tmp .. "/" .. n .. ".tar"
        assert(os.execute("zstd -q " .. plain .. " -o " .. plain .. ".zst"))
        A[n].zstd = tmp .. "/" .. n .. ".tar.zst"
      end
    end
  end)
  teardown(function() S.cleanup() end)

  -- The output on the archive, with its images path written as the
  -- extracted directory's (stats and check name what they read).
  local function same_as_dir(name, how, ...)
    local a = A[name][how]
    if not a then
      pending("zstd (the command) is not installed")
      return
    end
    local args = { ... }
    local on_dir, on_archive = {}, {}
    for i, v in ipairs(args) do
      on_dir[i] = v == "DUMP" and A[name].dir or v
      on_archive[i] = v == "DUMP" and a or v
    end
    local want = run(table.unpack(on_dir))
    local got = run(table.unpack(on_archive))
    assert.are.equal(want.code, got.code, got.err)
    local text = got.out:gsub(a:gsub("%p", "%%%0") .. "//checkpoint", (A[name].dir:gsub("%%", "%%%%")))
    text = text:gsub(a:gsub("%p", "%%%0"), (A[name].dir:gsub("%%", "%%%%")))
    assert.are.equal(want.out, text)
    assert.truthy(#want.out > 0)
  end

  for _, name in ipairs(NAMES) do
    for _, how in ipairs({ "gzip", "zstd", "none" }) do
      describe(name .. " (" .. how .. ")", function()
        for _, what in ipairs({ "ps", "fds", "mems", "rss" }) do
          it("x " .. what .. " equals x on the extracted directory", function()
            same_as_dir(name, how, "x", "DUMP", what)
          end)
        end
        it("stats and stats --json equal stats on the extracted directory", function()
          same_as_dir(name, how, "stats", "DUMP")
          same_as_dir(name, how, "stats", "--json", "DUMP")
        end)
        it("check equals check on the extracted directory, and finds no error", function()
          same_as_dir(name, how, "check", "DUMP")
          same_as_dir(name, how, "check", "--json", "DUMP")
          if A[name][how] then
            assert.matches(": 0 errors, 0 warnings", run("check", A[name][how]).out)
          end
        end)
        it("mem equals mem on the extracted directory", function()
          same_as_dir(name, how, "mem", "DUMP", "1")
        end)
        it("diff with the extracted directory finds nothing", function()
          local a = A[name][how]
          if not a then return pending("zstd (the command) is not installed") end
          local r = run("diff", a, A[name].dir)
          assert.are.equal(0, r.code, r.out .. r.err)
        end)
      end)
    end

    describe(name, function()
      it("coredump writes the same core files as from the extracted directory", function()
        local d1, d2 = S.tmpdir(), S.tmpdir()
        ok("coredump", A[name].gzip, "-o", d1)
        ok("coredump", A[name].dir, "-o", d2)
        local files = S.ls(d1)
        assert.are.same(S.ls(d2), files)
        assert.truthy(#files > 0)
        for _, f in ipairs(files) do
          assert.are.equal(S.read(d2 .. "/" .. f), S.read(d1 .. "/" .. f), f)
        end
      end)

      it("decode, show and info take ARCHIVE//MEMBER", function()
        for _, img in ipairs({ "pstree.img", "core-1.img", "mm-1.img", "inventory.img" }) do
          local member = A[name].gzip .. "//checkpoint/" .. img
          assert.are.equal(ok("decode", "-i", A[name].dir .. "/" .. img), ok("decode", "-i", member))
          assert.are.equal(ok("show", A[name].dir .. "/" .. img), ok("show", member))
          assert.are.equal(ok("info", A[name].dir .. "/" .. img), ok("info", member))
        end
        -- ./ and doubled slashes inside the member name are the same member
        assert.are.equal(ok("info", A[name].dir .. "/core-1.img"),
          ok("info", A[name].none .. "//./checkpoint//core-1.img"))
      end)

      it("crit.dir opens the archive: the same images and tasks", function()
        local d = assert(crit.dir(A[name].gzip))
        local e = assert(crit.dir(A[name].dir))
        assert.are.equal(A[name].gzip .. "//checkpoint", d.path)
        assert.are.same(e:names(), d:names())
        local pids = {}
        for i, t in ipairs(d:tasks()) do pids[i] = t.pid .. " " .. t.comm end
        local want = {}
        for i, t in ipairs(e:tasks()) do want[i] = t.pid .. " " .. t.comm end
        assert.are.same(want, pids)
        -- pages by offset, from the archive's mapping
        local p, q = d:image("pages-1"), e:image("pages-1")
        assert.are.equal(q:file_size(), p:file_size())
        assert.are.equal(q:slice(4096, 4096), p:slice(4096, 4096))
        assert.are.equal(S.read(A[name].dir .. "/descriptors.json"), d:read("descriptors.json"))
        d:close()
        e:close()
      end)

      it("crit.open and the archive object read members; a missing one is nil, message, errno", function()
        local img = assert(crit.open(A[name].gzip .. "//checkpoint/pstree.img"))
        assert.are.equal("PSTREE", img.magic)
        local none, err, errno = crit.open(A[name].gzip .. "//checkpoint/nothing.img")
        assert.is_nil(none)
        assert.matches("nothing.img: No such file or directory", err)
        assert.are.equal(2, errno)
        local a = assert(core.archive(A[name].gzip))
        assert.are.equal("gzip", a:info().compression)
        assert.are.equal("dir", a:member("checkpoint").type)
        local _, derr = a:open("checkpoint")
        assert.matches("a dir in the archive, not a file", derr)
      end)
    end)
  end

  describe("transform writes a new archive", function()
    local SET = "examples/transforms/set-rlimit.lua"

    it("changed images re-encoded, every other member copied byte for byte, same compression", function()
      local out = tmp .. "/rl.tar.gz"
      ok("transform", A["bb-sleep"].gzip, SET, "-o", out, "--", "NOFILE=1000:20000")
      local old, new = core.archive(A["bb-sleep"].gzip), core.archive(out)
      assert.are.equal("gzip", new:info().compression)
      local names, changed = {}, {}
      for i, m in ipairs(old:members()) do names[i] = m.name end
      local got = {}
      for i, m in ipairs(new:members()) do got[i] = m.name end
      assert.are.same(names, got)
      for _, m in ipairs(old:members()) do
        if m.type == "file" and old:read(m.name) ~= new:read(m.name) then changed[#changed + 1] = m.name end
      end
      assert.are.same({ "checkpoint/core-1.img", "checkpoint/core-6.img", "checkpoint/core-7.img" }, changed)
      local core1 = assert(crit.open(out .. "//checkpoint/core-1.img"))
      assert.are.equal(1000, core1[1].tc.rlimits.rlimits[8].cur)
      -- restorable as far as check can tell
      assert.matches(": 0 errors, 0 warnings", ok("check", out))
    end)

    it("--compress zstd and none choose the compression; the result reads the same", function()
      for _, how in ipairs({ "zstd", "none" }) do
        local out = tmp .. "/c-" .. how .. ".tar"
        ok("transform", A["bb-files"].gzip, SET, "-o", out, "--compress", how, "--", "NOFILE=1000")
        assert.are.equal(how, core.archive(out):info().compression)
        assert.are.equal(ok("x", A["bb-files"].dir, "ps"), ok("x", out, "ps"))
      end
    end)

    it("--dry-run prints the changes and writes nothing", function()
      local before = S.ls(tmp)
      local out = ok("transform", A["bb-sleep"].gzip, "examples/transforms/rename-process.lua", "--dry-run",
        "--", "1", "newname")
      assert.matches('core%-1%[1%] tc.comm: "sh" %-> "newname"', out)
      assert.are.same(before, S.ls(tmp))
    end)

    it("--in-place replaces the archive atomically", function()
      local copy = tmp .. "/inplace.tar.gz"
      assert(os.execute("cp " .. quote(A["bb-sleep"].gzip) .. " " .. copy))
      ok("transform", copy, "examples/transforms/rename-process.lua", "--in-place", "--", "1", "renamed")
      assert.matches("renamed", ok("x", copy, "ps"))
    end)

    it("an existing OUT or a failing script: nothing written", function()
      local out = tmp .. "/exists.tar.gz"
      S.write(out, "keep")
      local r = run("transform", A["bb-sleep"].gzip, SET, "-o", out, "--", "NOFILE=1000")
      assert.are.equal(1, r.code)
      assert.matches("already exists", r.err)
      assert.are.equal("keep", S.read(out))
      local d = S.tmpdir()
      r = run("transform", A["bb-sleep"].gzip, SET, "-o", d .. "/new.tar.gz", "--", "NOSUCH=1")
      assert.are.equal(1, r.code)
      assert.are.same({}, S.ls(d))
    end)
  end)
end)
