-- Every command checks every write and close: output that cannot be
-- written (/dev/full: "No space left on device") is an error and exit 1,
-- never a short output and exit 0.
local S = require "spec.support"

local D = "spec/fixtures/corpus/sleep"
local IMG = D .. "/core-30956.img"

-- Each command that writes to stdout, with arguments that make it write.
local TO_STDOUT = {
  "--help", "--version", "decode --help", "mem --help",
  "decode -i " .. IMG, "decode --pretty -i " .. IMG, "show " .. IMG, "info " .. IMG,
  "decode --format txt -i " .. IMG,
  "x " .. D .. " ps", "x " .. D .. " fds", "x " .. D .. " mems", "x " .. D .. " rss",
  "mem " .. D .. " 30956", "mem --maps " .. D .. " 30956",
  "mem --raw --addr 94538183192576 --len 4096 " .. D .. " 30956",
  "stats " .. D, "stats --json " .. D, "check " .. D,
  "diff " .. D .. " spec/fixtures/corpus/tree", "diff --json " .. D .. " spec/fixtures/corpus/tree",
}

describe("output that cannot be written", function()
  after_each(S.cleanup)

  for _, args in ipairs(TO_STDOUT) do
    it("crit.lua " .. args .. " > /dev/full: exit 1, saying so", function()
      local r = S.sh("./crit.lua " .. args .. " > /dev/full")
      assert.are.equal(1, r.code, r.err)
      assert.matches("No space left on device", r.err)
    end)
  end

  it("to a file: decode -o, encode -o /dev/full", function()
    local r = S.sh("./crit.lua decode -i " .. IMG .. " -o /dev/full")
    assert.are.equal(1, r.code, r.err)
    assert.matches("No space left on device", r.err)
    r = S.sh("./crit.lua decode -i " .. IMG .. " | ./crit.lua encode -o /dev/full")
    assert.are.equal(1, r.code, r.err)
    assert.matches("No space left on device", r.err)
  end)

  it("coredump and transform --dry-run report on stdout: checked too", function()
    local dir = S.tmpdir()
    local r = S.sh("./crit.lua coredump -o " .. S.quote(dir) .. " " .. D .. " > /dev/full")
    assert.are.equal(1, r.code, r.err)
    local script = dir .. "/t.lua"
    S.write(script, "return function(d) d:core(30956).tc.comm = 'x' end")
    r = S.sh("./crit.lua transform " .. D .. " " .. S.quote(script) .. " --dry-run > /dev/full")
    assert.are.equal(1, r.code, r.err)
  end)
end)
