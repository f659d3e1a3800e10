-- The bad-input matrix: hostile images, JSON and text documents, each through
-- the CLI (crit.lua as a subprocess) and the API. Every one must fail
-- cleanly: exit status 1 and one line on stderr naming the file, where
-- (offset / entry / line and column) and the field path; no output file
-- left behind, an existing one unchanged; memory bounded by the input.
-- The size of the matrix is printed by the last test.
local core = require "crit.core"
local crit = require "crit"
local S = require "spec.support"
local sh, quote = S.sh, S.quote

local CRIT = "./crit.lua"
local SANITIZED = os.getenv("CRIT_SANITIZED") ~= nil
local M, COMMON = S.MAGIC, S.IMG_COMMON

local tmp
local checks = 0 -- how many (case, way) pairs ran: the matrix size


local crit_cli = S.crit -- ./crit.lua with quoted arguments

-- Exit status 1, one line "crit.lua: FILE: WHERE: ..." matching `want`.
local function assert_clean_failure(r, file, want)
  checks = checks + 1
  assert.are.equal(1, r.code, r.err)
  assert.are.equal(1, select(2, r.err:gsub("\n", "")), r.err)
  assert.matches("\n$", r.err)
  assert.not_matches("traceback", r.err)
  assert.truthy(r.err:find("crit.lua: " .. file .. ": ", 1, true), r.err)
  assert.matches(want, r.err)
end

-- The same for an error raised by the API.
local function assert_api_failure(ok, err, file, want)
  checks = checks + 1
  assert.is_false(ok, "should fail")
  err = tostring(err)
  assert.not_matches("\n", err)
  assert.are.equal(file .. ": ", err:sub(1, #file + 2), err)
  assert.matches(want, err)
end

-- Nothing but what the test put in the directory: no temporary file left.
local function assert_only(dir, names)
  local want = {}
  for _, n in ipairs(names) do want[#want + 1] = n end
  table.sort(want)
  local got = {}
  for _, n in ipairs(S.lines_of("ls -A " .. quote(dir))) do
    if n ~= "stdout" and n ~= "stderr" then got[#got + 1] = n end
  end
  assert.are.same(want, got)
end

-- ---------------------------------------------------------------------
-- Images. `want` matches the message: "offset 0" for the header, "entry N
-- at offset X" then the field path for an entry. `info_ok`: crit info
-- counts entries without decoding them, so a bad message inside is fine.

local function u32(v) return S.u32(v) end
local key, varint = S.key, S.varint
local function uint(field, v) return key(field, 0) .. varint(v) end
local function len(field, bytes) return key(field, 2) .. varint(#bytes) .. bytes end

-- A CGROUP entry whose directory has children 10000 deep: the one
-- recursive message of CRIU's schema (cgroup_dir_entry.children).
local function cgroup_bomb(depth)
  local dir = len(1, "d")
  for _ = 1, depth do dir = len(1, "d") .. len(2, dir) end
  return S.image({ COMMON, 0x59383330 }, { len(2, len(2, dir)) })
end

local DESC = len(1, uint(1, 1) .. uint(2, 0) .. uint(3, 0) .. uint(4, 0) .. uint(5, 0)
  .. uint(6, 420) .. uint(7, 7))

local IMAGES = {
  { "an empty file", "", "offset 0: empty file" },
  { "1 byte", "\x19", "offset 0: truncated magic %(1 bytes%)" },
  { "2 bytes", "\x19\x43", "offset 0: truncated magic %(2 bytes%)" },
  { "3 bytes", "\x19\x43\x56", "offset 0: truncated magic %(3 bytes%)" },
  { "only IMG_COMMON", u32(COMMON), "offset 0: truncated magic: 0x54564319 and no image magic" },
  { "an unknown magic", u32(0x12345678), "offset 0: unknown magic 0x12345678" },
  { "a wrong second magic", u32(COMMON) .. u32(0xdeadbeef), "offset 4: unknown magic 0xdeadbeef" },
  { "a truncated entry size", S.image({ COMMON, M.PSTREE }) .. "\x05\x00",
    "entry 1 at offset 8: truncated entry size" },
  { "an entry size past EOF", S.image({ COMMON, M.PSTREE }) .. u32(100) .. "abc",
    "entry 1 at offset 8: entry size 100 past the end of the file" },
  { "entry size 0x7fffffff", S.image({ COMMON, M.PSTREE }) .. u32(0x7fffffff) .. "abc",
    "entry 1 at offset 8: entry size 2147483647 past the end of the file" },
  { "entry size 0xffffffff", S.image({ COMMON, M.PSTREE }) .. u32(0xffffffff) .. "abc",
    "entry 1 at offset 8: entry size 4294967295 past the end of the file" },
  { "a second entry past EOF", S.image({ COMMON, M.PSTREE }, { uint(1, 1) }) .. u32(9),
    "entry 2 at offset 14: entry size 9 past the end of the file" },
  { "an invalid varint", S.image({ COMMON, M.PSTREE }, { key(1, 0) .. ("\xff"):rep(10) .. "\x01" }),
    "entry 1 at offset 12: pid: invalid varint", info_ok = true },
  { "a varint key over 10 bytes", S.image({ COMMON, M.PSTREE }, { ("\xff"):rep(11) }),
    "entry 1 at offset 12: invalid varint in field key", info_ok = true },
  { "a wrong wire type", S.image({ COMMON, M.PSTREE }, { len(1, "x") }),
    "entry 1 at offset 12: pid: wrong wire type for a uint32 field", info_ok = true },
  { "a nested length past its message", S.image({ COMMON, M.CORE }, { key(2, 2) .. "\x7f" }),
    "entry 1 at offset 12: .*length past the end", info_ok = true },
  { "a nesting bomb", cgroup_bomb(10000),
    "entry 1 at offset %d+: controllers.*%.children.*: nesting too deep", info_ok = true },
  { "a uint32 above 2^32", S.image({ COMMON, M.PSTREE }, { key(1, 0) .. "\x80\x80\x80\x80\x10" }),
    "entry 1 at offset 12: pid: value out of range for uint32", info_ok = true },
  { "a payload longer than the file",
    S.image({ COMMON, M.PIPES_DATA }, { { uint(1, 1) .. uint(2, 1000), "abc" } }),
    "entry 1 at offset 8: payload of 1000 bytes past the end of the file" },
  { "nsems 0xffffffff", S.image({ COMMON, M.IPCNS_SEM }, { { DESC .. uint(2, 0xffffffff), "abcd" } }),
    "entry 1 at offset 8: payload of 8589934592 bytes past the end of the file" },
  { "qnum 0xffffffff",
    S.image({ COMMON, M.IPCNS_MSG }, { { DESC .. uint(2, 0) .. uint(3, 0xffffffff), "abcd" } }),
    "entry 1 at offset 8: message 1: size %d+ past the end of the file" },
}

-- Walk everything the image holds: every framing and message error shows.
local function walk(img)
  for i = 1, #img do local _ = img[i] end
end

describe("bad images", function()
  setup(function() tmp = S.tmpdir() end)
  teardown(function() S.cleanup() end)

  for _, case in ipairs(IMAGES) do
    local what, bytes, want = case[1], case[2], case[3]
    describe(what, function()
      local file, out, kept

      before_each(function()
        file = tmp .. "/bad.img"
        out = tmp .. "/new.json"
        kept = tmp .. "/kept.json"
        S.write(file, bytes)
        S.write(kept, "precious\n")
        os.remove(out)
      end)

      it("crit.load raises one line with the name and where", function()
        local ok, err = pcall(function() walk(crit.load(bytes, "bad.img")) end)
        assert_api_failure(ok, err, "bad.img", want)
      end)

      it("crit.open raises one line with the path and where", function()
        local ok, err = pcall(function() walk(assert(crit.open(file))) end)
        assert_api_failure(ok, err, file, want)
      end)

      it("decode -o NEW fails and leaves no file", function()
        assert_clean_failure(crit_cli("decode", "-i", file, "-o", out), file, want)
        assert_only(tmp, { "bad.img", "kept.json" })
      end)

      it("decode -o EXISTING fails and leaves it unchanged", function()
        assert_clean_failure(crit_cli("decode", "--pretty", "-i", file, "-o", kept), file, want)
        assert.are.equal("precious\n", S.read(kept))
        assert_only(tmp, { "bad.img", "kept.json" })
      end)

      it("show fails", function()
        assert_clean_failure(crit_cli("show", file), file, want)
      end)

      it(case.info_ok and "info counts the entries" or "info fails", function()
        local r = crit_cli("info", file)
        if case.info_ok then
          checks = checks + 1
          assert.are.equal(0, r.code, r.err)
        else
          assert_clean_failure(r, file, want)
        end
      end)
    end)
  end

  it("an image with a header and no entries is valid, not an error", function()
    local file = tmp .. "/empty.img"
    S.write(file, S.image({ COMMON, M.PSTREE }))
    assert.are.equal(0, #crit.load(S.read(file)))
    local r = crit_cli("decode", "-i", file)
    assert.are.equal(0, r.code, r.err)
    assert.are.equal('{"magic": "PSTREE", "entries": []}\n', r.out)
  end)

  it("a Lua table nested 10000 deep does not encode, and says where", function()
    local dir = { dir_name = "d" }
    for _ = 1, 10000 do dir = { dir_name = "d", children = { dir } } end
    local img = crit.new("CGROUP")
    img:append({ controllers = { { dirs = { dir } } } })
    local ok, err = pcall(img.encode, img)
    assert.is_false(ok)
    assert.matches("entry 1 at offset 8: controllers%[1%]%.dirs%[1%]%.children%[1%].*: nesting too deep", err)
  end)

  -- Known fields nest deeply only through cgroup_dir_entry.children (in
  -- the matrix above); a nesting bomb in an unknown field is kept as
  -- bytes, never parsed.
  it("a nesting bomb in an unknown field is kept as bytes, not parsed", function()
    local bomb = ""
    for _ = 1, 10000 do bomb = len(1, bomb) end
    local msg = uint(1, 1) .. uint(2, 0) .. uint(3, 1) .. uint(4, 1) .. len(1000, bomb)
    local img = crit.load(S.image({ COMMON, M.PSTREE }, { msg }))
    assert.are.equal(1, img[1].pid)
    local file = tmp .. "/bomb.img"
    S.write(file, img:encode())
    local r = crit_cli("decode", "-i", file)
    assert.are.equal(0, r.code, r.err)
  end)
end)

-- ---------------------------------------------------------------------
-- Invalid UTF-8 is not an error: a string field holds bytes, written as
-- Python's surrogateescape writes them (\udcXX) and read back the same.

describe("strings that are not UTF-8", function()
  setup(function() tmp = S.tmpdir() end)
  teardown(function() S.cleanup() end)

  local all = {}
  for b = 0, 255 do all[#all + 1] = string.char(b) end
  local STRINGS = {
    ["a lone 0xff"] = "\xff",
    ["a truncated sequence"] = "ab\xe2\x82",
    ["an encoded surrogate"] = "\xed\xa0\x80",
    ["an overlong NUL"] = "\xc0\x80",
    ["all 256 bytes"] = table.concat(all),
    ["valid text around junk"] = "é\xfe€\x80ok",
  }
  for what, comm in pairs(STRINGS) do
    it("round-trip losslessly: " .. what, function()
      local img = crit.new("CORE")
      img:append({ mtype = "X86_64", tc = { task_state = 1, exit_code = 0, personality = 0,
        flags = 0, blk_sigset = 0, comm = comm } })
      local bytes = img:encode()
      local file, json, back = tmp .. "/core.img", tmp .. "/core.json", tmp .. "/back.img"
      S.write(file, bytes)
      for _, pretty in ipairs({ false, true }) do
        local r = crit_cli("decode", "-i", file, "-o", json, pretty and "--pretty" or nil)
        assert.are.equal(0, r.code, r.err)
        r = crit_cli("encode", "-i", json, "-o", back)
        assert.are.equal(0, r.code, r.err)
        assert.are.equal(bytes, S.read(back))
      end
      local out = core.output()
      core.json_read(S.read(json), out, "core.json")
      assert.are.equal(comm, crit.load(out:finish())[1].tc.comm)
    end)
  end
end)

-- ---------------------------------------------------------------------
-- JSON. `want` matches "line L, column C: path: what".

local function doc(magic, entries)
  return '{"magic": "' .. magic .. '", "entries": [' .. entries .. "]}"
end
local function pstree(fields)
  return doc("PSTREE", "{" .. fields .. "}")
end
local TASK = '{"mtype": "X86_64", "tc": {"task_state": 1, "exit_code": 0, "personality": 0, '
  .. '"flags": 0, "blk_sigset": 0, "comm": %s}}'
local JDESC = '{"key": 1, "uid": 0, "gid": 0, "cuid": 0, "cgid": 0, "mode": 420, "id": 7}'

local JSONS = {
  { "an empty document", "", "line 1, column 1: unexpected end of the input" },
  { "a syntax error", '{"magic": "PSTREE", "entries": [}', "line 1, column 33: entries%[1%]: unexpected '}'" },
  { "a document cut short", '{"magic": "PSTREE", "entries": [{"pid": 1', "line 1, column %d+: entries%[1%]" },
  { "garbage after the document", doc("PSTREE", "") .. " x", "line 1, column 36: unexpected 'x'" },
  { "NaN", pstree('"pid": NaN'), "line 1, column 41: entries%[1%]%.pid: unexpected 'N'" },
  { "a raw newline in a string", pstree('"pid": 1, "ppid": 1, "pgid": 1, "sid": 1, "threads": ["a\n"]'),
    "line 1, column %d+: entries%[1%]%.threads%[1%]: control character 0x0a" },
  { "entries not an array", '{"magic": "PSTREE", "entries": {}}', "line 1, column 32: entries: .*must be an array" },
  { "a string for an integer", pstree('"pid": "x", "ppid": 1, "pgid": 1, "sid": 1'),
    "line 1, column 41: entries%[1%]%.pid: invalid integer" },
  { "an array for an integer", pstree('"pid": [], "ppid": 1, "pgid": 1, "sid": 1'),
    "line 1, column 41: entries%[1%]%.pid: expected an integer, got an array" },
  { "a fraction for an integer", pstree('"pid": 1.5, "ppid": 1, "pgid": 1, "sid": 1'),
    "line 1, column 41: entries%[1%]%.pid: uint32 field needs an integer" },
  { "an unknown key", pstree('"pid": 1, "ppid": 1, "pgid": 1, "sid": 1, "zzz": 1'),
    "line 1, column 76: entries%[1%]%.zzz: unknown key" },
  { "a missing required field", pstree('"pid": 1, "pgid": 1, "sid": 1'),
    "line 1, column 33: entries%[1%]%.ppid: missing required field" },
  { "2^32 for a uint32", pstree('"pid": 4294967296, "ppid": 1, "pgid": 1, "sid": 1'),
    'line 1, column 41: entries%[1%]%.pid: "4294967296" is out of range for uint32' },
  { "-1 for a uint32", pstree('"pid": -1, "ppid": 1, "pgid": 1, "sid": 1'),
    'line 1, column 41: entries%[1%]%.pid: "%-1" is out of range for uint32' },
  { "2^64 for a uint64", doc("PAGEMAP", '{"pages_id": 1}, {"vaddr": 18446744073709551616, "compat_nr_pages": 1}'),
    'line 1, column 61: entries%[2%]%.vaddr: "18446744073709551616" is out of range for uint64' },
  { "-1 for a uint64", doc("PAGEMAP", '{"pages_id": 1}, {"vaddr": -1, "compat_nr_pages": 1}'),
    'line 1, column 61: entries%[2%]%.vaddr: "%-1" is out of range for uint64' },
  { "a 400-digit number", pstree('"pid": 1' .. ("0"):rep(400) .. ', "ppid": 1, "pgid": 1, "sid": 1'),
    "line 1, column 41: entries%[1%]%.pid: .*out of range for uint32" },
  { "a duplicate key", pstree('"pid": 1, "pid": 2, "ppid": 1, "pgid": 1, "sid": 1'),
    "line 1, column 44: entries%[1%]%.pid: duplicate key" },
  { "an unknown magic", doc("NOPE", ""), 'line 1, column 11: magic: unknown magic "NOPE"' },
  { "10000 nested arrays", '{"magic": "PSTREE", "entries": [' .. ("["):rep(10000),
    "line 1, column %d+: entries%[1%]%[1%].*: nested deeper than 64 arrays and objects" },
  { "10000 nested objects", '{"magic": "PSTREE", "entries": [' .. ('{"a": '):rep(10000),
    "line 1, column %d+: entries%[1%]%.a%.a.*: nested deeper than 64 arrays and objects" },
  { "raw invalid UTF-8", doc("CORE", TASK:format('"\xff\xfe"')),
    "line 1, column %d+: entries%[1%]%.tc%.comm: invalid UTF%-8 byte 0xff" },
  { "a lone high surrogate", doc("CORE", TASK:format('"\\ud800"')),
    "line 1, column %d+: entries%[1%]%.tc%.comm: lone surrogate" },
  { "a payload longer than its size", doc("PIPES_DATA", '{"pipe_id": 1, "bytes": 3, "extra": "YWJjZGVm\\n"}'),
    "line 1, column 73: entries%[1%]%.extra: 6 bytes of data, but bytes says 3" },
  { "nsems 2^32-1", doc("IPCNS_SEM", '{"desc": ' .. JDESC .. ', "nsems": 4294967295, "extra": [1, 2]}'),
    "line 1, column %d+: entries%[1%]%.extra: 2 semaphore values, but nsems says 4294967295" },
  { "qnum 2^32-1", doc("IPCNS_MSG", '{"desc": ' .. JDESC .. ', "qbytes": 0, "qnum": 4294967295, "extra": []}'),
    "line 1, column %d+: entries%[1%]%.extra: 0 items, but qnum says 4294967295" },
}

describe("bad JSON", function()
  setup(function() tmp = S.tmpdir() end)
  teardown(function() S.cleanup() end)

  for _, case in ipairs(JSONS) do
    local what, text, want = case[1], case[2], case[3]
    describe(what, function()
      local file, out, kept

      before_each(function()
        file = tmp .. "/bad.json"
        out = tmp .. "/new.img"
        kept = tmp .. "/kept.img"
        S.write(file, text)
        S.write(kept, "precious\n")
        os.remove(out)
      end)

      it("core.json_read from a string raises, leaving no file", function()
        local o = core.output(out)
        local ok, err = pcall(core.json_read, text, o, "bad.json")
        assert_api_failure(ok, err, "bad.json", want)
        o:abort()
        assert_only(tmp, { "bad.json", "kept.img" })
      end)

      it("core.json_read from a file raises the same", function()
        local f = assert(io.open(file, "rb"))
        local o = core.output(kept)
        local ok, err = pcall(core.json_read, f, o, "bad.json")
        f:close()
        o:abort()
        assert_api_failure(ok, err, "bad.json", want)
        assert.are.equal("precious\n", S.read(kept))
      end)

      it("encode -o NEW fails and leaves no file", function()
        assert_clean_failure(crit_cli("encode", "-i", file, "-o", out), file, want)
        assert_only(tmp, { "bad.json", "kept.img" })
      end)

      it("encode -o EXISTING fails and leaves it unchanged", function()
        assert_clean_failure(crit_cli("encode", "-i", file, "-o", kept), file, want)
        assert.are.equal("precious\n", S.read(kept))
        assert_only(tmp, { "bad.json", "kept.img" })
      end)
    end)
  end
end)

-- ---------------------------------------------------------------------
-- Hostile protobuf text format (decode --format txt): the same ways as
-- JSON, from a string and through encode (told apart by its '#').

local TEXTS = {
  { "an unknown magic", "#NOPE\n", "line 1, column 2: unknown magic 'NOPE'" },
  { "no magic line", "pid: 1\n", "line 1, column 1: '#' and the image's magic expected" },
  { "an unknown field", "#FS\n#0\ncwd_id: 1 root_id: 2 umask: 3 zzz: 4\n",
    "line 3, column 31: #0: unknown field 'zzz'" },
  { "2^32 for a uint32", "#PSTREE\n#0\npid: 4294967296 ppid: 0 pgid: 0 sid: 0\n",
    "line 3, column 6: #0%.pid: value out of range for a uint32" },
  { "-1 for a uint64", "#PAGEMAP\n#0\npages_id: 1\n#1\nvaddr: -1 compat_nr_pages: 1\n",
    "line 5, column 8: #1%.vaddr: value out of range for a uint64" },
  { "a 400-digit number", "#FS\n#0\ncwd_id: 1" .. ("0"):rep(400) .. "\n",
    "line 3, column %d+: #0%.cwd_id: number out of range" },
  { "a missing required field", "#FS\n#0\ncwd_id: 1\n",
    "line 4, column 1: #0: missing required field 'root_id'" },
  { "an unterminated string", '#FS\n#0\n99: "abc\n', "line 3, column 9: #0%.99: unterminated string" },
  { "a brace never closed", "#CORE\n#0\nmtype: X86_64\ntc {\n",
    "#0%.tc: '}' expected before the end of the entry" },
  { "a payload of the wrong size", '#PIPES_DATA\n#0\npipe_id: 1 bytes: 3\n#extra "ab"\n',
    "line 2, column 1: #0: #extra: 2 bytes, fewer than the entry's fields give" },
  { "nesting 100 deep", "#CORE\n#0\n" .. ("1 {"):rep(100) .. ("}"):rep(100) .. "\n",
    "nesting too deep" },
  { "an entry of the wrong type", "#PAGEMAP\n#0 pagemap_entry\n", "this entry is a pagemap_head" },
}

describe("bad text format", function()
  setup(function() tmp = S.tmpdir() end)
  teardown(function() S.cleanup() end)

  for _, case in ipairs(TEXTS) do
    local what, text, want = case[1], case[2], case[3]
    describe(what, function()
      local file, out, kept

      before_each(function()
        file = tmp .. "/bad.txt"
        out = tmp .. "/new.img"
        kept = tmp .. "/kept.img"
        S.write(file, text)
        S.write(kept, "precious\n")
        os.remove(out)
      end)

      it("core.text_read raises, leaving no file", function()
        local o = core.output(out)
        local ok, err = pcall(core.text_read, text, o, "bad.txt")
        assert_api_failure(ok, err, "bad.txt", want)
        o:abort()
        assert_only(tmp, { "bad.txt", "kept.img" })
      end)

      it("encode -o NEW fails and leaves no file", function()
        local r = crit_cli("encode", "--format", "txt", "-i", file, "-o", out)
        assert_clean_failure(r, file, want)
        assert_only(tmp, { "bad.txt", "kept.img" })
      end)

      it("encode -o EXISTING fails and leaves it unchanged", function()
        assert_clean_failure(crit_cli("encode", "--format", "txt", "-i", file, "-o", kept), file, want)
        assert.are.equal("precious\n", S.read(kept))
        assert_only(tmp, { "bad.txt", "kept.img" })
      end)
    end)
  end
end)

-- ---------------------------------------------------------------------
-- A 100 MB string (10 MB under the sanitizers): it works, and the peak RSS
-- stays within a small multiple of the input.

describe("a huge string", function()
  setup(function() tmp = S.tmpdir() end)
  teardown(function() S.cleanup() end)

  -- Peak RSS in bytes of crit.lua with these arguments, and its result.
  local function measured(...)
    local words = {}
    for i, a in ipairs({ ... }) do words[i] = quote(a) end
    local r = sh("/usr/bin/time -f %M -o " .. tmp .. "/rss " .. CRIT .. " " .. table.concat(words, " "))
    return tonumber(S.read(tmp .. "/rss"):match("(%d+)%s*$")) * 1024, r
  end

  it("encodes and decodes back, with peak RSS under 4 x input + 64 MB", function()
    local size = (SANITIZED and 10 or 100) * 1024 * 1024
    local json, img, back = tmp .. "/huge.json", tmp .. "/huge.img", tmp .. "/back.json"
    local text = doc("CORE", TASK:format('"' .. ("a"):rep(size) .. '"'))
    S.write(json, text)
    local rss, r = measured("encode", "-i", json, "-o", img)
    assert.are.equal(0, r.code, r.err)
    if not SANITIZED then assert.is_true(rss < 4 * #text + 64 * 2^20, rss) end
    rss, r = measured("decode", "-i", img, "-o", back)
    assert.are.equal(0, r.code, r.err)
    if not SANITIZED then assert.is_true(rss < 4 * #text + 64 * 2^20, rss) end
    assert.is_true(S.read(back) == text, "decode gives back the same JSON")
    checks = checks + 2
  end)
end)

-- ---------------------------------------------------------------------
-- What the fuzzers found (fuzz/regressions/HARNESS/), replayed through
-- the API: under `make test-asan` the sanitizers check them again. An
-- image input is one byte for the type (as fuzz_decode.c picks it), then
-- the image after its header.

describe("fuzz regressions", function()
  local function image_of(input)
    local types = crit.magics()
    local t = types[input:byte(1) % #types + 1]
    local magic = t.raw and "PAGEMAP" or t.name
    return require("crit.core").header(magic) .. input:sub(2), magic
  end

  -- fuzz_decode's property: an entry that decodes and encodes again
  -- decodes to the same table.
  local function round_trips(bytes, magic)
    local ok, x = pcall(core.load, bytes, "fuzz.img")
    if not ok then return end
    for i = 1, 64 do
      local has_ok, has = pcall(x.has, x, i)
      if not has_ok or not has then return end
      local decoded, t = pcall(x.decode, x, i)
      local encoded, msg, payload = pcall(core.encode_entry, magic, i, t)
      if decoded and encoded then
        local again = core.load(bytes:sub(1, x:span(i)) .. string.pack("<I4", #msg) .. msg .. payload, "fuzz.img")
        assert.are.same(t, again:decode(i), "entry " .. i)
      end
    end
  end

  local REPLAY = {
    decode = function(input)
      pcall(function() walk(crit.load(image_of(input), "fuzz.img")) end)
      round_trips(image_of(input))
    end,
    json_write = function(input)
      for _, opts in ipairs({ {}, { pretty = true }, { nopl = true }, { pretty = true, nopl = true } }) do
        pcall(function() core.json_write(core.load(image_of(input), "fuzz.img"), core.output(), opts) end)
      end
    end,
    text_read = function(input)
      local out = core.output()
      if pcall(core.text_read, input, out, "fuzz.txt") then
        local x = core.load(out:finish(), "fuzz.img")
        local text = core.output()
        core.text_write(x, text, { nice = true })
        core.text_read(text:finish(), core.output(), "again.txt")
      else
        out:abort()
      end
    end,
    json_read = function(input)
      local out = core.output()
      if pcall(core.json_read, input, out, "fuzz.json") then
        local x = core.load(out:finish(), "fuzz.img")
        local json = core.output()
        core.json_write(x, json)
        local again = core.output()
        core.json_read(json:finish(), again, "again.json")
      else
        out:abort()
      end
    end,
  }

  -- fuzz_archive: the bytes as an archive file; every member read
  REPLAY.archive = function(input)
    local path = os.tmpname()
    S.write(path, input)
    local ok, a = pcall(core.archive, path)
    os.remove(path)
    if ok and a then
      for _, m in ipairs(a:members()) do
        if m.type == "file" then assert.are.equal(m.size, #a:read(m.name)) end
      end
    end
  end

  for harness, replay in pairs(REPLAY) do
    for _, file in ipairs(S.lines_of("find fuzz/regressions/" .. harness .. " -type f ! -name '.*' | LC_ALL=C sort")) do
      it(harness .. ": " .. file:match("[^/]+$"), function()
        replay(S.read(file))
      end)
    end
  end
end)

-- ---------------------------------------------------------------------
-- Hostile archives: each is given to `x` (reading), to crit.dir (the API)
-- and to `transform -o` (writing): one clear line, exit 1, and nothing
-- written, in OUT's directory or anywhere else.

local tar, tar_header = S.tar, S.tar_header
local function file(name, body) return { name = name, body = body or "" } end
local VALID = { { name = "checkpoint/", type = "5" }, file("checkpoint/pstree.img", "x"),
  file("checkpoint/inventory.img", "x") }
local function with(extra)
  local list = {}
  for _, m in ipairs(VALID) do list[#list + 1] = m end
  for _, m in ipairs(extra) do list[#list + 1] = m end
  return tar(list)
end
local ARCHIVES_DIR = S.archives()

-- A tar of n empty members, fast: the header of member i differs from the
-- first only in the digits of its name, so its checksum is the first's
-- plus the digits' difference.
local function many_members(n)
  local first = tar_header({ name = string.format("m/%08d", 0) })
  local base = tonumber(first:sub(149, 154), 8) - 8 * 48
  local head, tail = first:sub(11, 148), first:sub(157)
  local parts = {}
  for i = 0, n - 1 do
    local digits = string.format("%08d", i)
    local sum = base
    for k = 1, 8 do sum = sum + digits:byte(k) end
    parts[#parts + 1] = "m/" .. digits .. head .. string.format("%06o\0 ", sum) .. tail
  end
  parts[#parts + 1] = string.rep("\0", 1024)
  return table.concat(parts)
end

local ARCHIVE_CASES = {
  { "a member named ../x", function() return with({ file("../x", "evil") }) end,
    "member 4 '../x': a path outside the archive" },
  { "a member named checkpoint/../../x", function() return with({ file("checkpoint/../../x") }) end,
    "a path outside the archive" },
  { "an absolute member name", function() return with({ file("/etc/evil", "evil") }) end,
    "member 4 '/etc/evil': a path outside the archive" },
  { "a symlink to an absolute path", function()
      return with({ { name = "checkpoint/core-1.img", type = "2", link = "/etc/shadow" } })
    end, "a link to '/etc/shadow', outside the archive" },
  { "a symlink climbing out", function()
      return with({ { name = "checkpoint/x", type = "2", link = "../../etc" } })
    end, "a link to '../../etc', outside the archive" },
  { "a hard link out", function()
      return with({ { name = "checkpoint/y", type = "1", link = "../etc/passwd" } })
    end, "outside the archive" },
  { "a member twice", function() return with({ file("checkpoint/pstree.img", "again") }) end,
    "member 4 'checkpoint/pstree.img': a second member of that name" },
  { "a bad header checksum", function()
      local t = with({})
      return t:sub(1, 512) .. "Z" .. t:sub(514)
    end, "a bad tar header at offset 512 %(checksum%)" },
  { "a declared size of 2^62 (base-256), 0 bytes there", function()
      local h = tar_header({ name = "checkpoint/pages-1.img" })
      h = h:sub(1, 124) .. "\128" .. string.rep("\0", 3) .. "\64" .. string.rep("\0", 7) .. h:sub(137)
      local sum = 0
      for k = 1, 512 do sum = sum + ((k >= 149 and k <= 156) and 32 or h:byte(k)) end
      h = h:sub(1, 148) .. string.format("%06o\0 ", sum) .. h:sub(157)
      return tar(VALID):sub(1, -1025) .. h .. string.rep("\0", 1024)
    end, "truncated" },
  { "a declared size of 8 GiB, 0 bytes there", function()
      return with({ { name = "checkpoint/pages-1.img", size = 8 * 1024 * 1024 * 1024 - 1 } })
    end, "truncated" },
  { "a declared size of 8 GiB, gzip", function()
      return with({ { name = "checkpoint/pages-1.img", size = 8 * 1024 * 1024 * 1024 - 1 } })
    end, "truncated", "gzip" },
  { "a tar without checkpoint images", function() return tar({ file("hello.txt", "hi") }) end,
    "an archive without checkpoint images" },
  { "an empty tar (zeros only)", function() return string.rep("\0", 10240) end,
    "not a directory, nor a checkpoint archive" },
  { "bytes that are not an archive", function() return "\1\2\3 not a tar\n" end,
    "not a directory, nor a checkpoint archive" },
  { "a gzip stream cut in half", function()
      local t = S.read(ARCHIVES_DIR .. "/bb-sleep.tar.gz")
      return t:sub(1, #t // 2)
    end, "gzip: the compressed stream is truncated", nil, true },
  { "a gzip stream with bytes flipped", function()
      local t = S.read(ARCHIVES_DIR .. "/bb-sleep.tar.gz")
      local at = #t // 2
      return t:sub(1, at) .. string.rep("\255", 64) .. t:sub(at + 65)
    end, "gzip: ", nil, true },
  { "a zstd stream cut in half", function()
      local t = with({ file("checkpoint/core-1.img", string.rep("core", 5000)) })
      return t
    end, "zstd: the compressed stream is truncated", "zstd-cut" },
  { "a gzip bomb: 64 MiB of zeros over CRIT_ARCHIVE_MAX_BYTES=16 MiB", function()
      return with({ file("checkpoint/pages-1.img", string.rep("\0", 64 << 20)) })
    end, "decompresses to more than 16777216 bytes", "gzip", false, "CRIT_ARCHIVE_MAX_BYTES=16777216" },
}

describe("hostile archives", function()
  local dir
  setup(function() dir = S.tmpdir() end)
  teardown(function() S.cleanup() end)

  for i, case in ipairs(ARCHIVE_CASES) do
    local what, make, want, compress, needs_corpus, env = table.unpack(case)
    it(what .. ": one line, exit 1, nothing written", function()
      if needs_corpus and not ARCHIVES_DIR then
        return pending("needs " .. S.CORPUS .. "/archives")
      end
      local has_zstd = S.sh("command -v zstd").code == 0
      if compress == "zstd-cut" and not has_zstd then return pending("zstd (the command) is not installed") end
      local path = dir .. "/case-" .. i .. ".tar"
      S.write(path, make())
      if compress == "gzip" then
        assert(os.execute("gzip -1 -n -c " .. quote(path) .. " > " .. quote(path .. ".gz")))
        os.remove(path)
        path = path .. ".gz"
      elseif compress == "zstd-cut" then
        assert(os.execute("zstd -q -c " .. quote(path) .. " > " .. quote(path .. ".zst")))
        os.remove(path)
        path = path .. ".zst"
        local z = S.read(path)
        S.write(path, z:sub(1, #z // 2))
      end
      local prefix = env and ("env " .. env .. " ") or ""
      assert_clean_failure(sh(prefix .. CRIT .. " x " .. quote(path) .. " ps"), path, want)
      local out = dir .. "/out-" .. i
      os.execute("mkdir " .. quote(out))
      assert_clean_failure(sh(prefix .. CRIT .. " transform " .. quote(path)
        .. " examples/transforms/set-rlimit.lua -o " .. quote(out .. "/new.tar") .. " -- NOFILE=10"), path, want)
      assert_only(out, {})
      if not env then
        local ok, err = pcall(function()
          local d, e = crit.dir(path)
          if not d then error(e, 0) end
        end)
        assert_api_failure(ok, err, path, want)
      else
        checks = checks + 1
      end
    end)
  end

  it("300000 members (over the 262144 allowed): bounded time and memory", function()
    local path = dir .. "/many.tar"
    S.write(path, many_members(300000))
    assert(os.execute("gzip -1 -n " .. quote(path)))
    path = path .. ".gz"
    local t0 = os.time()
    local r = sh("/usr/bin/time -f 'maxrss %M' " .. CRIT .. " x " .. quote(path) .. " ps")
    local rss = tonumber(r.err:match("maxrss (%d+)"))
    r.err = r.err:gsub("maxrss %d+\n", ""):gsub("Command exited with non%-zero status 1\n", "")
    assert_clean_failure(r, path, "more than 262144 members: not a checkpoint archive")
    assert.truthy(os.time() - t0 < 60)
    -- memcheck's shadow memory counts in the RSS (106 MB): plain runs only
    if not SANITIZED then assert.truthy(rss < 64 * 1024, "max RSS " .. tostring(rss) .. " KiB") end
  end)
end)

-- Hostile big shapes: one image of a real dump grown to a huge number of
-- entries (or of elements of one entry), every command that reads the dump
-- run on it. The bound README states: peak RSS <= 4 x the largest image +
-- 64 MiB. Each image is built from the wire bytes of one element repeated,
-- in a fraction of a second.
local BIG_BOUND_MIB = 64
local PID = 30956

-- The framed entry e of an image of this magic, n times.
local function entries_rep(magic, e, n)
  local m = core.encode_entry(magic, 2, e)
  return (S.u32(#m) .. m):rep(n)
end

-- A shape's image grown by n entries e, and how to change its last one
-- into e2 or remove it (for diff: a copy with one entry changed).
local function appended(magic, e, e2, n)
  local tail, tail2 = entries_rep(magic, e, 1), entries_rep(magic, e2, 1)
  return {
    grow = function(path)
      local f = assert(io.open(path, "ab"))
      f:write(entries_rep(magic, e, n))
      f:close()
    end,
    changed = function(bytes) return bytes:sub(1, -#tail - 1) .. tail2 end,
    removed = function(bytes) return bytes:sub(1, -#tail - 1) end,
  }
end

local function fields_with(t, k, v)
  local r = {}
  for name, value in pairs(t) do r[name] = value end
  r[k] = v
  return r
end

local EMPTY_VMA = { start = 0, ["end"] = 0, pgoff = 0, shmid = 0, prot = 0, flags = 0, status = 0, fd = -1 }
local PAGEMAP_ENTRY = { vaddr = 0, nr_pages = 0, compat_nr_pages = 0, flags = 0 }
local FILE_ENTRY = { type = "REG", id = 5000, reg = { id = 5000, flags = 0, pos = 0,
  fown = { uid = 0, euid = 0, signum = 0, pid_type = 0, pid = 0 }, name = "/x" } }
local FD_ENTRY = { id = 17, flags = 0, type = "REG", fd = 3 }
local pagemap_rows = appended("PAGEMAP", PAGEMAP_ENTRY, fields_with(PAGEMAP_ENTRY, "flags", 1), 200000)
local file_rows = appended("FILES", FILE_ENTRY,
  fields_with(FILE_ENTRY, "reg", fields_with(FILE_ENTRY.reg, "flags", 1)), 100000)
local fd_rows = appended("FDINFO", FD_ENTRY, fields_with(FD_ENTRY, "flags", 1), 400000)
local vma = len(14, core.encode_entry("VMAS", 1, EMPTY_VMA))
local vma2 = len(14, core.encode_entry("VMAS", 1, fields_with(EMPTY_VMA, "prot", 1)))
assert(#vma == #vma2)

-- diff DIR against a copy with the last entry (or VMA) changed, and with
-- it removed: the positional and the keyed pairing.
local DIFF_CHANGED, DIFF_REMOVED = { "diff", "DIR", "CHANGED" }, { "diff", "DIR", "REMOVED" }
-- OUT: a directory for the cores
local MEM_MAPS, MEM = { "mem", "DIR", PID, "--maps" }, { "mem", "DIR", PID }
local COREDUMP = { "coredump", "DIR", "-o", "OUT" }

local BIG_SHAPES = {
  { name = "mm with 200,000 empty VMAs", image = "mm-" .. PID .. ".img",
    grow = function(path)
      local img = assert(crit.open(path))
      local m = core.encode_entry("MM", 1, img[1]) .. vma:rep(200000)
      local header = core.header("MM")
      img:close()
      S.write(path, header .. S.u32(#m) .. m)
    end,
    changed = function(bytes) return bytes:sub(1, -#vma - 1) .. vma2 end,
    removed = function(bytes)
      local header = core.header("MM")
      local m = bytes:sub(#header + 5, -#vma - 1)
      return header .. S.u32(#m) .. m
    end,
    commands = { { "x", "DIR", "mems" }, { "x", "DIR", "rss" }, { "stats", "DIR" }, { "check", "DIR" },
      DIFF_CHANGED, DIFF_REMOVED, MEM_MAPS, MEM, COREDUMP } },
  { name = "pagemap with 200,000 entries", image = "pagemap-" .. PID .. ".img",
    grow = pagemap_rows.grow, changed = pagemap_rows.changed, removed = pagemap_rows.removed,
    commands = { { "x", "DIR", "rss" }, { "stats", "DIR" }, { "check", "DIR" }, DIFF_CHANGED, DIFF_REMOVED,
      MEM_MAPS, MEM, COREDUMP } },
  { name = "files.img with 100,000 files", image = "files.img",
    grow = file_rows.grow, changed = file_rows.changed, removed = file_rows.removed,
    commands = { { "x", "DIR", "fds" }, { "x", "DIR", "mems" }, { "stats", "DIR" }, { "check", "DIR" },
      DIFF_CHANGED, DIFF_REMOVED } },
  { name = "fdinfo with 400,000 fds", image = "fdinfo-2.img",
    grow = fd_rows.grow, changed = fd_rows.changed, removed = fd_rows.removed,
    commands = { { "x", "DIR", "fds" }, { "stats", "DIR" }, { "check", "DIR" }, DIFF_CHANGED, DIFF_REMOVED } },
}
local big_commands = 0
for _, shape in ipairs(BIG_SHAPES) do big_commands = big_commands + #shape.commands end

describe("hostile big images", function()
  setup(function() tmp = S.tmpdir() end)
  teardown(function() S.cleanup() end)

  for _, shape in ipairs(BIG_SHAPES) do
    it(shape.name .. ": every command within 4 x the image + " .. BIG_BOUND_MIB .. " MiB", function()
      local dir = S.copy_dump("sleep")
      local path = dir .. "/" .. shape.image
      shape.grow(path)
      local size = assert(require("lfs").attributes(path, "size"))
      local preload = SANITIZED and os.getenv("LD_PRELOAD")
      -- CHANGED, REMOVED: copies of the dump with the image edited so
      local copies = {}
      for _, edit in ipairs({ "changed", "removed" }) do
        if shape[edit] then
          local copy = dir .. "." .. edit
          assert(os.execute("cp -r " .. quote(dir) .. " " .. quote(copy)))
          S.write(copy .. "/" .. shape.image, shape[edit](S.read(path)))
          copies[edit:upper()] = copy
        end
      end
      for _, words in ipairs(shape.commands) do
        local args = {}
        for i, w in ipairs(words) do
          args[i] = quote(w == "DIR" and dir or w == "OUT" and tmp or copies[w] or tostring(w))
        end
        local time = "/usr/bin/time -f %M -o " .. tmp .. "/rss "
        if preload then
          time = "env -u LD_PRELOAD " .. time .. "env LD_PRELOAD=" .. quote(preload) .. " "
        end
        local r = sh(time .. CRIT .. " " .. table.concat(args, " ") .. " > " .. tmp .. "/out")
        local what = table.concat(words, " ")
        -- check finds the hostile entries, diff the one change (exit 1);
        -- nothing else may fail
        local differs = words[1] == "check" or words[1] == "diff"
        assert.is_true(r.code == 0 or (differs and r.code == 1), what .. ": " .. r.err)
        assert.is_nil(r.err:find("traceback", 1, true), r.err)
        if words[1] == "diff" then
          local line = words[3] == "CHANGED" and ": 0 %-> 1\n$" or "only in the first\n$"
          local out = S.read(tmp .. "/out")
          assert.is_truthy(out:find("^[^\n]*" .. line), what .. ": " .. out:sub(1, 500))
        end
        local rss = tonumber(S.read(tmp .. "/rss"):match("(%d+)%s*$")) * 1024
        if not SANITIZED then
          assert.is_true(rss <= 4 * size + BIG_BOUND_MIB * 2^20,
            ("%s: peak RSS %d MiB, image %d MiB"):format(what, rss >> 20, size >> 20))
        end
        checks = checks + 1
      end
    end)
  end
end)

describe("the matrix", function()
  it("has as many checks as cases times ways", function()
    -- images: 6 ways each (load, open, decode new, decode existing, show,
    -- info); JSON: 4 ways each (string, file, encode new, encode existing)
    assert.are.equal(#IMAGES * 6 + #JSONS * 4 + #TEXTS * 3 + 2 + #ARCHIVE_CASES * 3 + 1 + big_commands,
      checks)
    print(("\nbad-input matrix: %d image cases x 6 + %d JSON cases x 4 + %d text cases x 3"
      .. " + 2 huge + %d archive cases x 3 + 1 + %d big-image commands = %d checks"):format(#IMAGES,
      #JSONS, #TEXTS, #ARCHIVE_CASES, big_commands, checks))
  end)
end)
