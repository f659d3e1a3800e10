--- crit.check: find what in a checkpoint directory would make `criu restore`
-- fail or lose data. Runs checks, each a function of the directory, and
-- collects their findings.
--
-- A check is a Lua function check(d, report) -> nil | list of findings:
--   d       the crit.dir object of the dump (d:tasks(), d:image(name), ...)
--   report  report(severity, image, entry, path, message [, option]): one
--           finding. severity "error" (restore fails or loses data),
--           "warning" (restore needs an option, or changes behaviour) or
--           "provided" (a resource from outside the dump that the restorer
--           supplies: an external mount, an inherited fd);
--           image the file name ("mm-1.img"); entry the 1-based entry
--           index (as img[i]) or nil; path the field path inside the entry
--           ("vmas[3].start") or nil; message what is wrong; option the
--           criu restore option the finding asks for ("--shell-job",
--           "--external mnt[/data]:PATH"), or nil.
-- It may instead return a list of { severity=, image=, entry=, path=,
-- message=, option= } tables. A module file for `--with` returns the function, or a
-- table { name =, summary =, run = function(d, report) }. See docs/checks.md.
--
-- An error raised by a check becomes one finding of that check, unless the
-- check had read an image that the decode check reported corrupt. A
-- crit.Error gives the finding its image, entry and path; any other error
-- (a bug in the check) is the finding's message as it is.
local dirlib = require "crit.dir"
local layout = require "crit.layout"
local is_error = require("crit.core").is_error

local ipairs, pairs, type, pcall, tostring, error, require, loadfile, setmetatable =
  ipairs, pairs, type, pcall, tostring, error, require, loadfile, setmetatable
local string_format, table_sort, table_concat = string.format, table.sort, table.concat
local ult = math.ult

local check = {}

--- The built-in checks, in the order they run: crit.checks.<name>.
check.BUILTIN = {
  "inventory", "decode", "payloads", "tree", "tasks", "ids", "cgroups", "mounts", "seccomp", "fds", "files",
  "locks", "pipes", "sockets", "tcp", "vmas", "pagemap", "pages", "shmem", "parent",
  "headers", "epoll", "external", "options", "interrupted",
}

check.SEVERITIES = { error = true, warning = true, provided = true }

-- pagemap_entry.flags, as crit.layout has them.
check.PE_PARENT, check.PE_LAZY, check.PE_PRESENT = layout.PE.PARENT, layout.PE.LAZY, layout.PE.PRESENT

---------------------------------------------------------------------------
-- Helpers for checks (built-in and user-written).

--- check.files_in(path) -> sorted list of the names in a directory.
check.files_in = layout.list

--- check.image_names(d, pattern) -> the image names (no ".img") in the
--- directory whose file name matches the Lua pattern, sorted.
function check.image_names(d, pattern)
  local out = {}
  for _, f in ipairs(layout.list(d.path)) do
    local name = layout.image_name(f)
    if name and f:match(pattern) then out[#out + 1] = name end
  end
  return out
end

--- check.state(d, task) -> "alive", "dead", "zombie", "stopped", a number,
--- or nil when the task has no core image (the tasks check reports that).
--- A corrupt core (the decode check's to report) reads as nil too, so that
--- one bad image does not stop the checks of every other task.
function check.state(d, t)
  if not d:has("core-" .. t.pid) then return nil end
  local ok, s = pcall(function() return t.state end)
  if ok then return s end
  return nil
end

--- check.zombie(d, pid) -> whether the core image of pid says the task is
--- a zombie (criu saves it as dead). criu leaves a zombie's thread list in
--- pstree.img undefined.
--- A corrupt core (the decode check's to report) reads as not a zombie.
function check.zombie(d, pid)
  if not d:has("core-" .. pid) then return false end
  local ok, core = pcall(d.core, d, pid)
  local s = ok and core.tc and dirlib.TASK_STATES[core.tc.task_state]
  return s == "dead" or s == "zombie"
end

--- check.needs_memory(d, task) -> whether criu dumped the task's ids, mm,
--- fs and pagemap: every task but a zombie (criu saves it as dead).
function check.needs_memory(d, t)
  local s = check.state(d, t)
  return s ~= nil and s ~= "dead" and s ~= "zombie"
end

--- check.live_tasks(d) -> the tasks that have their memory and files
--- dumped (not zombies, core present); {} when pstree is missing.
function check.live_tasks(d)
  local tasks = d:tasks()
  local out = {}
  for _, t in ipairs(tasks or {}) do
    if check.needs_memory(d, t) then out[#out + 1] = t end
  end
  return out
end

--- check.page_size(d, pid) -> the task's page size from its auxv, or 4096
--- (no pid, or no mm image).
function check.page_size(d, pid)
  return layout.page_size(pid and d:has("mm-" .. pid) and d:mm_head(pid) or nil)
end

--- check.entry_flags(pagemap_entry) -> PE_* flags, as criu reads old
--- entries: in_parent means PE_PARENT, no flags at all PE_PRESENT.
check.entry_flags = layout.pagemap_flags

check.nr_pages = layout.nr_pages

--- check.pagemap_runs(img, report, bound) checks the entries 2.. of a
--- pagemap image: page-aligned, sorted, not overlapping, and (when bound is
--- given) ending at or below bound. Returns the present page count.
function check.pagemap_runs(img, file, page_size, report, bound)
  local present, prev_start, prev_end = 0, nil, nil
  for k, e in img:entries() do
    if k > 1 then
      local vaddr, n = e.vaddr, check.nr_pages(e) or 0
      local stop = vaddr + n * page_size
      if vaddr % page_size ~= 0 then
        report("error", file, k, "vaddr", string_format("0x%x is not page-aligned", vaddr))
      end
      if n == 0 then
        report("warning", file, k, "nr_pages", "an entry of no pages")
      end
      if prev_start and ult(vaddr, prev_start) then
        report("error", file, k, "vaddr", string_format(
          "0x%x: entries not sorted (entry %d starts at 0x%x)", vaddr, k - 1, prev_start))
      elseif prev_end and ult(vaddr, prev_end) then
        report("error", file, k, "vaddr", string_format(
          "0x%x overlaps entry %d (0x%x-0x%x)", vaddr, k - 1, prev_start, prev_end))
      end
      if bound and ult(bound, stop) then
        report("error", file, k, "nr_pages", string_format(
          "0x%x-0x%x goes past the end of the segment (0x%x bytes)", vaddr, stop, bound))
      end
      if layout.page_kind(layout.pagemap_flags(e)) == "present" then present = present + n end
      prev_start, prev_end = vaddr, stop
    end
  end
  return present
end

---------------------------------------------------------------------------
-- Running checks.

--- check.load(path) -> { name =, run = } from a user's check file.
function check.load(path)
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  local ok, mod = pcall(chunk)
  if not ok then return nil, path .. ": " .. tostring(mod) end
  local name = path:match("([^/]+)%.lua$") or path
  if type(mod) == "function" then return { name = name, run = mod } end
  if type(mod) == "table" and type(mod.run) == "function" then
    return { name = mod.name or name, summary = mod.summary, run = mod.run }
  end
  return nil, path .. ": a check file must return a function or a table with run"
end

--- check.builtin(name) -> the built-in check { name, summary, run }.
function check.builtin(name)
  return require("crit.checks." .. name)
end

--- check.error_parts(err) -> image, entry, path, message: where a raised
--- error is, as a finding says it. A crit.Error gives its fields (image:
--- the base name of its file); anything else is a message and nothing more.
function check.error_parts(err)
  if not is_error(err) then return nil, nil, nil, tostring(err) end
  return err.file and err.file:match("([^/]*)$"), err.entry, err.path, err.message
end

local SEVERITY_ORDER = { error = 1, warning = 2, provided = 3 }

local image_file = layout.image_file

-- A view of d for one check that notes which images the check reads: when
-- the check fails on an image the decode check found corrupt, the decode
-- finding already says what is wrong.
local function watched(d)
  local read = {}
  local view = setmetatable({}, { __index = d })
  function view.image(self, name)
    read[image_file(name)] = true
    return d.image(self, name)
  end
  return view, read
end

--- check.MAX_FINDINGS: the findings of one severity that one check
--- lists on one image; the rest make one finding "and N more like these"
--- whose `count` is N. A hostile image of a million bad entries makes
--- a report of pages, not of a million lines (and memory to match).
check.MAX_FINDINGS = 1000

--- check.run(d [, checks]) -> findings, each { severity, check, image,
--- entry, path, message }, errors first, then in the order found.
--- checks: a list of { name =, run = } (default: every built-in check).
function check.run(d, checks)
  if not checks then
    checks = {}
    for _, name in ipairs(check.BUILTIN) do checks[#checks + 1] = check.builtin(name) end
  end
  local findings, broken, failures = {}, d.broken_images or {}, {}
  d.broken_images = broken
  for _, c in ipairs(checks) do
    local view, read = watched(d)
    local kept, left = {}, {} -- image .. severity -> findings kept, left out
    local function report(severity, image, entry, path, message, option)
      if not check.SEVERITIES[severity] then
        error("report: severity must be 'error', 'warning' or 'provided', got " .. tostring(severity), 2)
      end
      local key = tostring(image) .. "\0" .. severity
      local n = (kept[key] or 0) + 1
      if n > check.MAX_FINDINGS then
        local l = left[key]
        if not l then
          l = { severity = severity, check = c.name, image = image, count = 0 }
          left[key] = l
          left[#left + 1] = l
        end
        l.count = l.count + 1
        return
      end
      kept[key] = n
      findings[#findings + 1] = {
        severity = severity, check = c.name, image = image, entry = entry,
        path = path, message = tostring(message), option = option,
      }
    end
    local ok, result = pcall(c.run, view, report)
    if not ok then
      failures[#failures + 1] = { report = report, read = read, err = result }
    elseif type(result) == "table" then
      for _, f in ipairs(result) do
        report(f.severity or "error", f.image, f.entry, f.path, f.message, f.option)
      end
    end
    for _, l in ipairs(left) do
      findings[#findings + 1] = {
        severity = l.severity, check = l.check, image = l.image, count = l.count,
        message = string_format("and %d more like these, not listed", l.count),
      }
    end
  end
  -- Decided once every check ran: the decode check may come later.
  for _, fail in ipairs(failures) do
    local image, entry, path, what = check.error_parts(fail.err)
    local explained = image and broken[image]
    for file in pairs(fail.read) do explained = explained or broken[file] end
    if not explained then fail.report("error", image, entry, path, "check failed: " .. what) end
  end
  for i, f in ipairs(findings) do f.order = i end
  table_sort(findings, function(a, b)
    local sa, sb = SEVERITY_ORDER[a.severity], SEVERITY_ORDER[b.severity]
    if sa ~= sb then return sa < sb end
    return a.order < b.order
  end)
  for _, f in ipairs(findings) do f.order = nil end
  return findings
end

--- check.where(finding) -> "mm-1.img entry 1 vmas[3].start".
function check.where(f)
  local parts = { f.image or "(dump)" }
  if f.entry then parts[#parts + 1] = "entry " .. f.entry end
  if f.path then parts[#parts + 1] = f.path end
  return table_concat(parts, " ")
end

--- check.counts(findings) -> errors, warnings, provided.
function check.counts(findings)
  local n = { error = 0, warning = 0, provided = 0 }
  for _, f in ipairs(findings) do n[f.severity] = n[f.severity] + (f.count or 1) end
  return n.error, n.warning, n.provided
end

--- check.restore_options(findings) -> the criu restore options the
--- findings ask for, each once, in the order found: what `criu restore`
--- needs to restore this dump ("--tcp-established", "--inherit-fd
--- fd[1]:pipe:[191583]", "--external mnt[/data]:PATH").
function check.restore_options(findings)
  local seen, out = {}, {}
  for _, f in ipairs(findings) do
    local o = f.option
    if o and not seen[o] then
      seen[o] = true
      out[#out + 1] = o
    end
  end
  return out
end

return check
