-- crit.lua check: report what in a checkpoint directory would make
-- `criu restore` fail or lose data, over the checks of crit.check.
local checklib = require "crit.check"
local dirlib = require "crit.dir"
local stdio = require "crit.cmd.stdio"
local usage = require "crit.cmd.usage"

local ipairs, tostring, string_format = ipairs, tostring, string.format
local table_concat = table.concat

local check = {}


local function builtin_list()
  local lines = {}
  for _, name in ipairs(checklib.BUILTIN) do
    lines[#lines + 1] = string_format("   %-10s %s", name, checklib.builtin(name).summary or "")
  end
  return table_concat(lines, "\n")
end

local DESCRIPTION = [[
Check a checkpoint directory: report every inconsistency that would make
`criu restore` fail or lose data. Each finding names the image, the entry
(counted from 1, as crit.lua show numbers them) and the field path, with a
severity:

   error     restore fails, or restores something else than was dumped.
   warning   restore needs an option (--shell-job, --ext-unix-sk), or it
             restores but behaves otherwise (a lock or a peer is lost).
   provided  a resource outside the dump that the restorer supplies, as
             container engines do: an external mount, an external or empty
             network namespace, an inherited pipe or tty. Not an error.

A finding that needs a criu option names it ("restore needs
--tcp-established", "--external mnt[/etc/hosts]:PATH"); --restore-options
prints them all on one line, for `criu restore $(...)`. Values only the
restorer knows are written in capitals: PATH (where the external mount's
contents are on this host), FD (an fd of criu open on the namespace).
The verdict is for a restore with those options.

The checks, in the order they run:
]] .. builtin_list() .. [[


Pgids and sids of tasks outside the dump, zombies (criu saves only their
core) and sockets outside the dump are legal and not errors. The images are
read, never written. A check is a Lua function of the directory: write your
own and run it with --with (see docs/checks.md).]]

local EPILOG = [[
Examples:
   crit.lua check dump
   crit.lua check dump --json | jq '.findings[] | select(.severity == "error")'
   crit.lua check dump --with examples/checks/no-root-cwd.lua
   crit.lua check dump --only --with mycheck.lua
   criu restore -D dump $(crit.lua check dump --restore-options)

Exit status: 0 when there is no error (warnings and provided resources
allowed), 1 when a check found an error (or the directory cannot be read),
2 on wrong usage (an unknown option, a missing argument, --only without
--with).]]

function check.add_to_parser(parser)
  local cmd = parser:command("check")
    :summary("Report what in a checkpoint would make a restore fail.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("DIR"):target("dir")
    :description("The checkpoint directory (criu dump's --images-dir), or a\n"
      .. "container checkpoint archive (podman, CRI-O: tar, gzip or zstd).")
  cmd:flag("--json")
    :description("Write the findings as JSON: {dir, errors, warnings, provided, options, findings: "
      .. "[{severity, check, image, entry, path, message, option}]}.")
  cmd:flag("--restore-options")
    :description("Print only the criu restore options the dump needs, on one line (empty when "
      .. "it needs none); the exit status is still 1 on errors.")
  cmd:option("--with")
    :argname("CHECK.lua")
    :count("*")
    :description("Also run the check in this Lua file (a function(d, report)). Repeatable.")
  cmd:flag("--only")
    :description("Run only the --with checks, not the built-in ones.")
  usage.check(cmd, function(args)
    if args.only and #args.with == 0 then return "--only needs a --with check" end
  end)
end

local function plural(n, word)
  return string_format("%d %s%s", n, word, n == 1 and "" or "s")
end

--- check.text_report(path, findings) -> the text report (also capture --check's).
function check.text_report(path, findings)
  local errors, warnings, provided = checklib.counts(findings)
  local out = {}
  local function section(severity, title, n)
    if n == 0 then return end
    out[#out + 1] = string_format("%s (%d):\n", title, n)
    for _, f in ipairs(findings) do
      if f.severity == severity then
        out[#out + 1] = string_format("  %s: %s [%s]\n", checklib.where(f), f.message, f.check)
      end
    end
  end
  section("error", "Errors", errors)
  section("warning", "Warnings", warnings)
  section("provided", "Provided by the restorer", provided)
  local options = checklib.restore_options(findings)
  if #options > 0 then
    out[#out + 1] = "Restore with: " .. table_concat(options, " ") .. "\n"
  end
  if errors + warnings + provided == 0 then
    out[#out + 1] = string_format("%s: no problems found\n", path)
  else
    local tail = provided > 0 and ", " .. plural(provided, "resource") .. " from the restorer" or ""
    out[#out + 1] = string_format("%s: %s, %s%s\n", path, plural(errors, "error"),
      plural(warnings, "warning"), tail)
  end
  return table_concat(out)
end

-- Built by hand from crit.json's values: the order of keys stays fixed.
local function json_report(path, findings)
  local json = require "crit.json"
  local errors, warnings, provided = checklib.counts(findings)
  local items, options = {}, {}
  for i, o in ipairs(checklib.restore_options(findings)) do options[i] = json.encode(o) end
  for i, f in ipairs(findings) do
    local fields = {}
    for _, k in ipairs({ "severity", "check", "image", "entry", "path", "message", "option" }) do
      local v = f[k]
      fields[#fields + 1] = json.encode(k) .. ":" .. json.encode(v)
    end
    items[i] = "{" .. table_concat(fields, ",") .. "}"
  end
  return string_format('{"dir":%s,"errors":%d,"warnings":%d,"provided":%d,"options":[%s],"findings":[%s]}\n',
    json.encode(path), errors, warnings, provided, table_concat(options, ","), table_concat(items, ","))
end

function check.command(args)
  local d, err = dirlib.open(args.dir)
  if not d then return nil, err end
  local checks = {}
  if not args.only then
    for _, name in ipairs(checklib.BUILTIN) do checks[#checks + 1] = checklib.builtin(name) end
  end
  for _, path in ipairs(args.with or {}) do
    local c, lerr = checklib.load(path)
    if not c then return nil, "--with " .. tostring(lerr) end
    checks[#checks + 1] = c
  end
  local findings = checklib.run(d, checks)
  local report
  if args.restore_options then
    report = table_concat(checklib.restore_options(findings), " ") .. "\n"
  elseif args.json then
    report = json_report(args.dir, findings)
  else
    report = check.text_report(args.dir, findings)
  end
  stdio.write_stdout(report)
  stdio.flush_stdout()
  local errors = checklib.counts(findings)
  if errors > 0 then return nil, string_format("check: %d error%s in %s", errors,
    errors == 1 and "" or "s", args.dir) end
  return true
end

return check
