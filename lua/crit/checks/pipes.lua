-- Check: the data queued in pipes and fifos (pipes-data.img, fifo-data.img)
-- belongs to a pipe or fifo of the dump, once.
local dirlib = require "crit.dir"

local string_format = string.format

-- The pipe_ids of the files of a type, in files.img and the legacy image.
local function pipe_ids(d, ftype)
  local ids, field = {}, dirlib.FILE_TYPES[ftype].field
  if d:has("files") then
    for _, f in d:image("files"):entries() do
      if f.type == ftype and f[field] then ids[f[field].pipe_id] = true end
    end
  end
  local legacy = dirlib.FILE_TYPES[ftype].legacy
  if legacy and d:has(legacy) then
    for _, e in d:image(legacy):entries() do ids[e.pipe_id] = true end
  end
  return ids
end

local function check_data(d, report, name, ftype, what)
  if not d:has(name) then return end
  local ids, seen = pipe_ids(d, ftype), {}
  for k, e in d:image(name):entries() do
    if not ids[e.pipe_id] then
      report("error", name .. ".img", k, "pipe_id",
        string_format("data for %s %d, which is not in the dump", what, e.pipe_id))
    elseif seen[e.pipe_id] then
      report("error", name .. ".img", k, "pipe_id",
        string_format("a second data entry for %s %d (entry %d)", what, e.pipe_id, seen[e.pipe_id]))
    end
    seen[e.pipe_id] = seen[e.pipe_id] or k
  end
end

local function run(d, report)
  check_data(d, report, "pipes-data", "PIPE", "pipe")
  check_data(d, report, "fifo-data", "FIFO", "fifo")
end

return {
  name = "pipes",
  summary = "pipe and fifo data refer to pipes and fifos of the dump",
  run = run,
}
