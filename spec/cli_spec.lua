-- crit.lua end to end, as a subprocess: decode, show, encode and info
-- against upstream crit 4.2's output, help, exit codes, errors, pipes.
local S = require "spec.support"
local sh = S.sh

local FIXTURES = "spec/fixtures/corpus"
local GOLDEN = "spec/fixtures/golden"
local CRIT = "./crit.lua"

-- Where crit 4.2 is wrong and we deliberately are not: image -> why.
local CRIT_WRONG = {
  ["ipcns/ipcns-shm-9.img"] = "crit reads a segment kept in pages (in_pagemaps) as the "
    .. "entry's payload, eating the next entry",
}

local tmp

-- crit(args...) -> sh's result for crit.lua with those arguments (quoted).
local crit = S.crit -- ./crit.lua with quoted arguments

local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]*\n?") do if l ~= "" then t[#t + 1] = l end end
  return t
end

-- An error: exit status 1 and exactly one line on stderr, "crit.lua: ...".
local function assert_one_line_error(r, pattern)
  assert.are.equal(1, r.code, r.err)
  assert.are.equal(1, #lines(r.err), r.err)
  assert.matches("^crit%.lua: ", r.err)
  assert.not_matches("traceback", r.err)
  if pattern then assert.matches(pattern, r.err) end
end

-- The fixture images that crit decoded: { {image=, golden=, key=} }.
local function golden_images()
  local list = {}
  for _, path in ipairs(S.lines_of("find " .. FIXTURES .. " -type f | LC_ALL=C sort")) do
    local key = path:sub(#FIXTURES + 2)
    local golden = GOLDEN .. "/" .. key
    if S.exists(golden .. ".json") then
      list[#list + 1] = { image = path, golden = golden, key = key }
    end
  end
  return list
end

-- Our show, with core's task_state named as crit 4.2 names it (its table
-- says 1 Alive, 3 Zombie, 6 Stopped, where compel's states are 1 ALIVE,
-- 2 DEAD, 3 STOPPED, 6 ZOMBIE): the one deliberate difference in show.
local AS_CRIT = { ALIVE = '"Alive"', DEAD = "2", STOPPED = '"Zombie"', ZOMBIE = '"Stopped"' }
local function as_crit_task_state(json)
  return (json:gsub('("task_state": )"(%u+)"', function(k, name)
    return k .. (AS_CRIT[name] or '"' .. name .. '"')
  end))
end

describe("crit.lua", function()
  setup(function() tmp = S.tmpdir() end)
  teardown(function() S.cleanup() end)

  local images = golden_images()

  it("has its fixtures", function()
    assert.is_true(#images >= 40, "only " .. #images .. " images with golden JSON")
  end)

  describe("decode", function()
    for _, t in ipairs(images) do
      if CRIT_WRONG[t.key] then
        it("differs from crit where crit is wrong: " .. t.key, function()
          local r = crit("decode", "-i", t.image, "-o", tmp .. "/out.json")
          assert.are.equal(0, r.code, r.err)
          assert.are_not.equal(S.read(t.golden .. ".json"), S.read(tmp .. "/out.json"))
        end)
      else
        it("-o FILE equals crit's output byte for byte: " .. t.key, function()
          local r = crit("decode", "-i", t.image, "-o", tmp .. "/out.json")
          assert.are.equal(0, r.code, r.err)
          assert.are.equal("", r.out)
          assert.are.equal(S.read(t.golden .. ".json"), S.read(tmp .. "/out.json"))
        end)
      end
    end

    it("to stdout ends with a newline, as crit's does", function()
      local r = crit("decode", "-i", FIXTURES .. "/sleep/pstree.img")
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(S.read(GOLDEN .. "/sleep/pstree.img.json") .. "\n", r.out)
    end)

    it("'-o -' is stdout and '-i -' is stdin", function()
      local r = sh(CRIT .. " decode -i - -o - < " .. FIXTURES .. "/sleep/core-30956.img")
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(S.read(GOLDEN .. "/sleep/core-30956.img.json") .. "\n", r.out)
    end)

    it("reads a pipe", function()
      local r = sh("cat " .. FIXTURES .. "/sleep/mm-30956.img | " .. CRIT .. " decode")
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(S.read(GOLDEN .. "/sleep/mm-30956.img.json") .. "\n", r.out)
    end)

    it("--pretty writes show's JSON", function()
      local r = crit("decode", "--pretty", "-i", FIXTURES .. "/sleep/pstree.img")
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(S.read(GOLDEN .. "/sleep/pstree.img.show.json"), r.out)
    end)
  end)

  describe("show", function()
    for _, t in ipairs(images) do
      if not CRIT_WRONG[t.key] then
        it("equals crit's output but for task_state names: " .. t.key, function()
          local r = crit("show", t.image)
          assert.are.equal(0, r.code, r.err)
          assert.are.equal(S.read(t.golden .. ".show.json"), as_crit_task_state(r.out))
        end)
      end
    end

    it("names task states as compel does: a zombie is DEAD, a stopped task STOPPED", function()
      -- misc: 31113 is the zombie, 31114 the SIGSTOPped child.
      assert.matches('"task_state": "DEAD"', crit("show", FIXTURES .. "/misc/core-31113.img").out)
      assert.matches('"task_state": "STOPPED"', crit("show", FIXTURES .. "/misc/core-31114.img").out)
      assert.matches('"task_state": "ALIVE"', crit("show", FIXTURES .. "/misc/core-31110.img").out)
    end)

    it("reads stdin as '-'", function()
      local r = sh(CRIT .. " show - < " .. FIXTURES .. "/sleep/pstree.img")
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(S.read(GOLDEN .. "/sleep/pstree.img.show.json"), r.out)
    end)

    it("--nopl shows payloads as their size", function()
      local img = FIXTURES .. "/pyfds/pipes-data.img"
      local r = crit("show", "--nopl", img)
      assert.are.equal(0, r.code, r.err)
      assert.matches('"extra": "%.%.%. <[%d.]+[KMG]?B>"', r.out)
      assert.is_true(#r.out < #crit("show", img).out)
    end)
  end)

  describe("encode", function()
    for _, t in ipairs(images) do
      if not CRIT_WRONG[t.key] then
        it("of crit's JSON gives the image back byte for byte: " .. t.key, function()
          local original = S.read(t.image)
          for _, form in ipairs({ ".json", ".show.json" }) do
            local r = crit("encode", "-i", t.golden .. form, "-o", tmp .. "/out.img")
            assert.are.equal(0, r.code, form .. ": " .. r.err)
            assert.are.equal(original, S.read(tmp .. "/out.img"), form)
          end
        end)
      end
    end

    for key in pairs(CRIT_WRONG) do
      it("refuses crit's JSON where crit is wrong, with one line: " .. key, function()
        local d = S.tmpdir()
        for _, form in ipairs({ ".json", ".show.json" }) do
          local r = crit("encode", "-i", GOLDEN .. "/" .. key .. form, "-o", d .. "/out.img")
          assert_one_line_error(r)
          assert.is_false(S.exists(d .. "/out.img"))
        end
      end)
    end

    it("round-trips through pipes: decode | encode", function()
      for _, img in ipairs({ "sleep/core-30956.img", "ipcns/ipcns-shm-9.img", "pyfds/sk-queues.img" }) do
        local r = sh("cat " .. FIXTURES .. "/" .. img .. " | " .. CRIT .. " decode | "
          .. CRIT .. " encode")
        assert.are.equal(0, r.code, r.err)
        assert.are.equal(S.read(FIXTURES .. "/" .. img), r.out, img)
      end
    end)

    it("round-trips --pretty JSON through '-i -' and '-o -'", function()
      local r = sh(CRIT .. " decode --pretty -i " .. FIXTURES .. "/sleep/mm-30956.img | "
        .. CRIT .. " encode -i - -o -")
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(S.read(FIXTURES .. "/sleep/mm-30956.img"), r.out)
    end)

    it("rejects invalid JSON with one line and exit status 1", function()
      S.write(tmp .. "/bad.json", '{"magic": "CORE", "entries": [{"mtype": ')
      assert_one_line_error(crit("encode", "-i", tmp .. "/bad.json", "-o", tmp .. "/bad.img"))
      assert.is_false(S.exists(tmp .. "/bad.img"))
    end)

    it("rejects a binary image given as JSON", function()
      assert_one_line_error(crit("encode", "-i", FIXTURES .. "/sleep/core-30956.img",
        "-o", tmp .. "/bad.img"))
      assert.is_false(S.exists(tmp .. "/bad.img"))
    end)
  end)

  describe("info", function()
    it("prints the magic and count as crit does", function()
      local r = crit("info", FIXTURES .. "/sleep/core-30956.img")
      assert.are.equal(0, r.code, r.err)
      assert.are.equal('{\n    "magic": "CORE",\n    "count": 1\n}\n', r.out)
    end)

    it("counts pagemap entries without the head, as crit does", function()
      local r = crit("info", FIXTURES .. "/sleep/pagemap-30956.img")
      assert.are.equal(0, r.code, r.err)
      local entries = select(2, S.read(GOLDEN .. "/sleep/pagemap-30956.img.json"):gsub('"vaddr"', ""))
      assert.are.equal(('{\n    "magic": "PAGEMAP",\n    "count": %d\n}\n'):format(entries), r.out)
    end)

    it("counts entries, not payload bytes (crit overcounts these)", function()
      local r = crit("info", FIXTURES .. "/pyfds/pipes-data.img")
      assert.are.equal(0, r.code, r.err)
      local entries = select(2, S.read(GOLDEN .. "/pyfds/pipes-data.img.json"):gsub('"pipe_id"', ""))
      assert.matches('"count": ' .. entries .. "\n", r.out)
      -- and ghost files, where crit's info fails
      r = crit("info", FIXTURES .. "/pyfds/ghost-file-1.img")
      assert.are.equal(0, r.code, r.err)
      assert.matches('"magic": "GHOST_FILE"', r.out)
    end)

    it("reads stdin as '-'", function()
      local r = sh(CRIT .. " info - < " .. FIXTURES .. "/sleep/pstree.img")
      assert.are.equal(0, r.code, r.err)
      assert.are.equal('{\n    "magic": "PSTREE",\n    "count": 1\n}\n', r.out)
    end)
  end)

  describe("raw images", function()
    for _, cmd in ipairs({ { "decode", "-i" }, { "show" }, { "info" } }) do
      it(cmd[1] .. " refuses them with crit's hint", function()
        local args = { table.unpack(cmd) }
        args[#args + 1] = FIXTURES .. "/sleep/pages-1.img"
        local r = crit(table.unpack(args))
        assert_one_line_error(r, "Maybe you are feeding me an image with raw data%(i%.e%. pages%.img%)%?")
        assert.are.equal("", r.out)
      end)
    end

    it("from stdin are refused too", function()
      assert_one_line_error(sh(CRIT .. " decode < " .. FIXTURES .. "/sleep/pages-1.img"),
        "raw")
    end)
  end)

  describe("errors", function()
    it("a missing file: one line, exit status 1", function()
      assert_one_line_error(crit("decode", "-i", tmp .. "/nope.img"), "nope%.img: No such file")
      assert_one_line_error(crit("show", tmp .. "/nope.img"), "nope%.img: No such file")
      assert_one_line_error(crit("info", tmp .. "/nope.img"), "nope%.img: No such file")
      assert_one_line_error(crit("encode", "-i", tmp .. "/nope.json"), "nope%.json: No such file")
    end)

    it("a corrupt image: one line naming the file, entry and offset", function()
      S.write(tmp .. "/cut.img", S.read(FIXTURES .. "/sleep/core-30956.img"):sub(1, 100))
      local r = crit("show", tmp .. "/cut.img")
      assert_one_line_error(r, "cut%.img: entry 1 at offset 8")
    end)

    it("a corrupt image leaves no output file, and an old one untouched", function()
      local d = S.tmpdir()
      S.write(d .. "/cut.img", S.read(FIXTURES .. "/sleep/mm-30956.img"):sub(1, 200))
      assert_one_line_error(crit("decode", "-i", d .. "/cut.img", "-o", d .. "/new.json"))
      assert.is_false(S.exists(d .. "/new.json"))
      S.write(d .. "/old.json", "old")
      assert_one_line_error(crit("decode", "-i", d .. "/cut.img", "-o", d .. "/old.json"))
      assert.are.equal("old", S.read(d .. "/old.json"))
      -- and no temporary file either
      assert.are.equal("cut.img\nold.json\n", sh("ls -A " .. d).out)
    end)

    it("an unwritable output: one line", function()
      assert_one_line_error(crit("decode", "-i", FIXTURES .. "/sleep/pstree.img",
        "-o", tmp .. "/no/such/dir/out.json"), "out%.json")
    end)

    it("CRIT_DEBUG=1 adds the traceback", function()
      local r = sh("CRIT_DEBUG=1 " .. CRIT .. " show " .. tmp .. "/nope.img")
      assert.are.equal(1, r.code)
      assert.matches("stack traceback", r.err)
    end)
  end)

  describe("usage", function()
    it("--help describes every command, with examples and exit status", function()
      local r = crit("--help")
      assert.are.equal(0, r.code, r.err)
      assert.matches("^Usage: crit%.lua", r.out)
      for _, cmd in ipairs({ "decode", "encode", "show", "info", "x" }) do
        assert.matches("\n   " .. cmd .. " ", r.out)
      end
      assert.matches("Examples:", r.out)
      assert.matches("Exit status:", r.out)
    end)

    for _, cmd in ipairs({ "decode", "encode", "show", "info", "x" }) do
      it(cmd .. " --help and -h", function()
        for _, flag in ipairs({ "--help", "-h" }) do
          local r = crit(cmd, flag)
          assert.are.equal(0, r.code, r.err)
          assert.matches("^Usage: crit%.lua " .. cmd .. " ", r.out)
          assert.matches("Examples:\n   crit%.lua " .. cmd, r.out)
          assert.matches("Exit status", r.out)
        end
      end)
    end

    it("--version", function()
      local r = crit("--version")
      assert.are.equal(0, r.code, r.err)
      assert.matches("^crit%.lua %(lua%-crit%) %d+%.%d+%.%d+", r.out)
    end)

    it("wrong usage prints the usage and exits with 2", function()
      for _, args in ipairs({ {}, { "frob" }, { "decode", "--bogus" }, { "show" },
        { "info", "a", "b" }, { "x", FIXTURES .. "/sleep" }, { "x", FIXTURES .. "/sleep", "top" },
        { "decode", "-i" } }) do
        local r = crit(table.unpack(args))
        local what = table.concat(args, " ")
        assert.are.equal(2, r.code, what .. ": " .. r.err)
        assert.matches("^Usage: crit%.lua", r.err, what)
        assert.matches("crit%.lua: error: ", r.err, what)
        assert.are.equal("", r.out, what)
      end
    end)

    -- What the commands find wrong in their arguments once parsed is wrong
    -- usage too: exit 2 and the usage of the command, not exit 1.
    it("a command's own argument checks exit with 2 and its usage", function()
      local dir = FIXTURES .. "/sleep"
      for _, args in ipairs({
        { "decode", "--nice", "-i", dir .. "/pstree.img" },
        { "decode", "--format", "txt", "--pretty", "-i", dir .. "/pstree.img" },
        { "transform", dir, "script.lua" },
        { "serve", "/tmp", dir, "--", "x" },
        { "capture", "/tmp", "-o", "/tmp/nothing-here", "--", "x" },
        { "transform", "-", "script.lua", "--in-place" },
        { "mem", dir, "abc" },
        { "mem", dir, "0", "--maps" },
        { "mem", dir, "1", "--len", "16" },
        { "mem", dir, "1", "--addr", "0xzz" },
        { "mem", dir, "1", "--search", "" },
        { "mem", dir, "1", "--regex", "^x" },
        { "mem", dir, "1", "--maps", "--raw" },
        { "check", "--only", dir },
        { "coredump", dir, "--pid", "x" },
      }) do
        local r = crit(table.unpack(args))
        local what = table.concat(args, " ")
        assert.are.equal(2, r.code, what .. ": " .. r.err)
        assert.matches("^Usage: crit%.lua " .. args[1] .. "%s", r.err, what)
        assert.matches("\ncrit%.lua: error: [^\n]+\nTry 'crit%.lua " .. args[1] .. " %-%-help'", r.err, what)
        assert.are.equal("", r.out, what)
      end
    end)

    it("a directory where an image is expected: one line, exit status 1", function()
      local dir = FIXTURES .. "/sleep"
      for _, args in ipairs({ { "decode", "-i", dir }, { "show", dir }, { "info", dir } }) do
        assert_one_line_error(crit(table.unpack(args)), "sleep: Is a directory\n$")
      end
      assert_one_line_error(sh(CRIT .. " decode < " .. dir), "stdin: Is a directory\n$")
    end)
  end)
end)
