-- Check: shared memory contents (pagemap-shmem-N.img) are consistent: their
-- entries aligned, sorted, not overlapping, inside the SysV segment
-- (ipcns-shm) or memfd they belong to; each belongs to a SysV segment, a
-- memfd or an anonymous shared VMA; and every shared memory criu restores
-- the contents of has its pagemap-shmem image: a SysV segment with
-- in_pagemaps, a memfd, a MAP_SHARED anonymous mapping. criu fails
-- without it (shmem.c do_restore_shmem_content: open_page_read finds no
-- pagemap, "Can't restore shmem content"): the memory would be lost.
local check = require "crit.check"
local dirlib = require "crit.dir"

local ipairs, tonumber, tostring, string_format = ipairs, tonumber, tostring, string.format
local math_tointeger = math.tointeger
local VMA = dirlib.VMA
local vmas_location = require("crit.checks.vmas").location
local function no_vma() return nil end

local function round_up(n, ps) return (n + ps - 1) // ps * ps end

local function run(d, report)
  local live = check.live_tasks(d)
  local ps = check.page_size(d, live[1] and live[1].pid)
  local bound, owner = {}, {}   -- shmid -> size limit / what owns it
  for _, name in ipairs(check.image_names(d, "^ipcns%-shm%-")) do
    local img = d:image(name)
    if not (d.broken_images or {})[name .. ".img"] then
      for k, e in img:entries() do
        local id = e.desc and e.desc.id
        if id then
          owner[id] = "SysV shm"
          bound[id] = round_up(e.size or 0, ps)
          if e.in_pagemaps and not d:has("pagemap-shmem-" .. id) then
            report("error", name .. ".img", k, "in_pagemaps", string_format(
              "segment %d has its data in pagemap-shmem-%d.img, which is missing: its memory is lost", id, id))
          end
        end
      end
    end
  end
  if d:has("memfd") then
    for k, e in d:image("memfd"):entries() do
      if e.shmid then
        owner[e.shmid] = "memfd"
        if e.size then bound[e.shmid] = round_up(e.size, ps) end
        if not d:has("pagemap-shmem-" .. e.shmid) then
          report("error", "memfd.img", k, "shmid", string_format(
            "the contents of memfd %s (pagemap-shmem-%d.img) are missing: restore fails", tostring(e.name), e.shmid))
        end
      end
    end
  end
  for _, t in ipairs(live) do
    local file, at
    local vmas = d:has("mm-" .. t.pid) and d:vma_fields(t.pid, "status", "shmid", "start", "end") or no_vma
    for i, st, shmid, start, stop in vmas do
      st = st or 0
      if st & VMA.ANON_SHARED ~= 0 and st & (VMA.SYSVIPC | VMA.MEMFD) == 0 and not owner[shmid] then
        owner[shmid] = "shared mapping"
        if not d:has("pagemap-shmem-" .. shmid) then
          if not file then file, at = vmas_location(d, t.pid) end
          local entry, prefix = at(i)
          report("error", file, entry, prefix .. "shmid", string_format(
            "the contents of shared mapping 0x%x-0x%x (pagemap-shmem-%d.img) are missing: restore fails",
            start, stop, shmid))
        end
      end
    end
  end
  for _, name in ipairs(check.image_names(d, "^pagemap%-shmem%-")) do
    local file = name .. ".img"
    local img = d:image(name)
    if img.magic == "PAGEMAP" and not (d.broken_images or {})[file] then
      local id = math_tointeger(tonumber(name:match("(%d+)$")))
      check.pagemap_runs(img, file, ps, report, bound[id])
      if not owner[id] then
        report("warning", file, nil, nil, string_format(
          "no SysV segment, memfd or shared mapping has shmid %d", id))
      end
    end
  end
end

return {
  name = "shmem",
  summary = "pagemap-shmem consistent with ipcns-shm, memfd, shared VMAs",
  run = run,
}
