-- Write a synthetic checkpoint shaped like the corpus's `bigmem` dump (see
-- ../shared/corpus/recipe/bigmem.c), for benchmarks where no criu can
-- make the real one: MiB + MiB/16 MiB of private anonymous memory, every
-- 16th page a hole, split into 80-page VMAs (alternately r-- and rw-),
-- each present page starting with "CRIT-CORPUS-MARKER page=<n>".
--   lua5.4 tools/synth-bigmem.lua OUTDIR [MiB=300] [TEMPLATE_DUMP]
-- The core and auxv come from TEMPLATE_DUMP (default: the sleep fixture).
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./build/?.so;" .. package.cpath
local crit = require "crit"
local dir = require "crit.dir"

local out, mib = arg[1], tonumber(arg[2] or "300")
local template = arg[3] or "spec/fixtures/corpus/sleep"
if not out then
  io.stderr:write("usage: lua5.4 tools/synth-bigmem.lua OUTDIR [MiB] [TEMPLATE_DUMP]\n")
  os.exit(2)
end

local PID, PAGE, CHUNK = 4242, 4096, 80
local BASE = 0x7f0000000000
local npages = ((mib + mib // 16) << 20) // PAGE

local function write_image(name, magic, entries)
  local img = crit.new(magic)
  for _, e in ipairs(entries) do img:append(e) end
  assert(img:write(out .. "/" .. name .. ".img"))
end

-- The VMAs: 80-page chunks, read-only and read-write in turn, then a stack.
local function vmas()
  local list = {}
  for first = 0, npages - 1, CHUNK do
    local last = math.min(first + CHUNK, npages)
    list[#list + 1] = { start = BASE + first * PAGE, ["end"] = BASE + last * PAGE, pgoff = 0,
      shmid = 0, prot = (#list % 2 == 0) and 1 or 3, flags = 0x22, status = 0x201, fd = -1 }
  end
  list[#list + 1] = { start = 0x7ffff0000000, ["end"] = 0x7ffff0021000, pgoff = 0, shmid = 0,
    prot = 3, flags = 0x122, status = 0x201, fd = -1 }
  return list
end

-- Runs of present pages, cut at holes and at VMA boundaries (as criu does).
local function pagemap()
  local entries, run = { { pages_id = 1 } }, nil
  for i = 0, npages - 1 do
    local present = i % 16 ~= 15
    if present and run and i % CHUNK ~= 0 then
      run.nr_pages = run.nr_pages + 1
    elseif present then
      run = { vaddr = BASE + i * PAGE, compat_nr_pages = 0, flags = 4, nr_pages = 1 }
      entries[#entries + 1] = run
    else
      run = nil
    end
  end
  return entries
end

local function pages()
  local f = assert(io.open(out .. "/pages-1.img", "wb"))
  local x, fill = 0x9E3779B97F4A7C15, {}
  for j = 1, PAGE // 8 do
    x = x ~ (x << 13); x = x ~ (x >> 7); x = x ~ (x << 17)
    fill[j] = string.pack("<i8", x)
  end
  fill = table.concat(fill)
  local touched = 0
  for i = 0, npages - 1 do
    if i % 16 ~= 15 then
      local mark = string.format("CRIT-CORPUS-MARKER page=%d", i)
      f:write(mark, "\0", fill:sub(#mark + 2))
      touched = touched + 1
    end
  end
  f:close()
  return touched
end

os.execute("mkdir -p '" .. out .. "'")
local t = assert(dir.open(template))
local tpid = assert(t:tasks())[1].pid
local mm = assert(t:mm(tpid))
write_image("core-" .. PID, "CORE", { assert(t:core(tpid)) })
write_image("pstree", "PSTREE", { { pid = PID, ppid = 0, pgid = PID, sid = PID, threads = { PID } } })
write_image("mm-" .. PID, "MM", { {
  mm_start_code = 0, mm_end_code = 0, mm_start_data = 0, mm_end_data = 0,
  mm_start_stack = 0x7ffff0020000, mm_start_brk = 0, mm_brk = 0, mm_arg_start = 0,
  mm_arg_end = 0, mm_env_start = 0, mm_env_end = 0, exe_file_id = 0,
  mm_saved_auxv = mm.mm_saved_auxv, vmas = vmas() } })
local pm = pagemap()
write_image("pagemap-" .. PID, "PAGEMAP", pm)
local touched = pages()
print(string.format("%s: pid %d, %d pages (%d present, %.1f MiB), %d pagemap entries, %d VMAs",
  out, PID, npages, touched, touched * PAGE / 1048576, #pm - 1, #vmas()))
