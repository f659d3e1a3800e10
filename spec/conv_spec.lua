-- crit's text forms of values (src/conv.c: base64, quoted-printable, IP
-- addresses, Python's int() and hex, device numbers), both directions:
-- Python's own outputs for chosen values, and round trips over every byte
-- pair and 100000 random inputs. conv.c knows nothing of Lua, so the test
-- is C: the fuzz harness fuzz/fuzz_conv.c built with its own main().
local S = require "spec.support"

describe("conv.c", function()
  after_each(S.cleanup)

  it("writes what Python writes, and reads back what it writes", function()
    local cc = os.getenv("CC") or "cc"
    if not S.lines_of("command -v " .. cc)[1] then
      return pending("needs a C compiler (" .. cc .. ")")
    end
    local tmp = S.tmpdir()
    local ok = os.execute(cc .. " -std=gnu99 -O1 -Isrc -DCONV_TEST_MAIN"
      .. " -o " .. tmp .. "/conv_test"
      .. " fuzz/fuzz_conv.c src/conv.c src/buf.c 2>" .. tmp .. "/cc.log")
    assert.is_true(ok == true, S.read(tmp .. "/cc.log"))
    local out = S.lines_of(tmp .. "/conv_test 2>&1; echo \"exit $?\"")
    assert.are.equal("exit 0", out[#out], table.concat(out, "\n"))
    assert.matches("^conv: Python's outputs match; %d+ round trips hold$", out[1])
  end)
end)
