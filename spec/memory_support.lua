-- Helpers for the memory, mem and coredump specs: small synthetic dumps
-- written with crit itself, and reading pages the way criu lays them out.
local crit = require "crit"
local S = require "spec.support"

local M = {}

M.PAGE = 4096
M.SHARED_CORPUS = S.CORPUS   -- spec/support.lua says where, and how to do without
M.PE_PARENT, M.PE_LAZY, M.PE_PRESENT = 1, 2, 4
-- vma_entry.status bits (criu/include/image.h)
M.VMA_REGULAR, M.VMA_FILE_PRIVATE, M.VMA_ANON_SHARED, M.VMA_ANON_PRIVATE = 1, 64, 256, 512
M.VMA_MEMFD = 1 << 14

--- The sleep dump of the fixtures (a whole directory) and its pid.
M.SLEEP = S.FIXTURES .. "/sleep"
M.SLEEP_PID = 30956
M.SLEEP_OLD = S.FIXTURES .. "/sleep-criu4.1.1"
M.SLEEP_OLD_PID = 8139
M.MISC = S.FIXTURES .. "/misc"

function M.have_corpus()
  return S.have_corpus()
end

function M.have(program)
  return os.execute("command -v " .. program .. " >/dev/null 2>&1") == true
end

--- A page of `fill` bytes that starts with `tag`.
function M.page(tag, fill)
  return (tag .. string.rep(fill or ".", M.PAGE)):sub(1, M.PAGE)
end

function M.write_image(path, magic, entries)
  local img = crit.new(magic)
  for _, e in ipairs(entries) do img:append(e) end
  assert(img:write(path))
end

function M.vma(start, stop, fields)
  local v = { start = start, ["end"] = stop, pgoff = 0, shmid = 0, prot = 3, flags = 0x22,
    status = M.VMA_REGULAR | M.VMA_ANON_PRIVATE, fd = -1 }
  for k, x in pairs(fields or {}) do v[k] = x end
  return v
end

local function mm_entry(vmas)
  return { mm_start_code = 0, mm_end_code = 0, mm_start_data = 0, mm_end_data = 0,
    mm_start_stack = 0, mm_start_brk = 0, mm_brk = 0, mm_arg_start = 0, mm_arg_end = 0,
    mm_env_start = 0, mm_env_end = 0, exe_file_id = 0, mm_saved_auxv = { 6, 4096, 0, 0 },
    vmas = vmas }
end

--- Write a pagemap (head + entries) and its pages image into dir.
---   pm = { pages_id = 1, entries = { {vaddr=, nr_pages=, flags=}, ... },
---          pages = "bytes of pages-N" }
function M.write_pagemap(dir, name, pm)
  local entries = { { pages_id = pm.pages_id } }
  for _, e in ipairs(pm.entries) do
    local x = { vaddr = e.vaddr, compat_nr_pages = e.compat_nr_pages or 0 }
    for k, v in pairs(e) do x[k] = v end
    entries[#entries + 1] = x
  end
  M.write_image(dir .. "/" .. name .. ".img", "PAGEMAP", entries)
  if pm.pages then S.write(dir .. "/pages-" .. pm.pages_id .. ".img", pm.pages) end
end

--- A dump directory with one task: mm (vmas), pagemap-PID, pages, and
--- any pagemap-shmem-ID given in shmem = { [id] = pm }.
function M.write_dump(dir, pid, vmas, pm, shmem)
  os.execute("mkdir -p '" .. dir .. "'")
  M.write_image(dir .. "/mm-" .. pid .. ".img", "MM", { mm_entry(vmas) })
  M.write_pagemap(dir, "pagemap-" .. pid, pm)
  for id, spm in pairs(shmem or {}) do M.write_pagemap(dir, "pagemap-shmem-" .. id, spm) end
  M.write_image(dir .. "/pstree.img", "PSTREE",
    { { pid = pid, ppid = 0, pgid = pid, sid = pid, threads = { pid } } })
end

--- The bytes at [addr, addr+len) computed by hand from a pagemap, as
--- criu's pagemap.c reads it: present entries' pages follow each other in
--- pages-N in pagemap order; nil if some byte is not present.
function M.by_hand(dir, pid, addr, len)
  local pm = assert(crit.open(dir .. "/pagemap-" .. pid .. ".img"))
  local pages = S.read(dir .. "/pages-" .. pm[1].pages_id .. ".img")
  local out, off = {}, 0
  for k = 2, #pm do
    local e = pm[k]
    local n = e.nr_pages or e.compat_nr_pages
    local present = e.flags == nil or e.flags & M.PE_PRESENT ~= 0
    local s, stop = e.vaddr, e.vaddr + n * M.PAGE
    for a = math.max(addr, s), math.min(addr + len, stop) - 1 do
      if present then out[a - addr + 1] = pages:sub(off + a - s + 1, off + a - s + 1) end
    end
    if present then off = off + n * M.PAGE end
  end
  for i = 1, len do if not out[i] then return nil end end
  return table.concat(out)
end

--- Run `crit.lua NAME ARGS...` in a child process: exit status, stdout, stderr.
function M.run(name, args)
  local words = { "./crit.lua", name }
  for _, a in ipairs(args) do words[#words + 1] = S.quote(a) end
  local r = S.sh(table.concat(words, " "))
  return r.code, r.out, r.err
end

return M
