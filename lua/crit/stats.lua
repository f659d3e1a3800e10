--- What a checkpoint directory holds, in figures: processes, memory, files,
-- sockets, namespaces, pages and criu's own dump statistics. collect()
-- gathers them over crit.dir; text() and json() present them.
--
--   local r = stats.collect(assert(dir.open("dump")))
--   io.write(stats.text(r))
local dir = require "crit.dir"
local layout = require "crit.layout"
local json = require "crit.json"
local u64 = require("crit").u64

local ipairs, pairs, tostring, tonumber, error, select =
  ipairs, pairs, tostring, tonumber, error, select
local math_type = math.type
local string_format, string_rep = string.format, string.rep
local table_concat, table_sort = table.concat, table.sort

local stats = {}

-- The value, or raise its error (an image the dump must have).
local function need(v, err)
  if v == nil then error(err, 0) end
  return v
end

-- Count into a table of { key = n }, kept as a sorted list by to_list().
local function bump(t, key, n)
  t[key] = (t[key] or 0) + (n or 1)
end

local function to_list(t, fields)
  local list = {}
  for k, v in pairs(t) do list[#list + 1] = { key = k, value = v } end
  table_sort(list, function(a, b) return tostring(a.key) < tostring(b.key) end)
  if not fields then return list end
  local out = {}
  for i, kv in ipairs(list) do out[i] = fields(kv.key, kv.value) end
  return out
end

---------------------------------------------------------------------------
-- Gathering.

-- The kind a VMA is counted under: heap and stack are anonymous memory
-- that criu marks; the rest is what backs the mapping.
local function vma_class(vma)
  return dir.vma_role(vma) or dir.vma_kind(vma.status)
end

-- Read a few fields at a time from the image: no table per VMA.
local function task_vmas(d, pid)
  local by_kind, count, size = {}, 0, 0
  local vma = {} -- refilled for each VMA, for vma_class
  for _, start, stop, status, flags in need(d:vma_fields(pid, "start", "end", "status", "flags")) do
    local len = stop - start
    vma.status, vma.flags = status, flags
    local k = vma_class(vma)
    local b = by_kind[k]
    if not b then
      b = { count = 0, size = 0 }
      by_kind[k] = b
    end
    b.count, b.size = b.count + 1, b.size + len
    count, size = count + 1, size + len
  end
  return {
    count = count, size = size,
    by_kind = to_list(by_kind, function(k, b) return { kind = k, count = b.count, size = b.size } end),
  }
end

local function task_fds(d, pid)
  local by_type, count = {}, 0
  for _, ftype in need(d:fd_fields(pid, "type")) do
    bump(by_type, tostring(ftype))
    count = count + 1
  end
  return { count = count, by_type = to_list(by_type, function(k, n) return { type = k, count = n } end) }
end

-- A pagemap's figures, from its head and an iterator of its other
-- entries (each decoded as it comes, none kept); `layout` names the field
-- that holds the counts.
local function pagemap_figures(name, head, entries)
  local n, first = { present = 0, lazy = 0, parent = 0 }, nil
  for e in entries do
    first = first or e
    local kind = layout.page_kind(layout.pagemap_flags(e))
    if kind then n[kind] = n[kind] + (dir.nr_pages(e) or 0) end
  end
  return { name = name, pages_id = head.pages_id, pages = n.present, lazy = n.lazy, parent = n.parent,
    layout = first and dir.pagemap_layout(first), criu = first and select(2, dir.pagemap_layout(first)) }
end

-- One task's figures; a zombie has only its core.
local function collect_task(d, t, pagemaps)
  local r = {
    pid = t.pid, ppid = t.ppid, pgid = t.pgid, sid = t.sid, comm = t.comm,
    -- criu saves a zombie as "dead": people know it as a zombie.
    state = t.zombie and "zombie" or tostring(t.state), threads = #t.threads,
  }
  if t.zombie and not d:has("mm-" .. t.pid) then return r end
  r.vmas = task_vmas(d, t.pid)
  r.fds = task_fds(d, t.pid)
  local head, entries = d:pagemap_entries(t.pid)
  if head then
    local pm = pagemap_figures("pagemap-" .. t.pid, head, entries)
    r.pages, r.lazy_pages, r.parent_pages = pm.pages, pm.lazy, pm.parent
    r.memory_dumped = pm.pages * d:page_size(t.pid)
    pagemaps[#pagemaps + 1] = pm
  end
  return r
end

local function collect_shmem(d, pagemaps)
  for _, name in ipairs(d:names()) do
    local kind, id = dir.kind(name)
    if kind == "pagemap-shmem" then
      local head, entries = d:shmem_pagemap_entries(tonumber(id))
      if head then
        pagemaps[#pagemaps + 1] = pagemap_figures(name, head, entries)
      end
    end
  end
end

-- The pages-N images, each with its size and the pagemaps that point to it.
local function collect_pages(d, pagemaps)
  local by_id, list, total = {}, {}, { pages = 0, bytes = 0, pages_expected = 0 }
  local page_size = d:page_size()
  for _, name in ipairs(d:names()) do
    local kind, id = dir.kind(name)
    if kind == "pages" then
      local bytes = need(d:size(name))
      local p = { name = name, bytes = bytes, pages = bytes // page_size, pages_expected = 0,
        pagemaps = {} }
      by_id[tonumber(id)] = p
      list[#list + 1] = p
      total.pages, total.bytes = total.pages + p.pages, total.bytes + bytes
    end
  end
  for _, pm in ipairs(pagemaps) do
    local p = by_id[pm.pages_id]
    if p then
      p.pages_expected = p.pages_expected + pm.pages
      p.pagemaps[#p.pagemaps + 1] = pm.name
    end
    total.pages_expected = total.pages_expected + pm.pages
  end
  table_sort(list, function(a, b) return a.bytes > b.bytes or (a.bytes == b.bytes and a.name < b.name) end)
  total.images = list
  return total
end

local function collect_files(d)
  local by_type, count = d:file_types()
  return { count = count, by_type = to_list(by_type, function(k, n) return { type = k, count = n } end) }
end

local function collect_sockets(d)
  local groups, socks = {}, d:sockets()
  for _, s in ipairs(socks) do
    local key = table_concat({ tostring(s.family), tostring(s.type or "-"), tostring(s.state or "-") }, "\0")
    bump(groups, key)
  end
  return {
    count = #socks,
    groups = to_list(groups, function(k, n)
      local family, stype, state = k:match("^(.-)%z(.-)%z(.*)$")
      return { family = family, type = stype, state = state, count = n }
    end),
  }
end

local function collect_images(d)
  local count, bytes = 0, 0
  for _, name in ipairs(d:names()) do
    count = count + 1
    bytes = bytes + (d:size(name) or 0)
  end
  return count, bytes
end

-- How the dump's images are written: header format, inventory fields, and
-- the pagemap layout that tells criu 4.2 from older.
local function collect_format(d, pagemaps)
  local f = {}
  -- inventory.img has only its own magic: the header format shows in pstree.
  local tree = d:image("pstree")
  f.header = tree and tree.version
  if d:has("inventory") then
    local inv = d:inventory()
    f.img_version = inv.img_version
    f.lsm = inv.lsmtype and tostring(inv.lsmtype)
    f.fdinfo_per_id, f.ns_per_id = inv.fdinfo_per_id, inv.ns_per_id
    f.dump_criu_run_id = inv.dump_criu_run_id
    f.network_lock_method = inv.network_lock_method
    f.plugins = inv.plugins_entry and inv.plugins_entry.plugins
  end
  for _, pm in ipairs(pagemaps) do
    if pm.layout then
      f.pagemap, f.criu = pm.layout, pm.criu
      break
    end
  end
  return f
end

--- collect(d [, progress]) -> the report: a table of plain figures (see
--- the module header of crit.cmd.stats for what is in it). progress, if
--- given, is called as progress(done, total, what) while tasks are read.
function stats.collect(d, progress)
  local tasks = need(d:tasks())
  local r = { dir = d.path, processes = #tasks, threads = 0, zombies = 0, stopped = 0, tasks = {} }
  local pagemaps = {}
  for i, t in ipairs(tasks) do
    if progress then progress(i, #tasks, "task " .. t.pid) end
    local tr = collect_task(d, t, pagemaps)
    r.tasks[i] = tr
    r.threads = r.threads + tr.threads
    if t.zombie then r.zombies = r.zombies + 1 end
    if t.stopped then r.stopped = r.stopped + 1 end
  end
  collect_shmem(d, pagemaps)
  r.pagemaps = pagemaps
  r.pages = collect_pages(d, pagemaps)
  r.files = collect_files(d)
  r.sockets = collect_sockets(d)
  r.namespaces = {}
  for i, ns in ipairs(d:namespaces()) do
    r.namespaces[i] = { kind = ns.kind, id = ns.id, pids = ns.pids, root = ns.root, images = ns.images }
  end
  r.images, r.images_bytes = collect_images(d)
  r.format = collect_format(d, pagemaps)
  r.dump_stats = d:has("stats-dump") and d:stats("dump") or nil
  r.restore_stats = d:has("stats-restore") and d:stats("restore") or nil
  return r
end

---------------------------------------------------------------------------
-- Text.

--- human(bytes) -> "13.3 MiB", "512 B".
function stats.human(n)
  if n < 1024 then return string_format("%d B", n) end
  local units, v, i = { "KiB", "MiB", "GiB", "TiB", "PiB" }, n / 1024, 1
  while v >= 1024 and i < #units do v, i = v / 1024, i + 1 end
  return string_format(v < 10 and "%.2f %s" or (v < 100 and "%.1f %s" or "%.0f %s"), v, units[i])
end
local human = stats.human

-- Columns: rows of strings, right-aligned but for the columns in `left`.
local function columns(out, indent, header, rows, left)
  local width = {}
  for c, h in ipairs(header) do width[c] = #h end
  for _, row in ipairs(rows) do
    for c, cell in ipairs(row) do
      if #cell > width[c] then width[c] = #cell end
    end
  end
  local function line(row)
    local cells = {}
    for c = 1, #header do
      local cell, pad = row[c] or "", string_rep(" ", width[c] - #(row[c] or ""))
      cells[c] = left[c] and cell .. pad or pad .. cell
    end
    out(indent .. table_concat(cells, "  "):gsub("%s+$", "") .. "\n")
  end
  if header[1] ~= "" then line(header) end
  for _, row in ipairs(rows) do line(row) end
end

local function micro(us)
  if us == nil then return "-" end
  if us >= 1000000 then return string_format("%.2f s", us / 1e6) end
  if us >= 1000 then return string_format("%.2f ms", us / 1e3) end
  return string_format("%d us", us)
end

local function num(v)
  if v == nil then return "-" end
  if math_type(v) == "integer" then return u64.tostring(v) end
  return tostring(v)
end

local DUMP_STATS = {
  { "freezing_time", "freezing time", micro }, { "frozen_time", "frozen time", micro },
  { "memdump_time", "memory dump time", micro }, { "memwrite_time", "memory write time", micro },
  { "pages_scanned", "pages scanned" }, { "pages_skipped_parent", "pages skipped (in parent)" },
  { "pages_written", "pages written" }, { "pages_lazy", "pages lazy" },
  { "page_pipes", "page pipes" }, { "page_pipe_bufs", "page pipe buffers" },
  { "shpages_scanned", "shmem pages scanned" },
  { "shpages_skipped_parent", "shmem pages skipped (in parent)" },
  { "shpages_written", "shmem pages written" }, { "irmap_resolve", "irmap resolve time", micro },
}
stats.DUMP_STATS = DUMP_STATS
local RESTORE_STATS = {
  { "forking_time", "forking time", micro }, { "restore_time", "restore time", micro },
  { "pages_compared", "pages compared" }, { "pages_skipped_cow", "pages skipped (COW)" },
  { "pages_restored", "pages restored" },
}

local function text_header(r, out)
  local f = r.format
  out(string_format("Checkpoint %s\n", r.dir))
  local rows = {
    { "images", string_format("%d files, %s", r.images, human(r.images_bytes)) },
  }
  if f.criu then rows[#rows + 1] = { "criu", f.criu .. " (pagemap counts in " .. f.pagemap .. ")" } end
  if f.img_version then
    rows[#rows + 1] = { "image format", string_format("header %s, inventory img_version %d%s%s",
      f.header, f.img_version, f.fdinfo_per_id and ", fdinfo per id" or "",
      f.ns_per_id and ", ns per id" or "") }
  end
  if f.lsm then rows[#rows + 1] = { "lsm", f.lsm } end
  if f.dump_criu_run_id then rows[#rows + 1] = { "criu run id", f.dump_criu_run_id } end
  if f.plugins and #f.plugins > 0 then rows[#rows + 1] = { "plugins", table_concat(f.plugins, ", ") } end
  columns(out, "  ", { "", "" }, rows, { true, true })
  out(string_format("\nProcesses %d, threads %d, zombies %d, stopped %d\n\n",
    r.processes, r.threads, r.zombies, r.stopped))
end

-- A long line folded at the spaces before `width`, the rest indented.
local function wrap(line, width, indent)
  local lines, cur = {}, ""
  for word in line:gmatch("%S+") do
    local lead = cur == "" and (#lines == 0 and line:match("^%s*") or indent) or cur .. " "
    if cur ~= "" and #lead + #word > width then
      lines[#lines + 1] = cur
      cur = indent .. word
    else
      cur = lead .. word
    end
  end
  lines[#lines + 1] = cur
  return table_concat(lines, "\n") .. "\n"
end

local function text_tasks(r, out)
  local rows = {}
  for _, t in ipairs(r.tasks) do
    rows[#rows + 1] = {
      tostring(t.pid), tostring(t.ppid), t.state, tostring(t.threads),
      t.fds and tostring(t.fds.count) or "-", t.vmas and tostring(t.vmas.count) or "-",
      t.vmas and human(t.vmas.size) or "-", t.memory_dumped and human(t.memory_dumped) or "-",
      t.comm or "",
    }
  end
  columns(out, "  ", { "PID", "PPID", "STATE", "THREADS", "FDS", "VMAS", "MAPPED", "DUMPED", "COMM" },
    rows, { [3] = true, [9] = true })
  for _, t in ipairs(r.tasks) do
    out(string_format("\nProcess %d (%s): %s", t.pid, t.comm or "?", t.state))
    if not t.vmas then
      out(", only its core image\n")
    else
      out(string_format(", %s dumped in %d pages", human(t.memory_dumped or 0), t.pages or 0))
      if (t.lazy_pages or 0) > 0 then out(string_format(", %d lazy", t.lazy_pages)) end
      if (t.parent_pages or 0) > 0 then out(string_format(", %d in parent", t.parent_pages)) end
      out("\n")
      local kinds = {}
      for _, k in ipairs(t.vmas.by_kind) do kinds[#kinds + 1] = { k.kind, tostring(k.count), human(k.size) } end
      kinds[#kinds + 1] = { "total", tostring(t.vmas.count), human(t.vmas.size) }
      columns(out, "    ", { "VMA KIND", "COUNT", "SIZE" }, kinds, { true })
      local fds = {}
      for _, ft in ipairs(t.fds.by_type) do fds[#fds + 1] = ft.type .. " " .. ft.count end
      out(wrap(string_format("    fds %d: %s", t.fds.count, #fds > 0 and table_concat(fds, ", ") or "none"),
        78, "      "))
    end
  end
end

local function text_files(r, out)
  out(string_format("\nFiles %d\n", r.files.count))
  local rows = {}
  for _, ft in ipairs(r.files.by_type) do rows[#rows + 1] = { ft.type, tostring(ft.count) } end
  if #rows > 0 then columns(out, "  ", { "TYPE", "COUNT" }, rows, { true }) end
  out(string_format("\nSockets %d\n", r.sockets.count))
  rows = {}
  for _, g in ipairs(r.sockets.groups) do rows[#rows + 1] = { g.family, g.type, g.state, tostring(g.count) } end
  if #rows > 0 then
    columns(out, "  ", { "FAMILY", "TYPE", "STATE", "COUNT" }, rows, { true, true, true })
  end
end

local function text_namespaces(r, out)
  out(string_format("\nNamespaces %d\n", #r.namespaces))
  local rows = {}
  for _, ns in ipairs(r.namespaces) do
    local who = #ns.pids > 0 and tostring(#ns.pids) or "-"
    rows[#rows + 1] = { ns.kind, tostring(ns.id), who, ns.root and "yes" or "",
      #ns.images > 0 and table_concat(ns.images, " ") or "" }
  end
  if #rows > 0 then
    columns(out, "  ", { "KIND", "ID", "TASKS", "ROOT", "IMAGES" }, rows, { true, [4] = true, [5] = true })
    out("  (ROOT: the namespace criu itself ran in, inventory root_ids)\n")
  end
end

local function text_pages(r, out)
  local p = r.pages
  out(string_format("\nPages %d (%s) in %d pages images\n", p.pages, human(p.bytes), #p.images))
  local rows = {}
  for _, img in ipairs(p.images) do
    local mark = img.pages ~= img.pages_expected and string_format(" (pagemaps say %d)", img.pages_expected) or ""
    rows[#rows + 1] = { img.name, tostring(img.pages) .. mark, human(img.bytes), table_concat(img.pagemaps, " ") }
  end
  if #rows > 0 then columns(out, "  ", { "IMAGE", "PAGES", "SIZE", "PAGEMAPS" }, rows, { true, [4] = true }) end
end

local function text_dump_stats(r, out)
  local s = r.dump_stats
  if not s then
    out("\nNo dump statistics (stats-dump)\n")
    return
  end
  out("\nDump statistics (stats-dump)\n")
  local rows = {}
  for _, d in ipairs(DUMP_STATS) do
    local v = s[d[1]]
    if v ~= nil then rows[#rows + 1] = { d[2], (d[3] or num)(v) } end
  end
  columns(out, "  ", { "", "" }, rows, { true })
  local rs = r.restore_stats
  if rs then
    out("\nRestore statistics (stats-restore)\n")
    rows = {}
    for _, d in ipairs(RESTORE_STATS) do
      local v = rs[d[1]]
      if v ~= nil then rows[#rows + 1] = { d[2], (d[3] or num)(v) } end
    end
    columns(out, "  ", { "", "" }, rows, { true })
  end
end

--- text(report) -> the report as text for people.
function stats.text(r)
  local parts = {}
  local function out(s) parts[#parts + 1] = s end
  text_header(r, out)
  text_tasks(r, out)
  text_files(r, out)
  text_namespaces(r, out)
  text_pages(r, out)
  text_dump_stats(r, out)
  return table_concat(parts)
end

---------------------------------------------------------------------------
-- JSON.

-- The report's tables that are objects even when empty.
local OBJECTS = { format = true, dump_stats = true, restore_stats = true }

--- json(report) -> the report as one JSON object and a newline: the keys of
--- the report table (sorted), lists as arrays (empty ones as []).
function stats.json(r)
  return json.encode(r, OBJECTS) .. "\n"
end

return stats
