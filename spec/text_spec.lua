-- Protobuf text format: decode --format txt [--nice] and encode, exact to
-- the byte on every image, and the errors a wrong text gives.
local crit = require "crit"
local core = require "crit.core"
local S = require "spec.support"

-- text(bytes_or_index, nice) -> the image as text
local function text_of(index, nice)
  if type(index) == "string" then index = core.load(index, "image") end
  local out = core.output()
  core.text_write(index, out, { nice = nice })
  return out:finish()
end

-- image(text) -> the bytes text_read makes of it
local function image_of(text)
  local out = core.output()
  core.text_read(text, out, "text")
  return out:finish()
end

local function read_error(text)
  local ok, err = pcall(image_of, text)
  assert.is_false(ok, "the text should be refused")
  return err
end

-- Every image (not raw) of paths, decoded both ways and encoded again.
-- Files that are not images (the corpus' podman archives) are passed over.
local function round_trip_all(paths)
  local n, failures = 0, {}
  for _, path in ipairs(paths) do
    local opened, index = pcall(core.open, path)
    if opened and index and not index:info().raw then
      local bytes = index:bytes()
      for _, nice in ipairs({ false, true }) do
        local ok, back = pcall(function() return image_of(text_of(index, nice)) end)
        if not ok or back ~= bytes then
          failures[#failures + 1] = path .. (nice and " (nice)" or " (raw)")
            .. (ok and ": bytes differ" or ": " .. tostring(back))
        end
      end
      n = n + 1
    end
  end
  return n, failures
end

describe("text format round trip", function()
  it("gives back every fixture image byte for byte, raw and nice", function()
    local n, failures = round_trip_all(S.fixture_images())
    assert.are.same({}, failures)
    assert.is_true(n > 50, "too few images: " .. n)
  end)

  it("gives back every image of the whole corpus byte for byte", function()
    if not S.have_corpus() then
      pending("no corpus at " .. S.CORPUS .. " (CRIT_CORPUS)")
      return
    end
    local paths = S.lines_of("find -L " .. S.CORPUS .. " -name '*.img' -type f | LC_ALL=C sort")
    local n, failures = round_trip_all(paths)
    assert.are.same({}, failures)
    assert.is_true(n > 300, "too few images: " .. n)
  end)
end)

describe("text format layouts", function()
  local core_img = S.fixture("sleep/core%-%d+%.img")

  it("raw: the magic's value, #N, fields as protoc prints them", function()
    local t = text_of(core.open(core_img), false)
    assert.matches("^#0x55053847\n#0\nmtype: X86_64\nthread_info {\n  clear_tid_addr: %d+\n", t)
  end)

  it("nice: the magic's name, #N and the entry type, indented, hex fields in hex", function()
    local t = text_of(core.open(core_img), true)
    assert.matches("^#CORE\n#0 core_entry\n  mtype: X86_64\n  thread_info {\n"
      .. "    clear_tid_addr: 0x%x+\n    gpregs {\n      r15: 0x%x+\n", t)
  end)

  it("nice: a pagemap's head and entries have their own types", function()
    local t = text_of(core.open(S.fixture("sleep/pagemap%-%d+%.img")), true)
    assert.matches("^#PAGEMAP\n#0 pagemap_head\n  pages_id: %d+\n#1 pagemap_entry\n", t)
  end)

  it("writes an empty image as its header line", function()
    assert.are.equal("#FS\n", text_of(crit.new("FS"):encode(), true))
    assert.are.equal(crit.new("FS"):encode(), image_of("#FS\n"))
  end)
end)

describe("text format values", function()
  it("keeps 64-bit values exact", function()
    local pm = crit.new("PAGEMAP")
    pm:append({ pages_id = 1 })
    pm:append({ vaddr = -1, compat_nr_pages = 0, nr_pages = math.mininteger, flags = 2 })
    local fl = crit.new("FILE_LOCKS")
    fl:append({ flag = 1, type = 2, pid = -2147483648, fd = -1, start = math.mininteger,
                len = math.maxinteger })
    for _, img in ipairs({ pm, fl }) do
      local bytes = img:encode()
      for _, nice in ipairs({ false, true }) do
        assert.are.equal(bytes, image_of(text_of(bytes, nice)))
      end
    end
    local t = text_of(pm:encode(), false)
    assert.matches("vaddr: 18446744073709551615\n", t, 1, true)
    assert.matches("nr_pages: 9223372036854775808\n", t, 1, true)
    t = text_of(fl:encode(), false)
    assert.matches("pid: -2147483648\n", t, 1, true)
    assert.matches("start: -9223372036854775808\n", t, 1, true)
    assert.matches("len: 9223372036854775807\n", t, 1, true)
    assert.matches("vaddr: 0xffffffffffffffff\n", text_of(pm:encode(), true), 1, true)
  end)

  it("escapes all 256 byte values as protobuf does, and reads them back", function()
    local all = {}
    for b = 0, 255 do all[#all + 1] = string.char(b) end
    all = table.concat(all)
    local img = crit.new("PIPES_DATA")
    img:append({ pipe_id = 1, bytes = #all, extra = all })
    local bytes = img:encode()
    local t = text_of(bytes, false)
    assert.matches('#extra "\\000\\001', t, 1, true)
    assert.matches('\\t\\n', t, 1, true)
    assert.matches(' !\\"#$%&\\\'()*', t, 1, true)
    assert.matches('\\177\\200', t, 1, true)
    assert.are.equal(bytes, image_of(t))
    local rf = crit.new("REG_FILES")
    rf:append({ id = 1, flags = 0, pos = 0, name = all, fown = { uid = 0, euid = 0, signum = 0,
      pid_type = 0, pid = 0 } })
    bytes = rf:encode()
    assert.are.equal(bytes, image_of(text_of(bytes, false)))
    assert.are.equal(bytes, image_of(text_of(bytes, true)))
  end)

  it("leaves valid UTF-8 strings as they are in nice, escapes them in raw", function()
    local rf = crit.new("REG_FILES")
    rf:append({ id = 1, flags = 0, pos = 0, name = "/tmp/été\xff",
      fown = { uid = 0, euid = 0, signum = 0, pid_type = 0, pid = 0 } })
    local bytes = rf:encode()
    assert.matches('name: "/tmp/été\\377"', text_of(bytes, true), 1, true)
    assert.matches('name: "/tmp/\\303\\251t\\303\\251\\377"', text_of(bytes, false), 1, true)
  end)

  it("writes enums by name, and a number the schema does not know as a number", function()
    local img = crit.new("CORE")
    img:append({ mtype = 77 })
    local t = text_of(img:encode(), false)
    assert.are.equal("#0x55053847\n#0\nmtype: 77\n", t)
    assert.are.equal(img:encode(), image_of(t))
    assert.are.equal(img:encode(), image_of("#CORE\n#0\nmtype: 77"))
  end)

  it("writes fields the schema does not know by number, as protoc --decode does", function()
    -- sk_packet_entry: id_for = 1, length = 2, then unknown 9 (varint),
    -- 10 (fixed32), 11 (fixed64), 12 (bytes)
    local msg = S.key(1, 0) .. "\x01" .. S.key(2, 0) .. "\x00" .. S.key(9, 0) .. S.varint(300)
      .. S.key(10, 5) .. S.u32(0xabcd) .. S.key(11, 1) .. string.pack("<I8", 7)
      .. S.key(12, 2) .. "\x03a\0b"
    local bytes = S.image({ S.IMG_COMMON, S.MAGIC.SK_QUEUES }, { msg })
    local t = text_of(bytes, false)
    assert.are.equal("#0x56264026\n#0\nid_for: 1\nlength: 0\n9: 300\n10: 0x0000abcd\n"
      .. "11: 0x0000000000000007\n12: \"a\\000b\"\n", t)
    assert.are.equal(bytes, image_of(t))
    assert.are.equal(bytes, image_of(text_of(bytes, true)))
  end)

  it("keeps a value its type cannot hold, by number", function()
    -- pstree_entry.pid (uint32) = 2^32: not a uint32, kept as it lies
    local msg = S.key(1, 0) .. S.varint(1 << 32) .. S.key(2, 0) .. "\0" .. S.key(3, 0) .. "\0"
      .. S.key(4, 0) .. "\0"
    local bytes = S.image({ S.IMG_COMMON, S.MAGIC.PSTREE }, { msg })
    local t = text_of(bytes, true)
    assert.matches("\n  1: 4294967296\n", t, 1, true)
    assert.are.equal(bytes, image_of(t))
  end)

  it("writes a packed field as a list, unpacked values one per line", function()
    -- pstree_entry.threads (repeated uint32), packed then unpacked
    local ids = S.key(1, 0) .. "\x05" .. S.key(2, 0) .. "\0" .. S.key(3, 0) .. "\x05" .. S.key(4, 0) .. "\x05"
    local packed = ids .. S.key(5, 2) .. "\x02\x05\x06"
    local unpacked = ids .. S.key(5, 0) .. "\x05" .. S.key(5, 0) .. "\x06"
    local a = S.image({ S.IMG_COMMON, S.MAGIC.PSTREE }, { packed })
    local b = S.image({ S.IMG_COMMON, S.MAGIC.PSTREE }, { unpacked })
    assert.matches("threads: [5, 6]\n", text_of(a, false), 1, true)
    assert.matches("threads: 5\nthreads: 6\n", text_of(b, false), 1, true)
    assert.are.equal(a, image_of(text_of(a, false)))
    assert.are.equal(b, image_of(text_of(b, false)))
  end)

  it("keeps the header's version", function()
    local img = crit.load(S.read(S.fixture("sleep/fs%-%d+%.img")), "fs.img")
    img:set_version("1.0")
    local v10 = img:encode()
    assert.matches("^#FS v1.0\n", text_of(v10, true))
    assert.matches("^#0x51403912 v1.0\n", text_of(v10, false))
    assert.are.equal(v10, image_of(text_of(v10, true)))
    -- IMG_SERVICE before a type that is not a service image
    local odd = S.u32(0x55105940) .. v10
    assert.matches("^#FS v1.1 0x55105940\n", text_of(odd, true))
    assert.are.equal(odd, image_of(text_of(odd, true)))
  end)

  it("reads what the text format allows beyond what is written", function()
    local want = crit.new("PSTREE")
    want:append({ pid = 10, ppid = 1, pgid = 10, sid = 10, threads = { 10, 11 } })
    local text = [[
# a comment
#PSTREE
#0   # the first entry
pid: 0xa, ppid: 1; pgid: 012
sid :10 threads: 10 threads: 11
]]
    assert.are.equal(want:encode(), image_of(text))
    local ps = crit.new("PIPES_DATA")
    ps:append({ pipe_id = 1, bytes = 4, extra = "ab\x01\n" })
    assert.are.equal(ps:encode(), image_of("#PIPES_DATA\n#0\npipe_id: 1 bytes: 4\n"
      .. "#extra 'a' \"b\"\n#extra \"\\x01\\n\"\n"))
  end)
end)

describe("text format errors", function()
  it("name the line, column and field path", function()
    local t = text_of(core.open(S.fixture("sleep/core%-%d+%.img")), true)
    local bad = t:gsub("      r15: 0x%x+", "      r15: -1", 1)
    assert.matches("^text: line 7, column 12: #0%.thread_info%.gpregs%.r15: "
      .. "value out of range for a uint64$", read_error(bad))
    bad = t:gsub("    gpregs {", "    gpregz {", 1)
    assert.matches("line 6, column 5: #0.thread_info: unknown field 'gpregz'",
      read_error(bad), 1, true)
    bad = t:gsub("mtype: X86_64", "mtype: VAX", 1)
    assert.matches("line 3, column 10: #0.mtype: unknown value of enum", read_error(bad), 1, true)
  end)

  it("refuse a payload that disagrees with its size fields", function()
    assert.matches("#0: #extra: 2 bytes, where the entry's fields give 1",
      read_error('#PIPES_DATA\n#0\npipe_id: 1 bytes: 1\n#extra "ab"\n'), 1, true)
    assert.matches("#0: #extra: 2 bytes, fewer than the entry's fields give",
      read_error('#PIPES_DATA\n#0\npipe_id: 1 bytes: 3\n#extra "ab"\n'), 1, true)
  end)

  it("refuse an entry of the wrong type, a missing brace, a stray field", function()
    assert.matches("line 2, column 4: #0: this entry is a pagemap_head",
      read_error("#PAGEMAP\n#0 pagemap_entry\n"), 1, true)
    assert.matches("'}' expected before the end of the entry",
      read_error("#CORE\n#0\nthread_info {\n#1\n"), 1, true)
    assert.matches("a list for a field that is not repeated",
      read_error("#PSTREE\n#0\npid: [1]\n"), 1, true)
    assert.matches("#0: missing required field 'ppid'",
      read_error("#PSTREE\n#0\npid: 1\n"), 1, true)
    assert.matches("#0.thread_info: missing required field 'clear_tid_addr'",
      read_error("#CORE\n#0\nmtype: X86_64\nthread_info {\n}\n"), 1, true)
    assert.matches("line 1, column 2: unknown magic 'NOPE'", read_error("#NOPE\n"), 1, true)
    assert.matches("a raw image has no text form", read_error("#PAGES\n"), 1, true)
    assert.matches("unterminated string", read_error('#PIPES_DATA\n#0\npipe_id: 1 bytes: 2\n#extra "ab\n'), 1, true)
    assert.matches("these bytes are not a (complete) message of the field's type",
      read_error('#CORE\n#0\n2: "\\001"\n'), 1, true)
  end)

  it("refuse a raw image on writing", function()
    local index = core.load("\0\0\0\0", "pages-1.img")
    local ok, err = pcall(text_of, index, false)
    assert.is_false(ok)
    assert.matches("raw data", err)
  end)
end)

describe("crit.lua and text format", function()
  local tmp
  before_each(function() tmp = S.tmpdir() end)
  after_each(S.cleanup)

  local function sh(cmd)
    local _, how, code = os.execute("( " .. cmd .. " ) >" .. tmp .. "/out 2>" .. tmp .. "/err")
    assert.are.equal("exit", how)
    return code, S.read(tmp .. "/out"), S.read(tmp .. "/err")
  end

  it("decode --format txt and encode give back the image; encode tells text by content", function()
    local img = S.fixture("tree/fifo%-data%.img")
    local code, out = sh("./crit.lua decode --format txt -i " .. img)
    assert.are.equal(0, code)
    assert.matches("^#0x56453709\n#0\n", out:gsub("0x%x+", "0x56453709", 1))
    code = sh("./crit.lua decode --format txt -i " .. img .. " | ./crit.lua encode -o "
      .. tmp .. "/a.img")
    assert.are.equal(0, code)
    assert.are.equal(S.read(img), S.read(tmp .. "/a.img"))
    code, out = sh("./crit.lua decode --format txt --nice -i " .. img .. " > " .. tmp
      .. "/p.txt && ./crit.lua encode --format txt -i " .. tmp .. "/p.txt")
    assert.are.equal(0, code)
    assert.are.equal(S.read(img), out)
    assert.matches("^#FIFO_DATA\n#0 pipe_data_entry\n  pipe_id: ", S.read(tmp .. "/p.txt"))
    code, out = sh("./crit.lua decode --format nice -i " .. img)
    assert.are.equal(0, code)
    assert.are.equal(S.read(tmp .. "/p.txt"), out)
  end)

  it("keeps JSON the default, both ways", function()
    local img = S.fixture("sleep/fs%-%d+%.img")
    local code, out = sh("./crit.lua decode -i " .. img)
    assert.are.equal(0, code)
    assert.matches('^{"magic": "FS"', out)
    code, out = sh("./crit.lua decode -i " .. img .. " | ./crit.lua encode")
    assert.are.equal(0, code)
    assert.are.equal(S.read(img), out)
  end)

  it("gives exit status 2 for options that do not go together, 1 for a bad text", function()
    local img = S.fixture("sleep/fs%-%d+%.img")
    local code, _, err = sh("./crit.lua decode --nice -i " .. img)
    assert.are.equal(2, code)
    assert.matches("--nice needs --format txt", err, 1, true)
    code = sh("./crit.lua decode --format txt --pretty -i " .. img)
    assert.are.equal(2, code)
    code, _, err = sh("printf '#FS\\n#0\\ncwd_id: x\\n' | ./crit.lua encode")
    assert.are.equal(1, code)
    assert.are.equal("crit.lua: stdin: line 3, column 9: #0.cwd_id: a number expected\n", err)
  end)
end)
