-- make test-asan and make test-valgrind check every lua5.4 process of the
-- run and nothing else: busted, and each crit.lua the specs start, run
-- under the checker and load the module of CRIT_BUILD; the programs those
-- start (sh, cat, tar...) run without it. Read from /proc/PID/maps. A
-- plain run (make test) is the same with no checker anywhere.
local S = require "spec.support"
require "crit.core" -- mapped in busted's process, whichever spec runs first

-- What a maps listing says: the checker loaded ("asan", "valgrind" or
-- nil) and the crit/core.so paths mapped, sorted.
local function seen(maps)
  local checker = maps:find("/libasan%.so") and "asan" or maps:find("/vgpreload_memcheck") and "valgrind" or nil
  local cores, set = {}, {}
  for path in maps:gmatch("(/%S+/crit/core%.so)\n") do
    if not set[path] then set[path], cores[#cores + 1] = true, path end
  end
  table.sort(cores)
  return checker, cores
end

-- The transform script: the maps of its own process (crit.lua) and of a
-- shell it starts, into the files it is given.
local SCRIPT = [[
return function(_, args)
  local function save(path, text)
    local f = assert(io.open(path, "w")); f:write(text); f:close()
  end
  local f = assert(io.open("/proc/self/maps")); save(args[1], f:read("a")); f:close()
  local p = assert(io.popen("cat /proc/self/maps; printf 'LD_PRELOAD=%s\\n' \"$LD_PRELOAD\""))
  save(args[2], p:read("a")); p:close()
end
]]

describe("a checked run", function()
  local checker = seen(S.read("/proc/self/maps"))
  local checked = os.getenv("CRIT_SANITIZED") ~= nil
  after_each(S.cleanup)
  local module = S.read("/proc/self/maps"):match("(/%S+/crit/core%.so)\n")

  it("runs busted under the checker (none in a plain run), with the module of CRIT_BUILD", function()
    if checked then
      assert.truthy(checker, "neither ASan nor memcheck in busted's process")
    else
      assert.is_nil(checker, "a plain run under a checker")
    end
    local _, cores = seen(S.read("/proc/self/maps"))
    assert.are.same({ module }, cores)
    assert.truthy(module:find("/" .. S.BUILD .. "/crit/core.so", 1, true), module)
  end)

  it("runs crit.lua under it too, the same module, and its children without it", function()
    local tmp = S.tmpdir()
    S.write(tmp .. "/maps.lua", SCRIPT)
    local r = S.crit("transform", "--dry-run", "examples/checkpoint", tmp .. "/maps.lua", "--",
      tmp .. "/crit", tmp .. "/child")
    assert.are.equal(0, r.code, r.err)
    local crit_checker, crit_cores = seen(S.read(tmp .. "/crit"))
    assert.are.equal(checker, crit_checker)
    assert.are.same({ module }, crit_cores)
    local child = S.read(tmp .. "/child")
    assert.is_nil((seen(child)))
    assert.matches("\nLD_PRELOAD=\n$", child)
  end)

  it("runs the shells of os.execute without it", function()
    local child = table.concat(S.lines_of("cat /proc/self/maps"), "\n") .. "\n"
    assert.matches("/cat\n", child)
    assert.is_nil((seen(child)))
  end)
end)
