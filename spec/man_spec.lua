-- The man page and the shell completions are made from crit.lua's argparse
-- parsers (tools/gen-man.lua, Parser:get_*_complete): they list every
-- command and option --help lists, and the completion scripts are valid
-- bash and zsh that complete them.
local S = require "spec.support"

local cli = require "crit.cli"

local function sh_ok(cmd) return os.execute("( " .. cmd .. " ) >/dev/null 2>&1") == true end

-- A Lua of the same module paths as this run (make test-asan's too).
local function lua_cmd(code_or_file)
  return ("LUA_PATH='%s' LUA_CPATH='%s' lua5.4 %s"):format(package.path, package.cpath, code_or_file)
end

local function help_of(words)
  local out = S.lines_of("./crit.lua " .. words .. " --help")
  assert.is_true(#out > 3, words)
  return out
end

-- The labels of --help's Arguments, Options and Commands lists (or of the
-- one named `only`): "-i IN, --in IN", "--pretty", "decode".
local function labels(help_lines, only)
  local list, section = {}, nil
  for _, l in ipairs(help_lines) do
    if l == "" then
      section = nil
    elseif l:match("^%u%a*:$") then
      section = l
    elseif (section == "Arguments:" or section == "Options:" or section == "Commands:")
      and (not only or section == only) then
      local label = l:match("^   (%S.-)%s%s") or l:match("^   (%S.*)$")
      if label then list[#list + 1] = label end
    end
  end
  return list
end

-- The man page's source as plain text: roff escapes undone.
local function unroff(s)
  return (s:gsub("\\%-", "-"):gsub("\\e", "\\"):gsub("\\&", ""))
end

describe("crit.lua(1)", function()
  local page
  setup(function()
    page = table.concat(S.lines_of(lua_cmd("tools/gen-man.lua")), "\n") .. "\n"
  end)

  it("has every command of --help in a section of its own, with its usage", function()
    local commands = labels(help_of(""), "Commands:")
    assert.are.same(cli.COMMANDS, commands)
    for _, name in ipairs(commands) do
      assert.matches('\n%.SS "' .. name .. '"\n%.nf\ncrit%.lua ' .. name, page)
    end
  end)

  it("has every option and argument --help lists, in the right section", function()
    local sections = {}
    local text = unroff(page)
    for name, body in text:gmatch('\n%.SS "([%w_-]+)"\n(.-)%f[\n]') do sections[name] = body end
    for name in pairs(sections) do
      sections[name] = text:match('\n%.SS "' .. name .. '"\n(.-)\n%.S[SH] ')
    end
    sections[""] = unroff(page):match("\n%.SH OPTIONS\n(.-)\n%.SH ")
    local checked = 0
    for _, name in ipairs({ "", table.unpack(cli.COMMANDS) }) do
      assert.is_not_nil(sections[name], "no section for " .. name)
      for _, label in ipairs(labels(help_of(name), name == "" and "Options:" or nil)) do
        do
          local found = false
          for tp in sections[name]:gmatch("%.TP\n\\fB(.-)\\fR\n") do
            found = found or tp:find(label, 1, true) ~= nil
          end
          assert.is_true(found, ("%s: %s"):format(name, label))
          checked = checked + 1
        end
      end
    end
    assert.is_true(checked > 50, "only " .. checked .. " options checked")
  end)

  it("has the exit status and the examples of --help", function()
    assert.matches('\n%.SH "EXIT STATUS"\n', page)
    assert.matches('\n%.SH "EXAMPLES"\n', page)
    assert.matches("crit.lua x dump ps", unroff(page), 1, true)
  end)

  local have_groff = sh_ok("command -v groff")
  ;(have_groff and it or pending)("renders with groff without a warning", function()
    local d = S.tmpdir()
    S.write(d .. "/crit.lua.1", page)
    local r = S.lines_of(("groff -man -Tutf8 -ww -z %s/crit.lua.1 2>&1"):format(d))
    assert.are.same({}, r)
  end)
end)

describe("shell completion", function()
  local d
  before_each(function() d = S.tmpdir() end)
  after_each(S.cleanup)

  local function script(shell)
    local path = d .. "/" .. shell
    assert.is_true(os.execute(lua_cmd(("-e 'io.write(require(\"crit.cli\").parser():get_%s_complete())' > %s")
      :format(shell, path))))
    return path
  end

  -- bash's completions for the words typed so far (the last one being completed).
  local function complete(path, words)
    local cmd = ("bash -c 'source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _crit.lua; "
      .. "printf \"%%s\\n\" \"${COMPREPLY[@]}\"'"):format(path, table.concat(words, " "), #words - 1)
    return S.lines_of(cmd)
  end

  it("bash: valid, and completes every command and every option of a command", function()
    local path = script("bash")
    assert.is_true(sh_ok("bash -n " .. path))
    assert.are.same({ "decode" }, complete(path, { "crit.lua", "dec" }))
    assert.are.same({ "coredump" }, complete(path, { "crit.lua", "cor" }))
    for _, name in ipairs(cli.COMMANDS) do
      local offered = {}
      for _, w in ipairs(complete(path, { "crit.lua", name, "--" })) do offered[w] = true end
      for _, label in ipairs(labels(help_of(name))) do
        for long in label:gmatch("%-%-[%w-]+") do
          assert.is_true(offered[long] ~= nil, name .. ": " .. long .. " not completed")
        end
      end
    end
  end)

  local have_zsh = sh_ok("command -v zsh")
  ;(have_zsh and it or pending)("zsh: valid, and names every command", function()
    local path = script("zsh")
    assert.is_true(sh_ok("zsh -n " .. path))
    local text = S.read(path)
    assert.matches("^#compdef crit%.lua\n", text)
    for _, name in ipairs(cli.COMMANDS) do assert.matches("\n%s+" .. name .. "%)\n", text) end
  end)
end)
