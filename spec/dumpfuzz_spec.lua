-- The dump fuzzer's findings, replayed: every command that reads a
-- directory gives a clean error or an answer (exit 0 or 1, no internal
-- Lua error, no signal, no hang); and a short fuzz of its own.
local S = require "spec.support"
local fuzz = dofile("tools/dumpfuzz.lua")
local CASES = dofile("spec/fixtures/dumpfuzz-cases.lua")

describe("the dump fuzzer's regression inputs", function()
  after_each(S.cleanup)

  for i, case in ipairs(CASES) do
    it(("case %d: %s entry %d field %d %s"):format(i, case.image, case.entry, case.field, case.how), function()
      local dir = S.tmpdir() .. "/d"
      assert(os.execute("cp -r " .. S.quote(case.dump) .. " " .. S.quote(dir)))
      fuzz.apply(dir, case)
      local bad = fuzz.run(dir, case.dump, S.tmpdir())
      assert.is_nil(bad, bad and ("crit.lua %s: exit %d: %s"):format(bad.command, bad.code, bad.err))
    end)
  end

  it("finds nothing in 10 dumps of a fixed seed", function()
    local r = S.sh("lua5.4 tools/dumpfuzz.lua --seed 15 --dumps 10 "
      .. "spec/fixtures/corpus/sleep spec/fixtures/corpus/pyfds")
    assert.are.equal(0, r.code, r.out)
    assert.matches("10 dumps mutated, 0 findings", r.out)
  end)
end)
