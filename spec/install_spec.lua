-- Installing lua-crit as the Lua world does: `luarocks make` from the
-- checkout, and the release rock of `make dist` packed and installed into
-- a fresh tree, offline; both used from another directory.
local S = require "spec.support"

local lines_of = S.lines_of

local have_luarocks = os.execute("command -v luarocks >/dev/null 2>&1") == true
local with_luarocks = have_luarocks and it or pending

-- Debian's lua-argparse and lua-filesystem are not rocks: the
-- trees get no dependencies (--deps-mode=none), and nothing is downloaded.
local LR = "luarocks --lua-version=5.4 "

-- s as a Lua pattern that matches s.
local function lit(s) return (s:gsub("%p", "%%%0")) end

local function run(cmd, log)
  assert.is_true(os.execute(("%s > %s 2>&1"):format(cmd, log)), cmd .. "\n" .. S.read(log))
end

-- What the installed command and module do in tree, run from /.
local function assert_works(tree, image)
  local paths = ('cd / && eval "$(luarocks --lua-version=5.4 --tree %s path)"'):format(tree)
  local out = lines_of(("%s && %s/bin/crit.lua info %s"):format(paths, tree, image))
  assert.are.same({ "{", '    "magic": "PSTREE",', '    "count": 1', "}" }, out)
  local ps = lines_of(("%s && %s/bin/crit.lua x %s ps"):format(paths, tree, image:match("^(.*)/")))
  assert.matches("^%s+%d+%s+%d+%s+%d+%s+sleep$", ps[2])
  local api = lines_of(("%s && lua5.4 -e 'local c = require \"crit\"; "
    .. "print(c.open(\"%s\")[1].pid, package.searchpath(\"crit\", package.path), "
    .. "package.searchpath(\"crit.core\", package.cpath))'"):format(paths, image))
  local escaped = lit(tree)
  assert.matches("^%d+\t" .. escaped .. "/share/lua/5%.4/crit/init%.lua\t" .. escaped
    .. "/lib/lua/5%.4/crit/core%.so$", api[1])
end

describe("installing with LuaRocks", function()
  local here, image
  before_each(function()
    here = lines_of("pwd")[1]
    image = here .. "/" .. S.fixture("/sleep/pstree%.img$")
  end)
  after_each(S.cleanup)

  with_luarocks("luarocks make --tree DIR: crit and crit.lua usable from elsewhere", function()
    local tree = S.tmpdir()
    run(LR .. "make --deps-mode=none --tree " .. tree .. " lua-crit-scm-1.rockspec", tree .. "/make.log")
    assert_works(tree, image)
  end)

  with_luarocks("make dist, luarocks pack, install the rock into a fresh tree offline", function()
    local dist = S.tmpdir()
    run(("make -s dist DIST=%s"):format(dist), dist .. "/dist.log")
    local version = lines_of("sed -n 's/.*_VERSION = \"lua-crit \\(.*\\)\".*/\\1/p' lua/crit/init.lua")[1]
    local name = "lua-crit-" .. version
    -- the release rockspec points at the tarball, with its checksum
    local rockspec = S.read(dist .. "/" .. name .. "-1.rockspec")
    assert.matches('\nversion = "' .. lit(version .. "-1") .. '"\n', rockspec)
    assert.matches('\n  url = "' .. lit("file://" .. dist .. "/" .. name .. ".tar.gz") .. '",\n', rockspec)
    local md5 = lines_of(("md5sum < %s/%s.tar.gz"):format(dist, name))[1]:match("^%x+")
    assert.matches('\n  md5 = "' .. md5 .. '",\n', rockspec)
    -- the tarball: every tracked file under lua-crit-VERSION/, the LICENSE too
    local listed = lines_of(("tar tzf %s/%s.tar.gz | grep -v '/$' | sort"):format(dist, name))
    local tracked = lines_of("git ls-files | sed 's|^|" .. name .. "/|' | sort")
    assert.are.same(tracked, listed)
    assert.matches("MIT License", lines_of(("tar xzOf %s/%s.tar.gz %s/LICENSE"):format(dist, name, name))[1])

    -- the source rock, built and installed into a fresh tree
    run(("cd %s && %s pack %s-1.rockspec"):format(dist, LR, name), dist .. "/pack.log")
    local tree = S.tmpdir()
    run(("cd / && %s install --deps-mode=none --tree %s %s/%s-1.src.rock"):format(LR, tree, dist, name),
      dist .. "/install.log")
    -- the build found protobuf-c through external_dependencies
    assert.matches("%-L/[^ ]* %-lprotobuf%-c", S.read(dist .. "/install.log"))
    assert_works(tree, image)

    -- and the binary rock packed from that tree, into another one
    run(("cd %s && %s --tree %s pack lua-crit %s-1"):format(dist, LR, tree, version), dist .. "/bpack.log")
    local bin_rock = lines_of(("ls %s/%s-1.linux-*.rock"):format(dist, name))[1]
    local tree2 = S.tmpdir()
    run(("cd / && %s install --deps-mode=none --tree %s %s"):format(LR, tree2, bin_rock), dist .. "/binstall.log")
    assert_works(tree2, image)
  end)

  it("make install DESTDIR=...: crit.lua, its man page and completions; crit only when asked", function()
    local root = S.tmpdir()
    run(("make -s install DESTDIR=%s PREFIX=/usr"):format(root), root .. "/install.log")
    for _, path in ipairs({ "/usr/bin/crit.lua", "/usr/lib/lua/5.4/crit/core.so", "/usr/share/lua/5.4/crit/init.lua",
      "/usr/share/man/man1/crit.lua.1", "/usr/share/bash-completion/completions/crit.lua",
      "/usr/share/zsh/site-functions/_crit.lua" }) do
      assert.is_true(S.exists(root .. path), path)
    end
    -- CRIU's crit is not shadowed unless asked
    assert.is_false(S.exists(root .. "/usr/bin/crit"))
    assert.is_false(S.exists(root .. "/usr/share/man/man1/crit.1"))

    run(("make -s install DESTDIR=%s PREFIX=/usr CRIT_ALIAS=crit"):format(root), root .. "/install.log")
    assert.are.equal("crit.lua", lines_of("readlink " .. root .. "/usr/bin/crit")[1])
    assert.are.equal("crit.lua.1", lines_of("readlink " .. root .. "/usr/share/man/man1/crit.1")[1])
    -- the alias runs the installed command, with the installed module
    local out = lines_of(("cd / && LUA_PATH='%s/usr/share/lua/5.4/?.lua;%s/usr/share/lua/5.4/?/init.lua;;' "
      .. "LUA_CPATH='%s/usr/lib/lua/5.4/?.so;;' %s/usr/bin/crit info %s"):format(root, root, root, root, image))
    assert.are.same({ "{", '    "magic": "PSTREE",', '    "count": 1', "}" }, out)
  end)
end)
