-- Check: each live task's pagemap: page-aligned entries, sorted and not
-- overlapping, every page inside a VMA of the task's mm.
local check = require "crit.check"

local ipairs, table_sort, string_format = ipairs, table.sort, string.format
local ult = math.ult

-- The task's VMAs as two arrays of integers, starts and ends, sorted by
-- start (unsigned): no table per VMA. Already sorted in a sound mm.
local function sorted_ranges(d, pid)
  local starts, ends, sorted = {}, {}, true
  for i, s, e in d:vma_fields(pid, "start", "end") do
    starts[i], ends[i] = s, e
    if i > 1 and ult(s, starts[i - 1]) then sorted = false end
  end
  if not sorted then
    local order = {}
    for i = 1, #starts do order[i] = i end
    table_sort(order, function(a, b) return ult(starts[a], starts[b]) end)
    local s2, e2 = {}, {}
    for i, k in ipairs(order) do s2[i], e2[i] = starts[k], ends[k] end
    starts, ends = s2, e2
  end
  return starts, ends
end

-- The last range starting at or below addr (binary search), or nil.
local function range_at(starts, addr)
  local lo, hi, found = 1, #starts, nil
  while lo <= hi do
    local mid = (lo + hi) // 2
    if not ult(addr, starts[mid]) then found, lo = mid, mid + 1 else hi = mid - 1 end
  end
  return found
end

-- The first address of [from, to) that no range covers, or nil.
local function uncovered(starts, ends, from, to)
  local a = from
  while ult(a, to) do
    local i = range_at(starts, a)
    if not i then return a end
    -- ranges can overlap in a broken mm: take the furthest end from here.
    local stop = nil
    for j = i, 1, -1 do
      if ult(a, ends[j]) and (not stop or ult(stop, ends[j])) then stop = ends[j] end
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
      if d:has("mm-" .. t.pid) then
        local starts, ends = sorted_ranges(d, t.pid)
        for k, e in img:entries() do
          if k > 1 then
            local stop = e.vaddr + (check.nr_pages(e) or 0) * ps
            local hole = uncovered(starts, ends, e.vaddr, stop)
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
