-- Check: each live task's pagemap: page-aligned entries, sorted and not
-- overlapping, every page inside a VMA of the task's mm.
local check = require "crit.check"

local ipairs, table_sort, string_format = ipairs, table.sort, string.format
local ult = math.ult

-- The VMAs as sorted { start, end } pairs, for lookups.
local function sorted_ranges(vmas)
  local r = {}
  for i, v in ipairs(vmas) do r[i] = { v.start, v["end"] } end
  table_sort(r, function(a, b) return ult(a[1], b[1]) end)
  return r
end

-- The last range starting at or below addr (binary search), or nil.
local function range_at(ranges, addr)
  local lo, hi, found = 1, #ranges, nil
  while lo <= hi do
    local mid = (lo + hi) // 2
    if not ult(addr, ranges[mid][1]) then found, lo = mid, mid + 1 else hi = mid - 1 end
  end
  return found
end

-- The first address of [from, to) that no range covers, or nil.
local function uncovered(ranges, from, to)
  local a = from
  while ult(a, to) do
    local i = range_at(ranges, a)
    if not i then return a end
    -- ranges can overlap in a broken mm: take the furthest end from here.
    local stop = nil
    for j = i, 1, -1 do
      if ult(a, ranges[j][2]) and (not stop or ult(stop, ranges[j][2])) then stop = ranges[j][2] end
      if j < i - 8 then break end
    end
    if not stop then return a end
    a = stop
  end
  return nil
end

local function run(d, report)
  for _, t in ipairs(check.live_tasks(d)) do
    local name = "pagemap-" .. t.pid
    local img = d:has(name) and d:image(name)
    if img and img.magic == "PAGEMAP" then
      local file = name .. ".img"
      local ps = check.page_size(d, t.pid)
      check.pagemap_runs(img, file, ps, report)
      local vmas = d:has("mm-" .. t.pid) and d:vmas(t.pid)
      if vmas then
        local ranges = sorted_ranges(vmas)
        for k, e in img:entries() do
          if k > 1 then
            local stop = e.vaddr + (check.nr_pages(e) or 0) * ps
            local hole = uncovered(ranges, e.vaddr, stop)
            if hole then
              report("error", file, k, "vaddr", string_format(
                "pages 0x%x-0x%x: 0x%x is in no VMA of mm-%d.img", e.vaddr, stop, hole, t.pid))
            end
          end
        end
      end
    end
  end
end

return {
  name = "pagemap",
  summary = "pagemap entries aligned, sorted, non-overlapping, inside VMAs",
  run = run,
}
