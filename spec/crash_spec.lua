-- A writer killed with SIGKILL in the middle of writing leaves the old file
-- or the whole new one, never a part, and no stray temporary file.
local crit = require "crit"
local S = require "spec.support"

-- The child writes a 48 MiB image over `path` again and again until killed.
local CHILD = [[
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = (os.getenv("CRIT_BUILD") or "build") .. "/?.so;" .. package.cpath
local crit = require "crit"
local path, size = arg[1], tonumber(arg[2])
local img = crit.new("PIPES_DATA")
img:append({ pipe_id = 2, bytes = size, extra = string.rep("n", size) })
io.stdout:write("ready\n"); io.stdout:flush()
while true do img:write(path) end
]]

local function old_image()
  local img = crit.new("PIPES_DATA")
  img:append({ pipe_id = 1, bytes = 3, extra = "old" })
  return img:encode()
end

describe("a writer killed with SIGKILL", function()
  after_each(S.cleanup)

  it("leaves the old image or the whole new one", function()
    local dir = S.tmpdir()
    local path, script = dir .. "/pipes-data.img", dir .. "/writer.lua"
    local size = 48 << 20
    S.write(script, CHILD)
    local old = old_image()
    local seen = {}
    for round = 1, 6 do
      S.write(path, old)
      local p = assert(io.popen(("sh -c 'echo $$; exec lua5.4 %s %s %d'"):format(script, path, size)))
      local pid = assert(tonumber(p:read("l")))
      assert.are.equal("ready", p:read("l"))
      os.execute(("sleep 0.%d"):format(round * 7 % 10))   -- mid-write, at varied moments
      os.execute("kill -9 " .. pid)
      p:close()
      local bytes = S.read(path)
      if bytes == old then
        seen.old = true
      else
        local img = crit.load(bytes)
        assert.are.equal(1, #img)
        assert.are.equal(size, #img[1].extra)
        seen.new = true
      end
      assert.are.same({ "pipes-data.img", "writer.lua" }, S.ls(dir))
    end
    assert.is_true(seen.new or seen.old)
  end)
end)
