-- crit.lua inspect on the real podman archives (../shared/corpus/archives),
-- their extracted directories and a bare images directory; what it does not
-- recognise it names.
local S = require "spec.support"
local quote = S.quote

local ARCHIVES = S.archives()

local run = S.crit -- ./crit.lua with quoted arguments

local function ok(...)
  local r = run(...)
  assert.are.equal(0, r.code, r.err)
  return r.out
end

if not ARCHIVES then
  describe("crit.lua inspect", function()
    pending("needs " .. S.CORPUS .. "/archives (the podman archives): set CRIT_CORPUS")
  end)
  return
end

describe("crit.lua inspect", function()
  local tmp, files_gz, extracted
  local cjson = require "cjson"

  setup(function()
    tmp = S.tmpdir()
    files_gz = ARCHIVES .. "/bb-files.tar.gz"
    extracted = tmp .. "/bb-files"
    assert(os.execute("mkdir " .. extracted .. " && tar -xzf " .. quote(files_gz)
      .. " -C " .. extracted))
  end)
  teardown(function() S.cleanup() end)

  it("tells the container, the sizes, the processes and their files from the archive", function()
    local out = ok("inspect", files_gz)
    assert.matches("archive %(gzip%)", out)
    assert.matches("name%s+bb%-files\n", out)
    assert.matches("id%s+f421165d82cfa34f1b31ce77fe5be7e6a564793eae0c12a14c710a6851046790\n", out)
    assert.matches("image%s+localhost/bb:1\n", out)
    assert.matches("engine%s+Podman\n", out)
    assert.matches("runtime%s+runc\n", out)
    assert.matches("created%s+2026%-11%-27T12:30:28", out)
    assert.matches("%[1%] sh  sh %-c echo data > /tmp/x", out)
    assert.matches("fd 3 REG /tmp/x", out)
    assert.matches("fd 4 FIFO /f", out)
    assert.matches("fd 1 PIPE pipe:%[193699%]", out)
    assert.matches("Deleted files %(1%)\n  /www/index.html", out)
    assert.matches("/etc/hostname%s+bind", out)
    assert.matches("frozen_time%s+173655", out)
    assert.not_matches("Not recognised", out)
  end)

  it("--json: the same facts, exact integers, for jq; --env adds the environment", function()
    local r = cjson.decode(ok("inspect", files_gz, "--json", "--env"))
    assert.are.equal("bb-files", r.container.name)
    assert.are.equal("Podman", r.container.engine)
    assert.are.equal(52302, r.sizes.archive)
    assert.are.equal(200704, r.sizes.memory_pages)
    assert.are.equal(2560, r.sizes.rootfs_diff)
    assert.are.equal(173655, r.stats.frozen_time)
    assert.are.equal("none", r.network)
    assert.are.same({ "/www/index.html" }, r.deleted_files)
    assert.are.same({ "sleep", "1000" }, r.processes[1].children[1].args)
    assert.truthy(#r.processes[1].env > 0)
    local plain = cjson.decode(ok("inspect", files_gz, "--json"))
    assert.is_nil(plain.processes[1].env)
  end)

  it("the extracted directory gives the same report, but the archive's own size", function()
    local a = cjson.decode(ok("inspect", files_gz, "--json"))
    local d = cjson.decode(ok("inspect", extracted, "--json"))
    assert.are.same(a.container.id, d.container.id)
    assert.are.same(a.processes, d.processes)
    assert.are.same(a.mounts, d.mounts)
    assert.are.equal(a.sizes.checkpoint, d.sizes.checkpoint)
    assert.is_nil(d.sizes.archive)
  end)

  it("a bare images directory: processes and no container metadata", function()
    local out = ok("inspect", extracted .. "/checkpoint")
    assert.matches("directory %(criu images%)", out)
    assert.not_matches("\nContainer\n", out)
    assert.matches("%[1%] sh", out)
  end)

  it("names what it does not recognise, and metadata that is not JSON", function()
    local d = tmp .. "/odd"
    assert(os.execute("cp -r " .. extracted .. " " .. d))
    S.write(d .. "/mystery.bin", "?")
    S.write(d .. "/network.status", "{not json")
    local out = ok("inspect", d)
    assert.matches("Not recognised %(left alone%): mystery.bin", out)
    assert.matches("Problem: network.status: not JSON", out)
  end)

  it("refuses what is not a checkpoint, in one line", function()
    local r = run("inspect", "spec/fixtures")
    assert.are.equal(1, r.code)
    assert.matches("^crit.lua: spec/fixtures: not a checkpoint", r.err)
  end)
end)
