-- The restore suite: every scenario of spec/restore/scenarios/ started, dumped by
-- real criu, reaped, restored with `criu restore -d` and checked in /proc and by
-- the scenario itself; then the lossless proof: the same images through
-- `crit.lua decode` -> `crit.lua encode`, and through the Lua API (open, touch
-- every entry, write), are byte-identical and restore just as well.
local RS = require "spec.restore_support"
local SC = require "spec.restore.scenarios"
local crit = require "crit"

local CRIT = RS.ROOT .. "/crit.lua"
local q = RS.quote

local function ls(dir)
  local _, out = RS.sh("ls -A " .. q(dir))
  local names = {}
  for name in out:gmatch("[^\n]+") do names[#names + 1] = name end
  table.sort(names)
  return names
end

local function is_raw(path)
  local img = assert(crit.open(path))
  return img.raw_image
end

local function same_bytes(a, b)
  return RS.read_file(a) == RS.read_file(b)
end

--- Every protobuf image through crit.lua decode and encode; raw ones copied.
local function decode_encode(dir, to)
  assert(os.execute("mkdir -p " .. q(to)))
  for _, name in ipairs(ls(dir)) do
    local from, dest = dir .. "/" .. name, to .. "/" .. name
    if is_raw(from) then
      assert(os.execute("cp -a " .. q(from) .. " " .. q(dest)))
    else
      local json = to .. "/" .. name .. ".json"
      local ok, out = RS.sh(string.format("%s decode -i %s -o %s && %s encode -i %s -o %s && rm %s",
        q(CRIT), q(from), q(json), q(CRIT), q(json), q(dest), q(json)))
      assert(ok, name .. ": " .. out)
    end
  end
  return to
end

--- Every image opened with the Lua API, every entry decoded into a table, and
--- written from those tables.
local function lua_rewrite(dir, to)
  assert(os.execute("mkdir -p " .. q(to)))
  for _, name in ipairs(ls(dir)) do
    local img = assert(crit.open(dir .. "/" .. name))
    if not img.raw_image then
      for i = 1, #img do assert(type(img[i]) == "table", name .. " entry " .. i) end
    end
    img:write(to .. "/" .. name)
  end
  return to
end

local function assert_identical(dir, copy)
  local a, b = ls(dir), ls(copy)
  assert.are.same(a, b)
  for _, name in ipairs(a) do
    assert(same_bytes(dir .. "/" .. name, copy .. "/" .. name), name .. " differs after the round trip")
  end
end

for _, sc in ipairs(SC.list) do
  describe("restore scenario " .. sc.name .. " #restore", function()
    local s, why
    lazy_setup(function()
      why = RS.skip_reason()
      if why then return end
      s = RS.start(sc.name, sc.start)
      if sc.before then sc.before(s) end
      RS.dump(s, sc.dump)
    end)
    after_each(function() RS.stop(s) end)
    lazy_teardown(function() RS.cleanup(s); s = nil end)

    local function restores_from(variant_name, variant)
      return function()
        if why then return pending(why) end
        assert(s and s.dir, "the scenario was not dumped")
        local dir = s.dir
        if variant then
          dir = variant(s.dir, s.tmp .. "/" .. variant_name)
          assert_identical(s.dir, dir)
        end
        RS.must_restore(dir, sc.restore)
        sc.check(s)
      end
    end

    it("restores, the same process", restores_from())
    it("restores after crit.lua decode -> encode, byte-identical", restores_from("decode-encode", decode_encode))
    it("restores after a rewrite through the Lua API, byte-identical", restores_from("lua-api", lua_rewrite))
  end)
end
