-- proto/ is CRIU's schema, and the magic table covers every image type.
local crit = require "crit"
local S = require "spec.support"

local SHARED = os.getenv("CRIT_SCHEMA") or "../shared/criu-images"

local function magics_tsv()
  local rows = {}
  for line in io.lines("proto/magics.tsv") do
    local name, value = line:match("^([%w_]+)\t(0x%x+)$")
    if name then rows[#rows + 1] = { name = name, value = tonumber(value) } end
  end
  return rows
end

-- Names CRIU defines as another magic (same value), and images whose
-- contents are not protobuf entries.
local ALIASES = { SHMEM_PAGEMAP = "PAGEMAP", PSIGNAL = "SIGNAL", PAGES_OLD = "PAGEMAP",
                  SHM_PAGES_OLD = "PAGEMAP", BINFMT_MISC_OLD = "BINFMT_MISC" }
local NOT_PROTOBUF = { RAW_IMAGE = true, IMG_COMMON = true, IMG_SERVICE = true,
                       KDAT = true }   -- kerndat cache: a C struct after the magic

describe("the magic table", function()
  local known = {}
  for _, t in ipairs(crit.magics()) do known[t.name] = t end

  it("covers every magic of magics.tsv that has protobuf entries", function()
    local rows = magics_tsv()
    assert.is_true(#rows > 80)
    for _, row in ipairs(rows) do
      if row.value ~= 0 and not NOT_PROTOBUF[row.name] then
        local name = ALIASES[row.name] or row.name
        assert.is_table(known[name], row.name .. " is missing")
        assert.are.equal(row.value, known[name].magic, row.name)
        assert.is_false(known[name].raw)
      end
    end
  end)

  it("knows the raw images", function()
    for _, row in ipairs(magics_tsv()) do
      if row.value == 0 and row.name ~= "RAW_IMAGE" and row.name ~= "PAGES" then
        assert.is_table(known[row.name], row.name)
        assert.is_true(known[row.name].raw, row.name)
      end
    end
  end)

  it("makes every image type", function()
    for name, t in pairs(known) do
      if not t.raw then assert.are.equal(name, crit.load(crit.new(name):encode()).magic) end
    end
  end)
end)

describe("proto/", function()
  local have_shared = S.exists(SHARED .. "/magics.tsv")

  it("holds exactly CRIU's schema files (without rpc.proto)", function()
    if not have_shared then return pending("no " .. SHARED) end
    local ours = S.lines_of("cd proto && ls *.proto")
    local theirs = S.lines_of("cd '" .. SHARED .. "' && ls *.proto | grep -v '^rpc.proto$'")
    assert.are.same(theirs, ours)
  end)

  it("defines the same wire format, options included", function()
    if not have_shared then return pending("no " .. SHARED) end
    local dir = S.tmpdir()
    local function descriptor_set(from, out)
      local files = table.concat(S.lines_of("cd '" .. from .. "' && ls *.proto | grep -v '^rpc.proto$'"), " ")
      assert.is_true(os.execute(("cd '%s' && protoc -I. -I/usr/include --include_imports "
        .. "--descriptor_set_out='%s' %s"):format(from, out, files)))
      return S.read(out)
    end
    assert.are.equal(descriptor_set(SHARED, dir .. "/theirs.pb"), descriptor_set("proto", dir .. "/ours.pb"))
    S.cleanup()
  end)
end)
