-- Check: each live task's VMAs (mm-PID.img, or vmas-PID.img of old dumps)
-- are page-aligned, non-empty, sorted and do not overlap, and each
-- file-backed VMA names a file of the dump (a memfd VMA, a MEMFD file).
local check = require "crit.check"
local dirlib = require "crit.dir"

local ipairs, string_format = ipairs, string.format
local ult = math.ult
local VMA = dirlib.VMA

local FILE_BACKED = VMA.FILE_PRIVATE | VMA.FILE_SHARED
local NOT_A_FILE = VMA.ANON_SHARED | VMA.SYSVIPC | VMA.SOCKET | VMA.AIORING

-- Where a task's VMAs live: image, entry of vma i, path prefix of vma i.
local function location(d, pid)
  d:mm_head(pid) -- raises on a corrupt mm, as reading it would
  if d:image("mm-" .. pid):items(1, "vmas", "start")() then
    return "mm-" .. pid .. ".img", function(i) return 1, string_format("vmas[%d].", i) end
  end
  return "vmas-" .. pid .. ".img", function(i) return i, "" end
end

-- The VMAs are read a few fields at a time, straight from the image: a
-- million of them make no table each.
local function run(d, report)
  for _, t in ipairs(check.live_tasks(d)) do
    if d:has("mm-" .. t.pid) then
      local file, at = location(d, t.pid)
      local ps = check.page_size(d, t.pid)
      local prev_s, prev_e
      for i, s, e, st, shmid in d:vma_fields(t.pid, "start", "end", "status", "shmid") do
        local entry, prefix = at(i)
        if s % ps ~= 0 or e % ps ~= 0 then
          report("error", file, entry, prefix .. (s % ps ~= 0 and "start" or "end"),
            string_format("0x%x-0x%x is not page-aligned", s, e))
        end
        if not ult(s, e) then
          report("error", file, entry, prefix .. "end", string_format("0x%x-0x%x is empty or reversed", s, e))
        end
        if prev_s and ult(s, prev_s) then
          report("error", file, entry, prefix .. "start", string_format(
            "0x%x: not sorted (vmas[%d] starts at 0x%x)", s, i - 1, prev_s))
        elseif prev_s and ult(s, prev_e) then
          report("error", file, entry, prefix .. "start", string_format(
            "0x%x-0x%x overlaps vmas[%d] (0x%x-0x%x)", s, e, i - 1, prev_s, prev_e))
        end
        st = st or 0
        if st & FILE_BACKED ~= 0 and st & NOT_A_FILE == 0 then
          local ftype = st & VMA.MEMFD ~= 0 and "MEMFD" or "REG"
          local f = d:file(shmid, ftype)
          if not f or f.type ~= ftype then
            report("error", file, entry, prefix .. "shmid", string_format(
              "file-backed VMA 0x%x-0x%x: %s file id %d is not in files.img", s, e, ftype, shmid))
          end
        end
        prev_s, prev_e = s, e
      end
    end
  end
end

return {
  name = "vmas",
  summary = "VMAs aligned, sorted, apart; file-backed VMAs name files",
  run = run,
  location = location,
}
