-- crit.lua check: report what in a checkpoint directory would make
-- `criu restore` fail or lose data, over the checks of crit.check.
local checklib = require "crit.check"
local dirlib = require "crit.dir"
local stdio = require "crit.cmd.stdio"

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

   error    restore fails, or restores something else than was dumped.
   warning  restore needs an option (--shell-job, --ext-unix-sk), or
            something is odd but restorable.

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

Exit status: 0 when there is no error (warnings allowed), 1 when a check
found an error (or the directory cannot be read), 2 on wrong usage.]]

function check.add_to_parser(parser)
  local cmd = parser:command("check")
    :summary("Report what in a checkpoint would make a restore fail.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("DIR"):target("dir")
    :description("The checkpoint directory (criu dump's --images-dir).")
  cmd:flag("--json")
    :description("Write the findings as JSON: {dir, errors, warnings, findings: "
      .. "[{severity, check, image, entry, path, message}]}.")
  cmd:option("--with")
    :argname("CHECK.lua")
    :count("*")
    :description("Also run the check in this Lua file (a function(d, report)). Repeatable.")
  cmd:flag("--only")
    :description("Run only the --with checks, not the built-in ones.")
end

local function text_report(path, findings)
  local errors, warnings = checklib.counts(findings)
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
  if errors + warnings == 0 then
    out[#out + 1] = string_format("%s: no problems found\n", path)
  else
    out[#out + 1] = string_format("%s: %d error%s, %d warning%s\n", path, errors,
      errors == 1 and "" or "s", warnings, warnings == 1 and "" or "s")
  end
  return table_concat(out)
end

-- Built by hand from crit.json's values: the order of keys stays fixed.
local function json_report(path, findings)
  local json = require "crit.json"
  local errors, warnings = checklib.counts(findings)
  local items = {}
  for i, f in ipairs(findings) do
    local fields = {}
    for _, k in ipairs({ "severity", "check", "image", "entry", "path", "message" }) do
      local v = f[k]
      fields[#fields + 1] = json.encode(k) .. ":" .. json.encode(v)
    end
    items[i] = "{" .. table_concat(fields, ",") .. "}"
  end
  return string_format('{"dir":%s,"errors":%d,"warnings":%d,"findings":[%s]}\n',
    json.encode(path), errors, warnings, table_concat(items, ","))
end

function check.command(args)
  if args.only and #(args.with or {}) == 0 then return nil, "check: --only needs a --with check" end
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
  local report = args.json and json_report(args.dir, findings) or text_report(args.dir, findings)
  stdio.write_stdout(report)
  stdio.flush_stdout()
  local errors = checklib.counts(findings)
  if errors > 0 then return nil, string_format("check: %d error%s in %s", errors,
    errors == 1 and "" or "s", args.dir) end
  return true
end

return check
