-- core.json_read (crit encode): crit's JSON to an image. 64-bit values,
-- crit's string forms, payloads, streams, and the errors, with their line,
-- column and field path, that hostile input must give.
local core = require "crit.core"
local crit = require "crit"
local S = require "spec.support"

-- The image that the JSON text `doc` encodes to, its magic and entry count.
local function encode(doc)
  local out = core.output()
  local magic, n = core.json_read(doc, out, "t.json")
  return out:finish(), magic, n
end

-- The message that encoding `doc` raises, without the "t.json: " prefix.
local function encode_error(doc)
  local out = core.output()
  local ok, err = pcall(core.json_read, doc, out, "t.json")
  out:abort()
  assert.is_false(ok, "encoding should fail")
  return (tostring(err):gsub("^t%.json: ", ""))
end

-- A document of that magic with these entries (JSON texts).
local function doc(magic, ...)
  return string.format('{"magic": "%s", "entries": [%s]}', magic, table.concat({ ... }, ", "))
end

-- Entry i (default 1) of the image that doc encodes to, as a Lua table.
local function decoded(d, i)
  return crit.load(encode(d))[i or 1]
end

-- The Lua encoder's bytes for these entry tables: the oracle for payloads.
local function lua_image(magic, ...)
  local img = crit.new(magic)
  for _, e in ipairs({ ... }) do img:append(e) end
  return img:encode()
end

-- The column of the first `pattern` (plain) in a one-line doc.
local function col(d, pattern)
  return assert(d:find(pattern, 1, true), pattern)
end

local function lock(start, len, pid)
  return string.format('{"flag": 0, "type": 0, "pid": %s, "fd": 0, "start": %s, "len": %s}',
    pid or "0", start or "0", len or "0")
end

local FOWN = '{"uid": 0, "euid": 0, "signum": 0, "pid_type": 0, "pid": 0}'
local OPTS = '{"so_sndbuf": 0, "so_rcvbuf": 0, "so_snd_tmo_sec": 0, "so_snd_tmo_usec": 0, '
  .. '"so_rcv_tmo_sec": 0, "so_rcv_tmo_usec": 0}'
local DESC = '{"key": 1, "uid": 0, "gid": 0, "cuid": 0, "cgid": 0, "mode": 420, "id": 7}'
local DESC_T = { key = 1, uid = 0, gid = 0, cuid = 0, cgid = 0, mode = 420, id = 7 }

local function inet(addr)
  return '{"id": 1, "ino": 2, "family": "INET", "type": "STREAM", "proto": "TCP", '
    .. '"state": "LISTEN", "src_port": 80, "dst_port": 0, "flags": "0x800", "backlog": 5, '
    .. '"src_addr": ' .. addr .. ', "fown": ' .. FOWN .. ', "opts": ' .. OPTS .. '}'
end

local function unix_sk(name)
  return '{"id": 1, "ino": 2, "type": "STREAM", "state": "LISTEN", "flags": 0, "uflags": 0, '
    .. '"backlog": 0, "peer": 0, "fown": ' .. FOWN .. ', "opts": ' .. OPTS .. ', "name": ' .. name .. '}'
end

local function task(state)
  return '{"mtype": "X86_64", "tc": {"task_state": ' .. state .. ', "exit_code": 0, '
    .. '"personality": 0, "flags": 0, "blk_sigset": "0x0", "comm": "x"}}'
end

-- An address word as crit stores it: the bytes in network order, read
-- in the host's order (socket.htonl).
local function net_word(a, b, c, d)
  return (string.unpack("=I4", string.char(a, b, c, d)))
end

describe("64-bit values through JSON", function()
  it("survive uint64 exactly, as numbers and as 0x strings", function()
    local cases = {
      { "0", 0 }, { "9007199254740993", (1 << 53) + 1 },
      { "9223372036854775807", math.maxinteger }, { "9223372036854775808", math.mininteger },
      { "18446744073709551615", -1 }, { '"0xffffffffffffffff"', -1 }, { '"0x8000000000000000"', math.mininteger },
    }
    for _, c in ipairs(cases) do
      local e = decoded(doc("PAGEMAP", '{"pages_id": 1}',
        '{"vaddr": ' .. c[1] .. ', "compat_nr_pages": 0, "nr_pages": ' .. c[1] .. '}'), 2)
      assert.are.equal(c[2], e.vaddr)
      assert.are.equal(c[2], e.nr_pages)
    end
  end)

  it("survive int64 and sint64 at both ends", function()
    local e = decoded(doc("FILE_LOCKS", lock("-9223372036854775808", "9223372036854775807")))
    assert.are.equal(math.mininteger, e.start)
    assert.are.equal(math.maxinteger, e.len)
    local vma = decoded(doc("VMAS", '{"start": 0, "end": 0, "pgoff": 0, "shmid": 0, "prot": 0, '
      .. '"flags": 0, "status": 0, "fd": -9223372036854775808}'))
    assert.are.equal(math.mininteger, vma.fd)
  end)

  it("write negative int32 as ten-byte varints and sint32 zigzagged", function()
    local img = encode(doc("FILE_LOCKS", lock(0, 0, "-1")))
    assert.matches("\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", img, 1, true)
    assert.are.equal(-2147483648, decoded(doc("FILE_LOCKS", lock(0, 0, "-2147483648"))).pid)
    local reg = decoded(doc("REG_FILES", '{"id": 1, "flags": 0, "pos": 0, "fown": ' .. FOWN
      .. ', "name": "/x", "mnt_id": -2147483648}'))
    assert.are.equal(-2147483648, reg.mnt_id)
  end)

  it("give the bytes the Lua encoder (and protobuf-c) gives", function()
    local d = doc("FILE_LOCKS", lock("-9223372036854775808", "18"), lock(1, 2, "-7"))
    assert.are.equal(lua_image("FILE_LOCKS",
      { flag = 0, type = 0, pid = 0, fd = 0, start = math.mininteger, len = 18 },
      { flag = 0, type = 0, pid = -7, fd = 0, start = 1, len = 2 }), (encode(d)))
  end)

  it("refuse values out of range for the field's type", function()
    local cases = {
      { "PAGEMAP", '{"pages_id": 1}', '{"vaddr": 18446744073709551616, "compat_nr_pages": 0}',
        '"18446744073709551616" is out of range for uint64', "entries[2].vaddr", "18446744073709551616" },
      { "FILE_LOCKS", lock(0, "9223372036854775808"), nil,
        '"9223372036854775808" is out of range for int64', "entries[1].len", "9223372036854775808" },
      { "FILE_LOCKS", lock(0, "-9223372036854775809"), nil,
        '"-9223372036854775809" is out of range for int64', "entries[1].len", "-9223372036854775809" },
      { "FILE_LOCKS", lock(0, 0, "2147483648"), nil,
        '"2147483648" is out of range for int32', "entries[1].pid", "2147483648" },
      { "FILE_LOCKS", lock(0, 0, '"-0x80000001"'), nil,
        '"-0x80000001" is out of range for int32', "entries[1].pid", '"-0x80000001"' },
      { "PSTREE", '{"pid": -1, "ppid": 0, "pgid": 0, "sid": 0}', nil,
        '"-1" is out of range for uint32', "entries[1].pid", "-1" },
    }
    for _, c in ipairs(cases) do
      local d = c[3] and doc(c[1], c[2], c[3]) or doc(c[1], c[2])
      assert.are.equal(string.format("line 1, column %d: %s: %s", col(d, c[6]), c[5], c[4]),
        encode_error(d))
    end
  end)

  it("refuse numbers that are not integers", function()
    local d = doc("FILE_LOCKS", lock("1.0"))
    assert.are.equal(string.format('line 1, column %d: entries[1].start: int64 field needs an '
      .. 'integer, got "1.0"', col(d, "1.0")), encode_error(d))
    assert.matches("needs an integer", encode_error(doc("FILE_LOCKS", lock("1e3"))))
  end)
end)

describe("crit's string forms", function()
  it("read integers as Python's int(s, 0)", function()
    local good = {
      ['"0x_1f"'] = 31, ['" 0b101 "'] = 5, ['"-0o17"'] = -15, ['"1_000"'] = 1000, ['"00"'] = 0,
      ['"+7"'] = 7, ['"0X1F"'] = 31, ['"\\t-0\\n"'] = 0,
    }
    for s, v in pairs(good) do
      assert.are.equal(v, decoded(doc("FILE_LOCKS", lock(s))).start, s)
    end
    for _, s in ipairs({ '"010"', '"0x"', '"1__0"', '"_1"', '"1_"', '"- 1"', '""', '"0x_"', '"1 2"', '"12a"' }) do
      local d = doc("FILE_LOCKS", lock(s))
      assert.are.equal(string.format("line 1, column %d: entries[1].start: invalid integer %s "
        .. "(strings are read as Python's int(s, 0))", col(d, s), s), encode_error(d))
    end
  end)

  it("read flags: names of the field's map, numbers, summed", function()
    local e = decoded(doc("VMAS", '{"start": "0x1000", "end": "0x2000", "pgoff": 0, "shmid": 0, '
      .. '"prot": "PROT_READ | PROT_WRITE", "flags": "MAP_PRIVATE | MAP_ANON | 0x40", '
      .. '"status": "VMA_AREA_REGULAR|VMA_ANON_PRIVATE", "fd": -1}'))
    assert.are.equal(3, e.prot)
    assert.are.equal(0x62, e.flags)
    assert.are.equal(0x201, e.status)
    assert.are.equal(0x1000, e.start)
    local empty = decoded(doc("VMAS", '{"start": 0, "end": 0, "pgoff": 0, "shmid": 0, '
      .. '"prot": "", "flags": " 0x2 ", "status": "VMA_AREA_NONE", "fd": 0}'))
    assert.are.equal(0, empty.prot)
    assert.are.equal(2, empty.flags)
    local d = doc("VMAS", '{"start": 0, "end": 0, "pgoff": 0, "shmid": 0, "prot": "PROT_READ | PROT_REED", '
      .. '"flags": 0, "status": 0, "fd": 0}')
    assert.are.equal(string.format('line 1, column %d: entries[1].prot: unknown mmap.prot flag '
      .. '"PROT_REED"', col(d, '"PROT_READ |')), encode_error(d))
  end)

  it("read devices as major:minor, in the kernel's or glibc's layout", function()
    local g = decoded(doc("GHOST_FILE", '{"uid": 0, "gid": 0, "mode": 8592, "dev": "8:1", '
      .. '"rdev": "136:3", "chunks": true}'))
    assert.are.equal(8 << 20 | 1, g.dev)
    assert.are.equal(0x8803, g.rdev) -- makedev(136, 3)
    local d = doc("GHOST_FILE", '{"uid": 0, "gid": 0, "mode": 0, "rdev": "4096:0", "chunks": true}')
    assert.are.equal(string.format('line 1, column %d: entries[1].rdev: "4096:0" is out of range '
      .. 'for uint32', col(d, '"4096:0"')), encode_error(d))
    d = doc("GHOST_FILE", '{"uid": 0, "gid": 0, "mode": 0, "dev": "8", "chunks": true}')
    assert.are.equal(string.format('line 1, column %d: entries[1].dev: expected "major:minor", '
      .. 'got "8"', col(d, '"8"')), encode_error(d))
  end)

  it("read dict names: ours and crit's task states, socket constants", function()
    local states = { ALIVE = 1, DEAD = 2, STOPPED = 3, ZOMBIE = 6, Alive = 1, Zombie = 3, Stopped = 6 }
    for name, v in pairs(states) do
      assert.are.equal(v, decoded(doc("CORE", task('"' .. name .. '"'))).tc.task_state, name)
    end
    assert.are.equal(6, decoded(doc("CORE", task('"0x6"'))).tc.task_state)
    local sk = decoded(doc("INETSK", inet('["10.0.0.1"]')))
    assert.are.equal(2, sk.family)
    assert.are.equal(1, sk.type)
    assert.are.equal(6, sk.proto)
    assert.are.equal(10, sk.state)
  end)

  it("read IPv4 and IPv6 addresses into words in network byte order", function()
    assert.are.same({ net_word(10, 1, 2, 3) }, decoded(doc("INETSK", inet('["10.1.2.3"]'))).src_addr)
    local cases = {
      ["::ffff:10.0.0.1"] = { 0, 0, net_word(0, 0, 0xff, 0xff), net_word(10, 0, 0, 1) },
      ["::"] = { 0, 0, 0, 0 },
      ["fe80::1:2"] = { net_word(0xfe, 0x80, 0, 0), 0, 0, net_word(0, 1, 0, 2) },
      ["1:2:3:4:5:6:7:8"] = { net_word(0, 1, 0, 2), net_word(0, 3, 0, 4), net_word(0, 5, 0, 6),
        net_word(0, 7, 0, 8) },
      ["1::"] = { net_word(0, 1, 0, 0), 0, 0, 0 },
    }
    for addr, words in pairs(cases) do
      assert.are.same(words, decoded(doc("INETSK", inet('["' .. addr .. '"]'))).src_addr, addr)
    end
    -- plain numbers are words, as crit decode writes them
    assert.are.same({ 5, 6 }, decoded(doc("INETSK", inet("[5, 6]"))).src_addr)
    for _, bad in ipairs({ "10.0.0.01", "1::2::3", "1.2.3", ":::", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0",
                           "1:2:3:4:5:6:7", "256.0.0.1", "::1.2.3.4.5", "12345::" }) do
      local d = doc("INETSK", inet('["' .. bad .. '"]'))
      assert.are.equal(string.format('line 1, column %d: entries[1].src_addr[1]: "%s" is not an '
        .. 'IPv4 or IPv6 address', col(d, '"' .. bad), bad), encode_error(d))
    end
    local d = doc("INETSK", inet('["10.0.0.1", "10.0.0.2"]'))
    assert.are.equal(string.format('line 1, column %d: entries[1].src_addr: an address is a list of '
      .. 'one string, like ["10.0.0.1"]', col(d, '"10.0.0.2"')), encode_error(d))
  end)

  it("read enums by name or number", function()
    assert.are.equal("X86_64", decoded(doc("CORE", '{"mtype": "X86_64"}')).mtype)
    assert.are.equal("AARCH64", decoded(doc("CORE", '{"mtype": 3}')).mtype)
    local d = doc("CORE", '{"mtype": "x86_64"}')
    assert.are.equal(string.format('line 1, column %d: entries[1].mtype: unknown core_entry.march '
      .. 'value "x86_64"', col(d, '"x86_64"')), encode_error(d))
  end)

  it("read strings with surrogate escapes as raw bytes", function()
    local e = decoded(doc("UTSNS", '{"nodename": "a\\udcffb\\ud83d\\ude00\\u00e9", "domainname": "\\u0000\\/"}'))
    assert.are.equal("a\xffb\xf0\x9f\x98\x80\xc3\xa9", e.nodename)
    assert.are.equal("\0/", e.domainname)
    for _, esc in ipairs({ "\\ud800", "\\udc10", "\\udfff" }) do
      local d = doc("UTSNS", '{"nodename": "ab' .. esc .. 'c", "domainname": ""}')
      assert.are.equal(string.format("line 1, column %d: entries[1].nodename: lone surrogate %s: "
        .. "only \\udc80 to \\udcff may stand alone (for raw bytes)", col(d, esc), esc), encode_error(d))
    end
  end)

  it("read base64 as Python's base64.decodebytes", function()
    local function pipe(n, b64)
      return doc("PIPES_DATA", string.format('{"pipe_id": 1, "bytes": %d, "extra": "%s"}', n, b64))
    end
    local want = lua_image("PIPES_DATA", { pipe_id = 1, bytes = 6, extra = "abcdef" })
    assert.are.equal(want, (encode(pipe(6, "YWJj\\nZGVm\\n"))))
    assert.are.equal(want, (encode(pipe(6, " Y W J j !ZGVm"))))
    assert.are.equal(lua_image("PIPES_DATA", { pipe_id = 1, bytes = 1, extra = "a" }),
      (encode(pipe(1, "=YQ==\\n"))))
    local errors = {
      { "YWJ", "invalid base64: incorrect padding" },
      { "YWJjZ", "invalid base64: the number of data characters cannot be 1 more than a multiple of 4" },
      { "YQ==YWJj", "invalid base64: data after the closing '='" },
    }
    for _, c in ipairs(errors) do
      local d = pipe(3, c[1])
      assert.are.equal(string.format("line 1, column %d: entries[1].extra: %s",
        col(d, '"' .. c[1]), c[2]), encode_error(d))
    end
  end)

  it("read unix socket names as quoted-printable", function()
    assert.are.equal("\0abc=", decoded(doc("UNIXSK", unix_sk('"=00abc=\\n=3D"'))).name)
    assert.are.equal("a=zz=", decoded(doc("UNIXSK", unix_sk('"a=zz=="'))).name)
    local d = doc("UNIXSK", unix_sk('"caf\\u00e9"'))
    assert.are.equal(string.format("line 1, column %d: entries[1].name: quoted-printable text must "
      .. "be ASCII, got byte 0xc3", col(d, '"caf')), encode_error(d))
  end)
end)

describe("messages", function()
  it("are written in field-number order, whatever the order of the keys", function()
    local a = encode(doc("FILE_LOCKS", '{"len": 6, "start": 5, "fd": 4, "pid": 3, "type": 2, "flag": 1}'))
    assert.are.equal(lua_image("FILE_LOCKS", { flag = 1, type = 2, pid = 3, fd = 4, start = 5, len = 6 }), a)
  end)

  it("keep an empty sub-message and drop an empty repeated field", function()
    local img = encode(doc("CORE", '{"mtype": "X86_64", "tc": {"task_state": 1, "exit_code": 0, '
      .. '"personality": 0, "flags": 0, "blk_sigset": 0, "comm": "", "rlimits": {}, "sigactions": []}}'))
    local e = crit.load(img)[1]
    assert.are.same({}, e.tc.rlimits)
    assert.is_nil(e.tc.sigactions)
    assert.matches("\x42\x00", img, 1, true) -- field 8, length 0
  end)

  it("refuse unknown and duplicate keys, missing fields and wrong types", function()
    local d = doc("FILE_LOCKS", '{"flag": 1, "type": 2, "pid": 3, "fd": 4, "start": 5, "len": 6, "bogus": 7}')
    assert.are.equal(string.format("line 1, column %d: entries[1].bogus: unknown key: "
      .. "file_lock_entry has no such field", col(d, '"bogus"')), encode_error(d))
    d = doc("FILE_LOCKS", '{"flag": 1, "type": 2, "pid": 3, "fd": 4, "start": 5, "len": 6, "len": 7}')
    assert.are.equal(string.format("line 1, column %d: entries[1].len: duplicate key (first on "
      .. "line 1)", col(d, '"len": 7')), encode_error(d))
    d = doc("FILE_LOCKS", '{"flag": 1, "type": 2, "pid": 3, "fd": 4, "start": 5}')
    assert.are.equal(string.format("line 1, column %d: entries[1].len: missing required field",
      col(d, '{"flag"')), encode_error(d))
    d = doc("FILE_LOCKS", lock("true"))
    assert.are.equal(string.format("line 1, column %d: entries[1].start: expected an integer, got true",
      col(d, "true")), encode_error(d))
    d = doc("UTSNS", '{"nodename": 5, "domainname": ""}')
    assert.are.equal(string.format("line 1, column %d: entries[1].nodename: expected a string, got "
      .. "a number", col(d, "5")), encode_error(d))
    d = doc("CORE", '{"mtype": 1, "tc": [1]}')
    assert.are.equal(string.format("line 1, column %d: entries[1].tc: expected an object, got an array",
      col(d, "[1]")), encode_error(d))
    d = doc("INETSK", inet('"10.0.0.1"'))
    assert.are.equal(string.format('line 1, column %d: entries[1].src_addr: expected an array, got '
      .. 'a string', col(d, '"10.0.0.1"')), encode_error(d))
    d = doc("PSTREE", '{"pid": 1, "ppid": 0, "pgid": 0, "sid": 0, "threads": [1, null]}')
    assert.are.equal(string.format("line 1, column %d: entries[1].threads[2]: expected an integer, "
      .. "got null", col(d, "null")), encode_error(d))
    d = doc("PSTREE", "7")
    assert.are.equal(string.format("line 1, column %d: entries[1]: expected an object, got a number",
      col(d, "7")), encode_error(d))
  end)

  it("refuse nesting deeper than 64", function()
    local d = doc("PSTREE", string.rep("[", 70))
    local at = col(d, "[[") + 63 -- "entries" is the 2nd array or object: this is the 65th
    assert.matches(string.format("^line 1, column %d: entries%%[1%%]%%[1%%].*: nested deeper "
      .. "than 64 arrays and objects$", at), encode_error(d))
    d = doc("PSTREE", string.rep("[", 62) .. string.rep("]", 62)) -- 64 deep: parsed
    assert.are.equal(string.format("line 1, column %d: entries[1]: expected an object, got an array",
      col(d, "[[") + 1), encode_error(d))
  end)
end)

describe("payloads", function()
  it("are checked against the sizes in their entry", function()
    local d = doc("PIPES_DATA", '{"pipe_id": 1, "bytes": 4, "extra": "YWJj"}')
    assert.are.equal(string.format("line 1, column %d: entries[1].extra: 3 bytes of data, but bytes "
      .. "says 4", col(d, '"YWJj"')), encode_error(d))
    d = doc("PIPES_DATA", '{"pipe_id": 1, "bytes": 3}')
    assert.are.equal(string.format("line 1, column %d: entries[1].extra: missing: bytes says 3 bytes",
      col(d, '{"pipe_id"')), encode_error(d))
    d = doc("PSTREE", '{"pid": 1, "ppid": 0, "pgid": 0, "sid": 0, "extra": ""}')
    assert.are.equal(string.format("line 1, column %d: entries[1].extra: this entry has no payload",
      col(d, '"extra"')), encode_error(d))
    d = doc("SK_QUEUES", '{"id_for": 1, "length": 2, "extra": "YWJj"}')
    assert.matches("entries%[1%]%.extra: 3 bytes of data, but length says 2$", encode_error(d))
  end)

  it("are written as the Lua encoder writes them", function()
    local cases = {
      { "PIPES_DATA", '{"pipe_id": 1, "bytes": 3, "extra": "YWJj\\n"}', { pipe_id = 1, bytes = 3, extra = "abc" } },
      { "SK_QUEUES", '{"id_for": 1, "length": 2, "extra": "YWI="}', { id_for = 1, length = 2, extra = "ab" } },
      { "TCP_STREAM", '{"inq_len": 1, "inq_seq": 0, "outq_len": 2, "outq_seq": 0, "opt_mask": "0x1", '
        .. '"snd_wscale": 0, "mss_clamp": 0, "extra": {"outq": "YmM=", "inq": "YQ=="}}',
        { inq_len = 1, inq_seq = 0, outq_len = 2, outq_seq = 0, opt_mask = 1, snd_wscale = 0,
          mss_clamp = 0, extra = { inq = "a", outq = "bc" } } },
      { "BPFMAP_DATA", '{"map_id": 1, "keys_bytes": 1, "values_bytes": 2, "count": 1, "extra": "YWJj"}',
        { map_id = 1, keys_bytes = 1, values_bytes = 2, count = 1, extra = "abc" } },
      { "IPCNS_SHM", '{"desc": ' .. DESC .. ', "size": 5, "extra": "YWJjZGU="}',
        { desc = DESC_T, size = 5, extra = "abcde" } },
      { "IPCNS_SEM", '{"desc": ' .. DESC .. ', "nsems": 3, "extra": [1, 2, 65535]}',
        { desc = DESC_T, nsems = 3, extra = { 1, 2, 65535 } } },
      { "IPCNS_MSG", '{"desc": ' .. DESC .. ', "qbytes": 100, "qnum": 2, "extra": [{"mtype": 1, '
        .. '"msize": 3}, "YWJj", {"mtype": 2, "msize": 9}, "MTIzNDU2Nzg5"]}',
        { desc = DESC_T, qbytes = 100, qnum = 2, extra = { { mtype = 1, msize = 3 }, "abc",
          { mtype = 2, msize = 9 }, "123456789" } } },
    }
    for _, c in ipairs(cases) do
      assert.are.equal(lua_image(c[1], c[3]), (encode(doc(c[1], c[2]))), c[1])
    end
  end)

  it("skip a shared memory segment whose data is in the pages", function()
    assert.are.equal(lua_image("IPCNS_SHM", { desc = DESC_T, size = 4096, in_pagemaps = true }),
      (encode(doc("IPCNS_SHM", '{"desc": ' .. DESC .. ', "size": 4096, "in_pagemaps": true}'))))
    local d = doc("IPCNS_SHM", '{"desc": ' .. DESC .. ', "size": 3, "in_pagemaps": true, "extra": "YWJj"}')
    assert.are.equal(string.format("line 1, column %d: entries[1].extra: in_pagemaps is set: the data "
      .. "is in the pages, not in extra", col(d, '"extra"')), encode_error(d))
    -- crit (4.2 and 3.17) reads `size` bytes after the entry anyway: at the
    -- end of the file that is nothing, and it writes "extra": "".
    assert.are.equal(lua_image("IPCNS_SHM", { desc = DESC_T, size = 4096, in_pagemaps = true }),
      (encode(doc("IPCNS_SHM", '{"desc": ' .. DESC .. ', "size": 4096, "in_pagemaps": true, '
        .. '"extra": ""}'))))
    assert.are.equal(lua_image("IPCNS_SHM", { desc = DESC_T, size = 4096, in_pagemaps = true }),
      lua_image("IPCNS_SHM", { desc = DESC_T, size = 4096, in_pagemaps = true, extra = "" }))
    assert.has_error(function()
      lua_image("IPCNS_SHM", { desc = DESC_T, size = 3, in_pagemaps = true, extra = "abc" })
    end, "image: entry 1 at offset 8: extra: in_pagemaps is set: the data is in the pages, not in extra")
  end)

  it("check semaphores and message queues item by item", function()
    local d = doc("IPCNS_SEM", '{"desc": ' .. DESC .. ', "nsems": 2, "extra": [1, 65536]}')
    assert.are.equal(string.format("line 1, column %d: entries[1].extra[2]: a semaphore value is an "
      .. "integer from 0 to 65535", col(d, "65536")), encode_error(d))
    d = doc("IPCNS_SEM", '{"desc": ' .. DESC .. ', "nsems": 3, "extra": [1, 2]}')
    assert.matches("extra: 2 semaphore values, but nsems says 3$", encode_error(d))
    d = doc("IPCNS_MSG", '{"desc": ' .. DESC .. ', "qbytes": 1, "qnum": 1, "extra": [{"mtype": 1, '
      .. '"msize": 2}, "YWJj"]}')
    assert.are.equal(string.format("line 1, column %d: entries[1].extra[2]: 3 bytes of data, but "
      .. "msize says 2", col(d, '"YWJj"')), encode_error(d))
  end)

  it("follow the ghost file's layout: whole data, or chunks", function()
    local plain = encode(doc("GHOST_FILE", '{"uid": 0, "gid": 0, "mode": 33188, "size": 3, "extra": "YWJj"}'))
    assert.are.equal(lua_image("GHOST_FILE", { uid = 0, gid = 0, mode = 33188, size = 3, extra = "abc" }), plain)
    local chunked = encode(doc("GHOST_FILE", '{"uid": 0, "gid": 0, "mode": 33188, "chunks": true}',
      '{"len": 3, "off": 4096, "extra": "YWJj"}'))
    assert.are.equal(lua_image("GHOST_FILE", { uid = 0, gid = 0, mode = 33188, chunks = true },
      { len = 3, off = 4096, extra = "abc" }), chunked)
    local d = doc("GHOST_FILE", '{"uid": 0, "gid": 0, "mode": 33188}', '{"len": 0, "off": 0}')
    assert.are.equal(string.format("line 1, column %d: entries[2]: a ghost file without chunks has one "
      .. "entry: its data is that entry's extra", col(d, '{"len"')), encode_error(d))
  end)
end)

describe("crit 3.17's pagemap layout", function()
  it("writes nr_pages as field 2 when compat_nr_pages is absent", function()
    local old = encode(doc("PAGEMAP", '{"pages_id": 1}', '{"vaddr": 4096, "nr_pages": 3, "flags": 4}'))
    local e = crit.load(old)[2]
    assert.are.equal(3, e.compat_nr_pages)
    assert.is_nil(e.nr_pages)
    local new = crit.load(encode(doc("PAGEMAP", '{"pages_id": 1}',
      '{"vaddr": 4096, "compat_nr_pages": 0, "nr_pages": 3, "flags": "PE_PRESENT"}')))[2]
    assert.are.equal(0, new.compat_nr_pages)
    assert.are.equal(3, new.nr_pages)
    local d = doc("PAGEMAP", '{"pages_id": 1}', '{"vaddr": 0, "nr_pages": 4294967296}')
    assert.matches('entries%[2%]%.nr_pages: "4294967296" is out of range for uint32$', encode_error(d))
  end)
end)

describe("the document", function()
  it("returns the magic and the entry count", function()
    local img, magic, n = encode(doc("FILE_LOCKS", lock(1), lock(2)))
    assert.are.equal("FILE_LOCKS", magic)
    assert.are.equal(2, n)
    assert.are.equal(core.header("FILE_LOCKS"), img:sub(1, 8))
    local inv, m2 = encode(doc("INVENTORY", '{"img_version": 2}'))
    assert.are.equal("INVENTORY", m2)
    assert.are.equal(core.header("INVENTORY"), inv:sub(1, 4))
  end)

  it("may give entries before magic, when it is in memory", function()
    local d = '{"entries": [' .. lock(1) .. '], "magic": "FILE_LOCKS"}'
    assert.are.equal((encode(doc("FILE_LOCKS", lock(1)))), (encode(d)))
    local bad = '{"entries": [' .. lock("x") .. '], "magic": "FILE_LOCKS"}'
    assert.matches("^line 1, column %d+: entries%[1%]%.start: unexpected 'x', expected a value$",
      encode_error(bad))
  end)

  it("refuses what crit's JSON does not have", function()
    local cases = {
      { '{"magic": "NOPE", "entries": []}', 11, 'magic: unknown magic "NOPE"' },
      { '{"magic": "PAGES", "entries": []}', 11, "magic: PAGES images are raw data, which crit's JSON does not hold" },
      { '{"magic": 5, "entries": []}', 11, 'magic: expected a string such as "CORE"' },
      { '{"magic": "PSTREE", "magic": "PSTREE", "entries": []}', 21, 'duplicate key "magic"' },
      { '{"magic": "PSTREE", "entries": [], "entries": []}', 36, 'duplicate key "entries"' },
      { '{"magic": "PSTREE", "entries": [], "extra": 1}', 36,
        'unknown key "extra": crit\'s JSON has "magic" and "entries"' },
      { '{"magic": "PSTREE"}', 1, 'missing "entries"' },
      { '{"entries": []}', 1, 'missing "magic"' },
      { '{"magic": "PSTREE", "entries": {}}', 32, 'entries: "entries" must be an array' },
      { '["x"]', 1, "unexpected '[', expected '{' (crit's JSON is {\"magic\": ..., \"entries\": [...]})" },
      { '{"magic": "PSTREE", "entries": []} []', 36, "unexpected '[', expected nothing after the document" },
      { '{"magic": "PSTREE", "entries": [],}', 35, "unexpected '}', expected a key string" },
      { '{"magic": "PSTREE", "entries": [{"pid": 1,, }]}', 43, "entries[1]: unexpected ',', expected a key string" },
      { '{"magic": "PSTREE", "entries": [{"pid" 1}]}', 40, "entries[1]: unexpected '1', expected ':' after the key" },
      { '{"magic": "PSTREE", "entries": [{"pid": 01}]}', 42, "entries[1]: unexpected '1', expected ',' or '}'" },
      { '{"magic": "PSTREE", "entries": [{"pid": -}]}', 41, "entries[1].pid: invalid number" },
      { '{"magic": "PSTREE", "entries": [{"pid": tru}]}', 41, "entries[1].pid: invalid word: expected a value" },
      { '{"magic": "UTSNS", "entries": [{"nodename": "a\\x"}]}', 47,
        "entries[1].nodename: invalid escape in a string" },
      { '{"magic": "UTSNS", "entries": [{"nodename": "a\\u12"}]}', 47,
        "entries[1].nodename: invalid \\u escape: four hex digits expected" },
      { '{"magic": "UTSNS", "entries": [{"nodename": "a\tb"}]}', 47,
        "entries[1].nodename: control character 0x09 in a string (write it as \\u0009)" },
      { '{"magic": "UTSNS", "entries": [{"nodename": "a\xffb"}]}', 47,
        "entries[1].nodename: invalid UTF-8 byte 0xff" },
      { '{"magic": "UTSNS", "entries": [{"nodename": "\xed\xa0\x80"}]}', 46,
        "entries[1].nodename: invalid UTF-8 sequence" },
    }
    for _, c in ipairs(cases) do
      assert.are.equal(string.format("line 1, column %d: %s", c[2], c[3]), encode_error(c[1]))
    end
  end)

  it("says where truncated input ends", function()
    local d = doc("FILE_LOCKS", lock(1))
    for _, part in ipairs({ "", "{", '{"magic": "FILE_LOCKS", ', '{"magic": "FILE_LOCKS", "entries": [',
                            '{"magic": "FILE_LOCKS", "entries": [{"flag": ', d:sub(1, -3), d:sub(1, -2) }) do
      assert.matches(string.format("^line 1, column %d: .*unexpected end of the input", #part + 1),
        encode_error(part))
    end
    assert.are.equal("line 1, column 38: entries[1]: unterminated string",
      encode_error('{"magic": "FILE_LOCKS", "entries": [{"fla'))
  end)

  it("counts lines, and columns in characters", function()
    local d = '{\n  "magic": "UTSNS",\n  "entries": [\n    {"nodename": "h\u{e9}llo \u{1f600}", '
      .. '"domainname": "x", "bogus": 1}\n  ]\n}\n'
    local line4 = '    {"nodename": "h\u{e9}llo \u{1f600}", "domainname": "x", '
    assert.are.equal(string.format("line 4, column %d: entries[1].bogus: unknown key: utsns_entry has "
      .. "no such field", utf8.len(line4) + 1), encode_error(d))
  end)
end)

describe("streams", function()
  local dir
  before_each(function() dir = S.tmpdir() end)
  after_each(function() S.cleanup() end)

  local function file_with(text)
    local path = dir .. "/in.json"
    S.write(path, text)
    return assert(io.open(path, "rb"))
  end

  it("give what the same text in memory gives", function()
    local d = doc("IPCNS_MSG", '{"desc": ' .. DESC .. ', "qbytes": 100, "qnum": 1, "extra": '
      .. '[{"mtype": 1, "msize": 3}, "YWJj"]}')
    local f = file_with(d)
    local out = core.output()
    assert.are.same({ "IPCNS_MSG", 1 }, { core.json_read(f, out) })
    f:close()
    assert.are.equal((encode(d)), out:finish())
  end)

  it("start where the Lua file is, bytes stdio buffered included", function()
    local f = file_with("#" .. doc("FILE_LOCKS", lock(7)))
    assert.are.equal("#", f:read(1))
    local out = core.output()
    core.json_read(f, out)
    f:close()
    assert.are.equal((encode(doc("FILE_LOCKS", lock(7)))), out:finish())
  end)

  it("must give magic before entries, and say so", function()
    local f = file_with('{"entries": [], "magic": "PSTREE"}')
    local ok, err = pcall(core.json_read, f, core.output(), "in.json")
    f:close()
    assert.is_false(ok)
    assert.are.equal('in.json: line 1, column 2: "entries" before "magic": a stream is read once, '
      .. 'so "magic" must come first (as crit writes it)', tostring(err))
  end)

  it("refuse a closed file", function()
    local f = file_with("{}")
    f:close()
    assert.has_error(function() core.json_read(f, core.output()) end)
  end)
end)

describe("outputs", function()
  local dir
  before_each(function() dir = S.tmpdir() end)
  after_each(function() S.cleanup() end)

  it("leave no file behind when encoding fails", function()
    local path = dir .. "/out.img"
    local out = core.output(path)
    local ok = pcall(core.json_read, doc("FILE_LOCKS", lock(1), lock("x")), out, "t.json")
    assert.is_false(ok)
    out:abort()
    assert.is_false(S.exists(path))
    assert.are.same({}, S.ls(dir))
  end)

  it("write the image when it is finished", function()
    local path = dir .. "/out.img"
    local out = core.output(path)
    core.json_read(doc("FILE_LOCKS", lock(1)), out)
    assert.is_false(S.exists(path))
    out:finish()
    assert.are.equal((encode(doc("FILE_LOCKS", lock(1)))), S.read(path))
  end)
end)
