-- `luarocks make` installs a module and a command that work from outside
-- the checkout.
local S = require "spec.support"

local have_luarocks = os.execute("command -v luarocks >/dev/null 2>&1") == true
local with_luarocks = have_luarocks and it or pending

describe("luarocks make --tree DIR", function()
  after_each(S.cleanup)

  with_luarocks("installs crit and crit.lua, usable from elsewhere", function()
    local tree = S.tmpdir()
    local here = S.lines_of("pwd")[1]
    local log = tree .. "/make.log"
    -- the rockspec needs argparse; Debian's lua-argparse is not a rock
    assert.is_true(os.execute(("env -u LD_PRELOAD luarocks --lua-version=5.4 make --deps-mode=none "
      .. "--tree %s lua-crit-0.1.0-1.rockspec > %s 2>&1"):format(tree, log)), S.read(log))
    local paths = ('eval "$(luarocks --lua-version=5.4 --tree %s path)"'):format(tree)
    local image = here .. "/" .. S.fixture("/sleep/pstree%.img$")
    -- the installed module is a plain build: run it without make test-asan's preload
    local out = S.lines_of(("unset LD_PRELOAD; cd / && %s && %s/bin/crit.lua info %s"):format(paths, tree, image))
    assert.are.same({ "{", '    "magic": "PSTREE",', '    "count": 1', "}" }, out)
    local api = S.lines_of(("unset LD_PRELOAD; cd / && %s && lua5.4 -e 'local c = require \"crit\"; "
      .. "print(c.open(\"%s\")[1].pid, package.searchpath(\"crit\", package.path))'"):format(paths, image))
    assert.matches("^%d+\t" .. tree:gsub("%p", "%%%0"), api[1])
  end)
end)
