-- Check: every fd of every live task names a file of files.img (or of the
-- per-type images of old dumps) of the same type, fd numbers are unique,
-- and the task's cwd, root and executable are regular files of the dump.
local check = require "crit.check"

local ipairs, tostring, string_format = ipairs, tostring, string.format

local function need_reg(d, report, file, path, id, what)
  if id == nil then return end
  local f = d:file(id, "REG")
  if not f then
    report("error", file, 1, path, string_format("%s: file id %d is not in files.img", what, id))
  elseif f.type ~= "REG" then
    report("error", file, 1, path, string_format("%s: file id %d is %s, not REG", what, id, tostring(f.type)))
  end
end

local function run(d, report)
  local seen_tables = {}
  for _, t in ipairs(check.live_tasks(d)) do
    local ids = d:ids(t.pid)
    local fid = ids and ids.files_id
    if fid and not seen_tables[fid] and d:has("fdinfo-" .. fid) then
      seen_tables[fid] = true
      local file = "fdinfo-" .. fid .. ".img"
      local fds = {}
      for k, e in d:image("fdinfo-" .. fid):entries() do
        if fds[e.fd] then
          report("error", file, k, "fd", string_format("fd %d is also entry %d", e.fd, fds[e.fd]))
        end
        fds[e.fd] = k
        local f = d:file(e.id, e.type)
        if not f then
          local other = d:file(e.id)
          if other then
            report("error", file, k, "type", string_format(
              "fd %d is %s, but file id %d is %s", e.fd, tostring(e.type), e.id, tostring(other.type)))
          else
            report("error", file, k, "id", string_format("fd %d: file id %d is not in files.img", e.fd, e.id))
          end
        elseif f.type ~= e.type then
          report("error", file, k, "type", string_format(
            "fd %d is %s, but file id %d is %s", e.fd, tostring(e.type), e.id, tostring(f.type)))
        end
      end
    end
    if d:has("fs-" .. t.pid) then
      local fs = d:fs(t.pid)
      local file = "fs-" .. t.pid .. ".img"
      need_reg(d, report, file, "cwd_id", fs.cwd_id, "cwd")
      need_reg(d, report, file, "root_id", fs.root_id, "root")
    end
    if d:has("mm-" .. t.pid) then
      local mm = d:mm_head(t.pid)
      need_reg(d, report, "mm-" .. t.pid .. ".img", "exe_file_id", mm.exe_file_id, "executable")
    end
  end
end

return {
  name = "fds",
  summary = "fds name files of their own type; cwd, root and exe resolve",
  run = run,
}
