-- Check: shared memory contents (pagemap-shmem-N.img) are consistent: their
-- entries aligned, sorted, not overlapping, inside the SysV segment
-- (ipcns-shm) or memfd they belong to; each belongs to a SysV segment, a
-- memfd or an anonymous shared VMA; and a SysV segment whose data is in
-- pagemaps has its pagemap-shmem image.
local check = require "crit.check"
local dirlib = require "crit.dir"

local ipairs, tonumber, string_format = ipairs, tonumber, string.format
local math_tointeger = math.tointeger
local VMA = dirlib.VMA

local function round_up(n, ps) return (n + ps - 1) // ps * ps end

local function run(d, report)
  local ps = 4096
  local live = check.live_tasks(d)
  if live[1] then ps = check.page_size(d, live[1].pid) end
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
            report("warning", name .. ".img", k, "in_pagemaps", string_format(
              "segment %d has its data in pagemap-shmem-%d.img, which is missing: it restores as zeros", id, id))
          end
        end
      end
    end
  end
  if d:has("memfd") then
    for _, e in d:image("memfd"):entries() do
      if e.shmid then
        owner[e.shmid] = "memfd"
        if e.size then bound[e.shmid] = round_up(e.size, ps) end
      end
    end
  end
  for _, t in ipairs(live) do
    local vmas = d:has("mm-" .. t.pid) and d:vmas(t.pid) or {}
    for _, v in ipairs(vmas) do
      if (v.status or 0) & VMA.ANON_SHARED ~= 0 and (v.status or 0) & VMA.SYSVIPC == 0 then
        owner[v.shmid] = owner[v.shmid] or "shared mapping"
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
