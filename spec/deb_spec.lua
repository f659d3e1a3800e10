-- The Debian package: dpkg-buildpackage builds lua-crit's .deb from a copy
-- of the tree (debian/rules builds in debian/build, the checkout's build/
-- is never touched), lintian finds no error, apt installs it, the installed
-- command and module work from /, and the package is removed again.
local S = require "spec.support"

local lines_of = S.lines_of

local function sh_ok(cmd) return os.execute("( " .. cmd .. " ) >/dev/null 2>&1") == true end

-- Why this spec cannot run here, or nil.
local function skip_reason()
  for _, tool in ipairs({ "dpkg-buildpackage", "apt-get", "git" }) do
    if not sh_ok("command -v " .. tool) then return tool .. " is not installed" end
  end
  if lines_of("id -u")[1] ~= "0" then return "installing a .deb needs root" end
  if not sh_ok("dpkg-checkbuilddeps") then
    return "the build dependencies of debian/control are missing (make setup installs them)"
  end
  if sh_ok("dpkg-query -W -f='${Status}' lua-crit | grep -q 'ok installed'") then
    return "lua-crit is installed on this machine: not replacing it"
  end
  return nil
end

local function run(cmd, log)
  assert.is_true(os.execute(("%s > %s 2>&1"):format(cmd, log)), cmd .. "\n" .. S.read(log))
end

describe("the Debian package", function()
  after_each(S.cleanup)

  local reason = skip_reason()
  if reason then
    pending("dpkg-buildpackage, lintian, apt-get install: skipped: " .. reason)
    return
  end

  it("builds with dpkg-buildpackage, passes lintian, installs with apt and works", function()
    local version = lines_of("sed -n 's/.*_VERSION = \"lua-crit \\(.*\\)\".*/\\1/p' lua/crit/init.lua")[1]
    -- one version: the module's is the package's
    assert.matches("^lua%-crit %(" .. version:gsub("%p", "%%%0") .. "%-%d+%)", S.read("debian/changelog"))
    local top = S.tmpdir()
    local src = top .. "/lua-crit-" .. version
    run(("mkdir %s && git ls-files -z | xargs -0 cp --parents -t %s"):format(src, src), top .. "/copy.log")
    run(("cd %s && dpkg-buildpackage -b -us -uc"):format(src), top .. "/build.log")
    local deb = lines_of(("ls %s/lua-crit_%s-*_*.deb"):format(top, version))[1]
    assert.is_not_nil(deb, S.read(top .. "/build.log"))

    if sh_ok("command -v lintian") then
      run(("lintian --fail-on error %s/lua-crit_*.changes"):format(top), top .. "/lintian.log")
    end

    -- Debian's Lua paths, the man page, completions, examples; no `crit`
    run(("dpkg-deb -c %s | awk '{print $6}' | sed 's|^\\.||'"):format(deb), top .. "/contents")
    local files = S.read(top .. "/contents")
    local multiarch = lines_of("dpkg-architecture -qDEB_HOST_MULTIARCH")[1]
    for _, path in ipairs({
      "/usr/bin/crit.lua",
      "/usr/lib/" .. multiarch .. "/lua/5.4/crit/core.so",
      "/usr/share/lua/5.4/crit/init.lua",
      "/usr/share/lua/5.4/crit/cli.lua",
      "/usr/share/lua/5.4/crit/cmd/x.lua",
      "/usr/share/man/man1/crit.lua.1.gz",
      "/usr/share/bash-completion/completions/crit.lua",
      "/usr/share/zsh/vendor-completions/_crit.lua",
      "/usr/share/doc/lua-crit/examples/checkpoint/pstree.img",
      "/usr/share/doc/lua-crit/api/index.html",
      "/usr/share/doc/lua-crit/copyright",
    }) do
      assert.matches("\n" .. path:gsub("%p", "%%%0") .. "\n", "\n" .. files, path)
    end
    assert.not_matches("\n/usr/bin/crit\n", "\n" .. files)

    finally(function() os.execute("apt-get purge -y -qq lua-crit >/dev/null 2>&1") end)
    run("apt-get install -y -qq --no-install-recommends " .. deb, top .. "/apt.log")
    -- the dump of `sleep 1000` in examples/checkpoint (README)
    assert.are.same({ "    PID   PGID    SID   COMM", "  30956  30956  30956   sleep" },
      lines_of("cd / && crit.lua x /usr/share/doc/lua-crit/examples/checkpoint ps"))
    local api = lines_of("cd / && lua5.4 -e 'print(package.searchpath(\"crit\", "
      .. "package.path), package.searchpath(\"crit.core\", package.cpath), require \"crit\"._VERSION)'")[1]
    assert.are.equal(("/usr/share/lua/5.4/crit/init.lua\t/usr/lib/%s/lua/5.4/crit/core.so\tlua-crit %s")
      :format(multiarch, version), api)
    assert.matches("^/usr/bin/lua5%.4", lines_of("head -c 64 /usr/bin/crit.lua")[1]:sub(3))
  end)
end)
