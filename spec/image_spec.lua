-- The lazy image object: lossless round trips over real images, edits,
-- insertion and removal, atomic writes.
local crit = require "crit"
local S = require "spec.support"

local function protobuf_fixtures()
  local out = {}
  for _, path in ipairs(S.fixture_images()) do
    local img = assert(crit.open(path))
    if not img.raw_image then out[#out + 1] = path end
  end
  return out
end

describe("every fixture image", function()
  local paths = protobuf_fixtures()

  it("is there (the fixtures are installed)", function()
    assert.is_true(#paths >= 40, "only " .. #paths .. " protobuf fixtures")
  end)

  for _, path in ipairs(paths) do
    it("round-trips byte for byte: " .. path, function()
      local bytes = S.read(path)
      local img = assert(crit.open(path))
      assert.are.equal(bytes, img:encode(), "untouched")
      for i = 1, #img do assert.is_table(img[i]) end
      assert.are.equal(bytes, img:encode(), "decoded and re-encoded")
      assert.are.equal(bytes, crit.load(bytes, path):encode(), "loaded from bytes")
    end)
  end
end)

describe("an image", function()
  after_each(S.cleanup)

  it("has crit's magic name, an entry count and a header version", function()
    local img = assert(crit.open(S.fixture("/sleep/core%-%d+%.img$")))
    assert.are.equal("CORE", img.magic)
    assert.are.equal(1, #img)
    assert.are.equal("1.1", img.version)
    local inv = assert(crit.open(S.fixture("/sleep/inventory%.img$")))
    assert.are.equal("INVENTORY", inv.magic)
    assert.are.equal("1.0", inv.version)   -- inventory has its magic alone
    local pm = assert(crit.open(S.fixture("/sleep/pagemap%-%d+%.img$")))
    assert.are.equal("PAGEMAP", pm.magic)
    assert.is_number(pm[1].pages_id)       -- entry 1 is the pagemap_head
    assert.is_number(pm[2].vaddr)
  end)

  it("decodes an entry once and keeps the table, so edits persist", function()
    local img = assert(crit.open(S.fixture("/sleep/core%-%d+%.img$")))
    local t = img[1]
    assert.are.equal(t, img[1])
    t.tc.comm = "renamed"
    assert.are.equal("renamed", img[1].tc.comm)
  end)

  it("iterates with entries() without caching", function()
    local img = assert(crit.open(S.fixture("/sleep/files%.img$")))
    local n = 0
    for i, e in img:entries() do
      n = n + 1
      assert.are.equal(n, i)
      assert.is_number(e.id)
    end
    assert.are.equal(#img, n)
    assert.are_not.equal(select(2, img:entries()()), img[1])
  end)

  it("writes an edit and leaves every other entry byte-identical", function()
    local path = S.fixture("/sleep/files%.img$")
    local before = assert(crit.open(path))
    assert.is_true(#before >= 3)
    local img = assert(crit.open(path))
    img[2].id = img[2].id + 1000
    local out = S.tmpdir() .. "/files.img"
    assert.is_true(img:write(out))
    local after = assert(crit.open(out))
    assert.are.equal(#before, #after)
    assert.are.equal(before[2].id + 1000, after[2].id)
    for i = 1, #before do
      if i ~= 2 then assert.are.equal((before:raw(i)), (after:raw(i))) end
    end
  end)

  it("inserts, appends and removes entries", function()
    local path = S.fixture("/sleep/files%.img$")
    local orig = assert(crit.open(path))
    local n = #orig
    local img = assert(crit.open(path))
    local first = img:remove(1)
    assert.are.equal(n - 1, #img)
    assert.are.equal((orig:raw(2)), (img:raw(1)))
    img:append(first)
    img:insert(1, { id = 4242, type = "REG", reg = { id = 4242, flags = 0, pos = 0, name = "/x",
      fown = { uid = 0, euid = 0, signum = 0, pid_type = 0, pid = 0 } } })
    assert.are.equal(n + 1, #img)
    local again = crit.load(img:encode())
    assert.are.equal(4242, again[1].id)
    assert.are.equal((orig:raw(2)), (again:raw(2)))
    assert.are.equal((orig:raw(1)), (again:raw(n + 1)))
    img[#img + 1] = again[1]
    assert.are.equal(n + 2, #img)
    assert.has_error(function() img[#img + 2] = {} end)
    assert.has_error(function() img[1] = "not a table" end)
  end)

  it("refuses an entry of the wrong type at a position", function()
    local pm = assert(crit.open(S.fixture("/sleep/pagemap%-%d+%.img$")))
    pm:remove(1)   -- the head: now a pagemap_entry would stand first
    assert.has_error(function() pm:encode() end)
  end)

  it("makes new images", function()
    local img = crit.new("PSTREE")
    img:append({ pid = 1, ppid = 0, pgid = 1, sid = 1, threads = { 1, 2 } })
    local back = crit.load(img:encode())
    assert.are.equal("PSTREE", back.magic)
    assert.are.same({ 1, 2 }, back[1].threads)
    assert.are.equal(S.image({ S.IMG_COMMON, S.MAGIC.PSTREE }, {}), crit.new("PSTREE"):encode())
    assert.has_error(function() crit.new("NO_SUCH_MAGIC") end)
  end)

  it("converts between header versions", function()
    local path = S.fixture("/sleep/core%-%d+%.img$")
    local bytes = S.read(path)
    local img = assert(crit.open(path))
    img:set_version("1.0")
    local v10 = img:encode()
    assert.are.equal(bytes:sub(5), v10)
    local back = crit.load(v10)
    assert.are.equal("1.0", back.version)
    back:set_version("1.1")
    assert.are.equal(bytes, back:encode())
  end)

  it("raises once closed, and closes once", function()
    local img = assert(crit.open(S.fixture("/sleep/files%.img$")))
    img:close()
    img:close()
    assert.has_error(function() return #img end, "crit image FILES: used after close()")
    assert.has_error(function() return img[1] end)
    assert.has_error(function() img:encode() end)
    assert.has_error(function() img:entries() end)
    assert.are.equal("crit image FILES (closed)", tostring(img))
    do
      local scoped <close> = assert(crit.open(S.fixture("/sleep/files%.img$")))
      img = scoped
      assert.is_true(#img > 0)
    end
    assert.has_error(function() return #img end)
  end)

  it("keeps its state to itself", function()
    local img = assert(crit.open(S.fixture("/sleep/files%.img$")))
    local _ = img[1]
    assert.is_nil(next(img))
    assert.is_nil(rawget(img, "_index"))
  end)

  it("knows its file, its size and whether it still has its bytes", function()
    local path = S.fixture("/sleep/pstree%.img$")
    local img = assert(crit.open(path))
    assert.are.equal(path, img:path())
    assert.are.equal(S.size_of(path), img:file_size())
    assert.is_true(img:unchanged())
    assert.are.equal(assert(crit.open(path))[1].pid, img:entry(1).pid)
    assert.is_true(img:unchanged(), "entry() hands out a passing copy")
    local e = img[1]                  -- may be edited: compared from now on
    assert.is_true(img:unchanged())
    local pid = e.pid
    e.pid = pid + 1
    assert.is_false(img:unchanged())
    e.pid = pid                        -- changed back: the same bytes
    assert.is_true(img:unchanged())
    img:set_version("1.0")
    assert.is_false(img:unchanged())
    assert.is_false(crit.new("PSTREE"):unchanged())
  end)

  it("compares with another image an entry at a time", function()
    local path = S.fixture("/sleep/pstree%.img$")
    local a, b = assert(crit.open(path)), assert(crit.open(path))
    assert.is_true(a:same(b))
    b[1].sid = b[1].sid + 1
    assert.is_false(a:same(b))
    assert.is_false(a:same(crit.new("PSTREE")))
    local fresh = crit.new("PSTREE")
    for _, e in a:entries() do fresh:append(e) end
    assert.is_true(a:same(fresh))
    fresh:insert(1, fresh:remove(1))
    assert.is_true(a:same(fresh))
    assert.is_true(fresh:same(a))
    fresh:remove()
    assert.is_false(fresh:same(a))
  end)

  it("has a core index that raises once closed, rather than reading as empty", function()
    local path = S.fixture("/sleep/files%.img$")
    local idx = require("crit.core").open(path)
    idx:close()
    idx:close() -- closing twice is fine, and so is the collector after it
    for _, method in ipairs({ "count", "info", "bytes" }) do
      local ok, err = pcall(idx[method], idx)
      assert.is_false(ok, method)
      assert.matches(path .. ": the image is closed", err, 1, true)
    end
    assert.has_error(function() idx:decode(1) end)
    assert.has_error(function() require("crit.core").json_write(idx, require("crit.core").output()) end)
  end)

  it("write(nil) raises rather than returning the bytes", function()
    local img = assert(crit.open(S.fixture("/sleep/pstree%.img$")))
    assert.has_error(function() img:write(nil) end, "write: a path expected, got nil (encode() gives the bytes)")
  end)

  it("returns nil, message, errno for a missing file", function()
    local img, msg, errno = crit.open("/nonexistent/core-1.img")
    assert.is_nil(img)
    assert.matches("/nonexistent/core%-1%.img", msg)
    assert.are.equal(2, errno)
  end)
end)

describe("raw images", function()
  after_each(S.cleanup)

  it("are recognised by name, not decoded", function()
    local path = S.fixture("/pages%-%d+%.img$")
    local img = assert(crit.open(path))
    assert.is_true(img.raw_image)
    assert.are.equal("PAGES", img.magic)
    assert.are.equal(0, #img)
    assert.are.equal(S.read(path), img:bytes())
    assert.are.equal(S.read(path):sub(4097, 4196), img:slice(4096, 100))
    assert.has_error(function() img:slice(img:bytes():len() - 1, 2) end)
    local out = S.tmpdir() .. "/pages-1.img"
    img:write(out)
    assert.are.equal(S.read(path), S.read(out))
    assert.is_true(img:same(assert(crit.open(out))))
    local copy = require("crit.core").output()
    img:copy_to(copy, 4096, 100)
    assert.are.equal(img:slice(4096, 100), copy:finish())
  end)

  it("include the network and tmpfs dumps", function()
    for _, pat in ipairs({ "/ifaddr%-%d+%.img$", "/route%-%d+%.img$", "/tmpfs%-dev%-%d+%.tar%.gz%.img$" }) do
      local img = assert(crit.open(S.fixture(pat)))
      assert.is_true(img.raw_image, pat)
    end
  end)
end)

describe("atomic writes", function()
  after_each(S.cleanup)

  it("leave the old file and no temporary file when encoding fails", function()
    local dir = S.tmpdir()
    local out = dir .. "/pstree.img"
    S.write(out, "old contents")
    local img = crit.new("PSTREE")
    img:append({ pid = 1, ppid = 0, pgid = 1, sid = 1 })
    img:append({ pid = -5, ppid = 0, pgid = 1, sid = 1 })   -- out of range
    assert.has_error(function() img:write(out) end)
    collectgarbage()
    assert.are.equal("old contents", S.read(out))
    assert.are.same({ "pstree.img" }, S.ls(dir))
  end)

  it("fail cleanly when the directory does not exist", function()
    local img = crit.new("PSTREE")
    local ok, err = pcall(img.write, img, "/nonexistent-dir/pstree.img")
    assert.is_false(ok)
    assert.matches("nonexistent%-dir/pstree%.img", err)
  end)

  it("write devices and FIFOs in place, never replacing them", function()
    local img = crit.new("PSTREE")
    img:append({ pid = 7, ppid = 0, pgid = 7, sid = 7 })
    assert.is_true(img:write("/dev/null"))
    assert.are.equal("character special file", S.lines_of("stat -c %F /dev/null")[1])
    local fifo = S.tmpdir() .. "/fifo"
    assert.is_true(os.execute("mkfifo " .. fifo))
    local reader = assert(io.popen("cat " .. fifo .. " | od -An -tx1 | tr -d ' \n'"))
    img:write(fifo)
    local hex = reader:read("a")
    reader:close()
    assert.are.equal((img:encode():gsub(".", function(c) return ("%02x"):format(c:byte()) end)), hex)
    assert.are.equal("fifo", S.lines_of("stat -c %F " .. fifo)[1])
  end)

  it("write zero runs into a FIFO as bytes (a FIFO cannot seek over a hole)", function()
    local core = require "crit.core"
    local fifo = S.tmpdir() .. "/fifo"
    assert.is_true(os.execute("mkfifo " .. fifo))
    local reader = assert(io.popen("od -An -tx1 -v < " .. fifo .. " | tr -d ' \n'"))
    local out = core.output(fifo)
    out:write("ab")
    out:zeros(100000)     -- above the 64 KiB a file would get as a hole
    out:write("c")
    assert.is_true(out:finish())
    assert.are.equal("6162" .. ("00"):rep(100000) .. "63", reader:read("a"))
    reader:close()
  end)

  it("replace the file as a whole", function()
    local dir = S.tmpdir()
    local out = dir .. "/pstree.img"
    S.write(out, "old")
    local img = crit.new("PSTREE")
    img:append({ pid = 7, ppid = 0, pgid = 7, sid = 7 })
    assert.is_true(img:write(out))
    assert.are.equal(7, assert(crit.open(out))[1].pid)
    assert.are.same({ "pstree.img" }, S.ls(dir))
  end)
end)
