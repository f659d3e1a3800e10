-- The entry codec: 64-bit values, type and range checks, unknown fields,
-- payloads, and the errors a corrupt image must give.
local crit = require "crit"
local S = require "spec.support"

local function roundtrip(magic, entry)
  local img = crit.new(magic)
  img:append(entry)
  return crit.load(img:encode())[1]
end

local function encode_error(magic, entry)
  local img = crit.new(magic)
  img:append(entry)
  local ok, err = pcall(img.encode, img)
  assert.is_false(ok, "encoding should fail")
  return err
end

describe("64-bit values", function()
  local edges = { 0, 1, (1 << 53) + 1, math.maxinteger, math.mininteger, -1 }

  it("survive uint64 (as integers with the same bits)", function()
    for _, v in ipairs(edges) do
      local pm = crit.new("PAGEMAP")
      pm:append({ pages_id = 1 })
      pm:append({ vaddr = v, compat_nr_pages = 0, nr_pages = v })
      local back = crit.load(pm:encode())
      assert.are.equal(v, back[2].vaddr)
      assert.are.equal(v, back[2].nr_pages)
    end
  end)

  it("survive int64 and sint64", function()
    for _, v in ipairs(edges) do
      local e = roundtrip("FILE_LOCKS", { flag = 1, type = 2, pid = 3, fd = 4, start = v, len = v })
      assert.are.equal(v, e.start)
      assert.are.equal(v, e.len)
    end
    local mm = roundtrip("VMAS", { start = -1, ["end"] = 0, pgoff = 0, shmid = 0, prot = 0,
                                   flags = 0, status = 0, fd = math.mininteger })
    assert.are.equal(math.mininteger, mm.fd)
    assert.are.equal(-1, mm.start)
  end)

  it("keep negative int32 values", function()
    local e = roundtrip("FILE_LOCKS", { flag = 0, type = 0, pid = -2147483648, fd = -1, start = 0, len = 0 })
    assert.are.equal(-2147483648, e.pid)
    assert.are.equal(-1, e.fd)
  end)

  it("are written as protobuf-c writes them", function()
    local img = crit.new("PSTREE")
    img:append({ pid = 4294967295, ppid = 0, pgid = 0, sid = 0 })
    local msg = img:raw(1)
    assert.are.equal(S.key(1, 0) .. "\xff\xff\xff\xff\x0f" .. "\x10\x00\x18\x00\x20\x00", msg)
    local fl = crit.new("FILE_LOCKS")
    fl:append({ flag = 0, type = 0, pid = -1, fd = 0, start = -1, len = 0 })
    -- negative int32 and int64: ten-byte varints
    assert.matches("\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", (fl:raw(1)), 1, true)
  end)

  it("print and compare unsigned with crit.u64", function()
    assert.are.equal("18446744073709551615", crit.u64.tostring(-1))
    assert.are.equal("9223372036854775808", crit.u64.tostring(math.mininteger))
    assert.are.equal("9007199254740993", crit.u64.tostring((1 << 53) + 1))
    assert.are.equal(-1, crit.u64.parse("18446744073709551615"))
    assert.are.equal(-1, crit.u64.parse("0xffffffffffffffff"))
    assert.is_nil(crit.u64.parse("18446744073709551616"))
    assert.is_true(crit.u64.lt(1, -1))
  end)
end)

describe("encoding checks every value against its field", function()
  local base = { pid = 1, ppid = 0, pgid = 1, sid = 1 }
  local function with(k, v)
    local t = {}
    for a, b in pairs(base) do t[a] = b end
    t[k] = v
    return t
  end

  it("rejects out-of-range integers, naming the field", function()
    assert.matches("pid: %-1 is out of range for uint32", encode_error("PSTREE", with("pid", -1)))
    assert.matches("pid: 4294967296 is out of range for uint32", encode_error("PSTREE", with("pid", 1 << 32)))
    assert.matches("pid: 2147483648 is out of range for int32",
      encode_error("FILE_LOCKS", { flag = 0, type = 0, pid = 1 << 31, fd = 0, start = 0, len = 0 }))
  end)

  it("rejects wrong types and unknown keys", function()
    assert.matches("pid: uint32 field needs an integer, got string", encode_error("PSTREE", with("pid", "1")))
    assert.matches("pid: uint32 field needs an integer, got 1.5", encode_error("PSTREE", with("pid", 1.5)))
    assert.matches("unknown field 'pidd' in pstree_entry", encode_error("PSTREE", with("pidd", 1)))
    local keyed = with("pid", 1)
    keyed[7] = "x"
    assert.matches("unexpected number key in a pstree_entry table", encode_error("PSTREE", keyed))
    keyed = with("pid", 1)
    keyed[true] = "x"
    assert.matches("unexpected boolean key in a pstree_entry table", encode_error("PSTREE", keyed))
    assert.matches("threads%[2%]: uint32 field needs an integer", encode_error("PSTREE", with("threads", { 1, "x" })))
    assert.matches("threads: repeated field needs an array", encode_error("PSTREE", with("threads", 3)))
  end)

  it("accepts integral floats", function()
    local img = crit.new("PSTREE")
    img:append(with("pid", 5.0))
    assert.are.equal(5, crit.load(img:encode())[1].pid)
  end)

  it("rejects missing required fields and unknown enum names", function()
    assert.matches("sid: missing required field", encode_error("PSTREE", { pid = 1, ppid = 0, pgid = 1 }))
    local core = assert(crit.open(S.fixture("/sleep/core%-%d+%.img$")))[1]
    core.mtype = "VAX"
    local img = crit.new("CORE")
    img:append(core)
    local ok, err = pcall(img.encode, img)
    assert.is_false(ok)
    assert.matches("entry 1 at offset 8: mtype: unknown core_entry.march value 'VAX'", err)
  end)

  it("names the path of a nested field", function()
    local core = assert(crit.open(S.fixture("/sleep/core%-%d+%.img$")))[1]
    core.thread_info.gpregs.ip = "fast"
    local img = crit.new("CORE")
    img:append(core)
    local ok, err = pcall(img.encode, img)
    assert.is_false(ok)
    assert.matches("thread_info%.gpregs%.ip: uint64 field needs an integer, got string", err)
  end)

  it("stops on a table that contains itself", function()
    local t = { cwd_id = 1, root_id = 1 }
    local img = crit.new("CORE")
    local core = assert(crit.open(S.fixture("/sleep/core%-%d+%.img$")))[1]
    core.tc.sas = core.tc   -- wrong type deeper down is fine; a cycle must not hang
    img:append(core)
    assert.has_error(function() img:encode() end)
    assert.is_table(t)
  end)
end)

describe("unknown fields from a newer CRIU", function()
  -- sk_packet_entry: id_for = 1, length = 2, (unknown 3: "addr"), scm = 4
  local msg = S.key(1, 0) .. "\x07" .. S.key(2, 0) .. "\x00"
      .. S.key(3, 2) .. "\x02hi"
      .. S.key(4, 2) .. "\x02" .. S.key(1, 0) .. "\x01"
  local bytes = S.image({ S.IMG_COMMON, S.MAGIC.SK_QUEUES }, { msg })

  it("are kept as wire bytes under __unknown", function()
    local e = crit.load(bytes)[1]
    assert.are.equal(S.key(3, 2) .. "\x02hi", e.__unknown)
    assert.are.equal(7, e.id_for)
  end)

  it("survive an edit of other fields, in field-number order", function()
    local img = crit.load(bytes)
    img[1].id_for = 9
    local out = img:encode()
    assert.are.equal(bytes:gsub("\x08\x07", "\x08\x09", 1), out)
  end)
end)

describe("payloads", function()
  it("of pipe data are the bytes after the entry", function()
    local msg = S.key(1, 0) .. "\x05" .. S.key(2, 0) .. "\x04"
    local bytes = S.image({ S.IMG_COMMON, S.MAGIC.PIPES_DATA }, { { msg, "\0\1\2\255" } })
    local img = crit.load(bytes)
    assert.are.equal("\0\1\2\255", img[1].extra)
    assert.are.equal(bytes, img:encode())
    img[1].extra = "abc"
    assert.matches("extra: payload has 3 bytes but bytes says 4", select(2, pcall(img.encode, img)))
    img[1].bytes = 3
    assert.are.equal("abc", crit.load(img:encode())[1].extra)
  end)

  it("of all 256 byte values survive", function()
    local all = {}
    for b = 0, 255 do all[#all + 1] = string.char(b) end
    all = table.concat(all)
    local img = crit.new("PIPES_DATA")
    img:append({ pipe_id = 1, bytes = 256, extra = all })
    assert.are.equal(all, crit.load(img:encode())[1].extra)
  end)

  it("of semaphores are u16 arrays padded to 8 bytes", function()
    local img = crit.new("IPCNS_SEM")
    local desc = { key = 1, uid = 0, gid = 0, cuid = 0, cgid = 0, mode = 0, id = 1 }
    img:append({ desc = desc, nsems = 3, extra = { 1, 65535, 0 } })
    local bytes = img:encode()
    assert.are.equal("\1\0\255\255\0\0\0\0", bytes:sub(-8))
    assert.are.same({ 1, 65535, 0 }, crit.load(bytes)[1].extra)
    img[1].extra = { 1, 2 }
    assert.has_error(function() img:encode() end)
  end)

  it("of message queues are (ipc_msg, data) pairs", function()
    local img = crit.new("IPCNS_MSG")
    local desc = { key = 1, uid = 0, gid = 0, cuid = 0, cgid = 0, mode = 0, id = 1 }
    img:append({ desc = desc, qbytes = 16, qnum = 2,
                 extra = { { mtype = 1, msize = 3 }, "abc", { mtype = 2, msize = 0 }, "" } })
    local back = crit.load(img:encode())[1]
    assert.are.same({ { mtype = 1, msize = 3 }, "abc", { mtype = 2, msize = 0 }, "" }, back.extra)
  end)

  it("of an entry without one are refused", function()
    local img = crit.new("PSTREE")
    img:append({ pid = 1, ppid = 0, pgid = 1, sid = 1, extra = "x" })
    assert.has_error(function() img:encode() end)
  end)
end)

describe("a corrupt image", function()
  -- Entries are indexed lazily: framing errors show when they are counted.
  local function load_error(bytes, name)
    local ok, err = pcall(function() return #crit.load(bytes, name or "bad.img") end)
    assert.is_false(ok, "loading should fail")
    return err
  end
  local function decode_error(bytes)
    local img = crit.load(bytes, "bad.img")
    local ok, err = pcall(function() return img[1] end)
    assert.is_false(ok, "decoding should fail")
    return err
  end
  local head = { S.IMG_COMMON, S.MAGIC.PSTREE }
  local pstree = S.key(1, 0) .. "\x01" .. S.key(2, 0) .. "\x00" .. S.key(3, 0) .. "\x01" .. S.key(4, 0) .. "\x01"

  it("is refused when empty or shorter than a magic", function()
    assert.matches("^bad%.img: offset 0: empty file", load_error(""))
    for n = 1, 3 do assert.matches("truncated magic", load_error(("\x19"):rep(n))) end
    assert.matches("truncated magic", load_error(S.u32(S.IMG_COMMON)))
  end)

  it("with only a magic has no entries", function()
    assert.are.equal(0, #crit.load(S.image(head, {})))
  end)

  it("names an unknown magic", function()
    assert.matches("offset 0: unknown magic 0x12345678", load_error(S.u32(0x12345678) .. "xxxx"))
    assert.matches("offset 4: unknown magic 0x00000001", load_error(S.u32(S.IMG_COMMON) .. S.u32(1)))
  end)

  it("names a truncated size or a size past the end", function()
    assert.matches("entry 2 at offset 14: truncated entry size %(2 bytes left%)",
      load_error(S.image(head, { "\x08\x01" }) .. "\1\0"))
    for _, size in ipairs({ 100, 0x7fffffff, 0xffffffff }) do
      assert.matches("entry 1 at offset 8: entry size " .. size .. " past the end of the file",
        load_error(S.image(head) .. S.u32(size) .. "abc"))
    end
  end)

  it("names an invalid varint, a wrong wire type and the field", function()
    assert.matches("bad%.img: entry 1 at offset %d+: .*varint",
      decode_error(S.image(head, { S.key(1, 0) .. ("\xff"):rep(11) })))
    assert.matches("entry 1 at offset 12: pid: wrong wire type for a uint32 field",
      decode_error(S.image(head, { S.key(1, 2) .. "\x01x" })))
    assert.matches("pid: value out of range for uint32",
      decode_error(S.image(head, { S.key(1, 0) .. "\x80\x80\x80\x80\x10" })))
    assert.matches("length past the end",
      decode_error(S.image({ S.IMG_COMMON, S.MAGIC.CORE }, { S.key(2, 2) .. "\x7f" })))
  end)

  it("names a payload past the end of the file", function()
    local msg = S.key(1, 0) .. "\x05" .. S.key(2, 0) .. "\xe8\x07"   -- bytes = 1000
    assert.matches("entry 1 at offset 8: payload of 1000 bytes past the end of the file",
      load_error(S.image({ S.IMG_COMMON, S.MAGIC.PIPES_DATA }, { { msg, "short" } })))
  end)

  it("with a huge nsems or qnum fails fast", function()
    local desc = S.key(1, 2) .. "\x00"
    local sem = desc .. S.key(2, 0) .. "\xff\xff\xff\xff\xff\xff\xff\xff\x7f"
    assert.matches("past the end", load_error(S.image({ S.IMG_COMMON, S.MAGIC.IPCNS_SEM }, { sem })))
    local msg = desc .. S.key(2, 0) .. "\x00" .. S.key(3, 0) .. "\xff\xff\xff\xff\x0f"
    assert.matches("message 1 of 4294967295 of the queue: truncated size",
      load_error(S.image({ S.IMG_COMMON, S.MAGIC.IPCNS_MSG }, { msg })))
  end)

  it("still decodes its good entries", function()
    local img = crit.load(S.image(head, { pstree, S.key(1, 2) .. "\x01x" }), "bad.img")
    assert.are.equal(1, img[1].pid)
    assert.has_error(function() return img[2] end)
  end)
end)
