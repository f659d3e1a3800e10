-- CRIU (through podman) is the judge of a transformed container archive:
-- `crit.lua transform ARCHIVE SCRIPT -o NEW.tar.gz` on the real podman
-- archive bb-sleep.tar.gz, then `podman container restore --import=NEW`,
-- and the transform's effect seen inside the restored container (its
-- /proc). Needs root, podman and runc (Debian: apt-get install podman
-- runc), criu >= 4.2 (build/criu-4.2 or CRIT_CRIU; put first on PATH for
-- runc) and ../shared/corpus/archives; skips, saying which, without them.
-- About 3 s here: load the image 0.4 s, two transforms 0.3 s, restore
-- 0.9 s, two execs, remove 0.3 s.
local RS = require "spec.restore_support"
local S = require "spec.support"

local CRIT = RS.ROOT .. "/crit.lua"
local q = RS.quote
local NAME = "crit-archive-spec"
local IMAGE = "localhost/bb:1"

local function have(cmd)
  return (RS.sh("command -v " .. cmd))
end

local function why_not()
  local ok, uid = RS.sh("id -u")
  if not ok or tonumber(uid) ~= 0 then return "needs root (podman restore)" end
  if not S.archives() then return "needs " .. S.CORPUS .. "/archives (set CRIT_CORPUS)" end
  if not have("podman") then return "needs podman (apt-get install podman runc)" end
  if not have("runc") then return "needs runc (apt-get install runc)" end
  local criu, why = RS.criu("4.2")
  if not criu then return why end
  if os.getenv("CRIT_SANITIZED") then return "does not run against the sanitized module" end
  return nil
end

local function sh_ok(cmd)
  local ok, out = RS.sh(cmd)
  assert(ok, cmd .. ": " .. tostring(out))
  return out
end

describe("a transformed podman archive #restore", function()
  local why = why_not()
  if why and os.getenv("CRIT_RESTORE_REQUIRED") then error("CRIT_RESTORE_REQUIRED, but " .. why) end
  if why then
    it("is restored by podman", function() pending(why) end)
    return
  end

  local tmp, podman
  setup(function()
    tmp = S.tmpdir()
    -- runc runs the `criu` it finds on PATH: criu 4.2 first
    sh_ok("mkdir " .. q(tmp .. "/bin") .. " && ln -s " .. q(RS.criu("4.2")) .. " " .. q(tmp .. "/bin/criu"))
    podman = "env PATH=" .. q(tmp .. "/bin") .. ":$PATH podman --runtime runc --cgroup-manager=cgroupfs"
    -- restore --import needs the very image the container ran (same ID)
    if not RS.sh("podman image exists " .. IMAGE) then
      sh_ok("podman load -q -i " .. q(S.archives() .. "/bb-1.docker-archive.tar"))
    end
    RS.sh(podman .. " rm -f -t 0 " .. NAME)
  end)
  teardown(function()
    if podman then RS.sh(podman .. " rm -f -t 0 " .. NAME) end
    S.cleanup()
  end)

  it("with set-rlimit and rename-process applied: /proc shows both", function()
    local t0 = os.time()
    local a, b = tmp .. "/rlimit.tar.gz", tmp .. "/renamed.tar.gz"
    sh_ok(q(CRIT) .. " transform " .. q(S.archives() .. "/bb-sleep.tar.gz") .. " "
      .. q(RS.ROOT .. "/examples/transforms/set-rlimit.lua") .. " -o " .. q(a) .. " -- NOFILE=1000:20000")
    sh_ok(q(CRIT) .. " transform " .. q(a) .. " " .. q(RS.ROOT .. "/examples/transforms/rename-process.lua")
      .. " -o " .. q(b) .. " -- 1 crit-sh")
    sh_ok(podman .. " container restore --import=" .. q(b) .. " --name " .. NAME)
    assert.are.equal("crit-sh\n", sh_ok(podman .. " exec " .. NAME .. " cat /proc/1/comm"))
    local limits = sh_ok(podman .. " exec " .. NAME .. " cat /proc/1/limits /proc/6/limits /proc/7/limits")
    local n = 0
    for soft, hard in limits:gmatch("Max open files%s+(%d+)%s+(%d+)") do
      assert.are.equal("1000", soft)
      assert.are.equal("20000", hard)
      n = n + 1
    end
    assert.are.equal(3, n, limits)
    -- the untouched processes carry on: sleep 1000 and sleep 2000
    local ps = sh_ok(podman .. " exec " .. NAME .. " ps")
    assert.matches("sleep 1000", ps)
    assert.matches("sleep 2000", ps)
    sh_ok(podman .. " rm -f -t 0 " .. NAME)
    assert.is_false((RS.sh("podman container exists " .. NAME)))
    print(string.format("\npodman archive restore: %d s", os.time() - t0))
  end)
end)
