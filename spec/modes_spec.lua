-- Rewriting a file keeps its mode and owner; a new file holding process
-- memory (a raw image, a core file) is 0600, as the kernel makes cores.
local crit = require "crit"
local lfs = require "lfs"
local S = require "spec.support"

local ADDR = 94538183192576 -- a dumped page of the sleep fixture (pid 30956)

local function mode_of(path)
  return lfs.attributes(path, "permissions")
end

local function owner_of(path)
  return S.sh("stat -c %u:%g " .. S.quote(path)).out:gsub("\n$", "")
end

local function is_root()
  return S.sh("id -u").out == "0\n"
end

local function give(path, mode, owner)
  assert(os.execute(("chmod %s %s"):format(mode, S.quote(path))))
  if owner and is_root() then assert(os.execute(("chown %s %s"):format(owner, S.quote(path)))) end
end

describe("a rewritten file", function()
  after_each(S.cleanup)

  it("keeps its mode and owner after transform --in-place (write_memory)", function()
    local dir = S.copy_dump("sleep")
    local pages = dir .. "/pages-1.img"
    give(pages, "600", "1234:1234")
    local script = S.tmpdir() .. "/poke.lua"
    S.write(script, ("return function(d) d:write_memory(30956, %d, 'poked') end"):format(ADDR))
    local r = S.sh("./crit.lua transform " .. S.quote(dir) .. " " .. S.quote(script) .. " --in-place")
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("rw-------", mode_of(pages))
    if is_root() then assert.are.equal("1234:1234", owner_of(pages)) end
    local img = assert(crit.open(pages))
    assert.is_truthy(img:bytes():find("poked", 1, true))
  end)

  it("keeps its mode and owner when a -o output takes the source's place", function()
    local dir = S.copy_dump("sleep")
    give(dir .. "/pages-1.img", "640", "1234:1234")
    local script = S.tmpdir() .. "/poke.lua"
    S.write(script, ("return function(d) d:write_memory(30956, %d, 'poked') end"):format(ADDR))
    local out = dir .. ".out"
    local r = S.sh("./crit.lua transform " .. S.quote(dir) .. " " .. S.quote(script) .. " -o " .. S.quote(out))
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("rw-r-----", mode_of(out .. "/pages-1.img"))
    if is_root() then assert.are.equal("1234:1234", owner_of(out .. "/pages-1.img")) end
    os.execute("rm -rf " .. S.quote(out))
  end)

  it("keeps its mode and owner after encode -o over it", function()
    local dir = S.tmpdir()
    local img = dir .. "/core-1.img"
    S.write(img, S.read("spec/fixtures/corpus/sleep/core-30956.img"))
    give(img, "640", "1234:1234")
    local r = S.sh("./crit.lua decode -i " .. S.quote(img) .. " | ./crit.lua encode -o " .. S.quote(img))
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("rw-r-----", mode_of(img))
    if is_root() then assert.are.equal("1234:1234", owner_of(img)) end
  end)

  it("as a new file holding process memory is 0600: a raw image, a core file", function()
    local dir = S.tmpdir()
    local pages = assert(crit.open("spec/fixtures/corpus/sleep/pages-1.img"))
    pages:write(dir .. "/pages-9.img")
    assert.are.equal("rw-------", mode_of(dir .. "/pages-9.img"))
    local r = S.sh("umask 022; ./crit.lua coredump -o " .. S.quote(dir) .. " spec/fixtures/corpus/sleep")
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("rw-------", mode_of(dir .. "/core.30956"))
  end)
end)
