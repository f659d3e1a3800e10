-- Check: every target of an epoll (eventpoll tfd) is an fd that the tasks
-- holding the epoll have open. criu adds each target again by its fd number
-- with epoll_ctl in the task that restores the epoll (criu/eventpoll.c
-- eventpoll_retore_tfd): a target fd the task lacks fails the restore
-- ("epoll: Can't add event ... Bad file descriptor").
local check = require "crit.check"

local ipairs, next, string_format = ipairs, next, string.format
local function no_fd() return nil end

-- epoll file id -> list of { tfd =, image =, entry =, path = }: files.img's
-- epfd.tfd, and the eventpoll-tfd image of old dumps.
local function targets(d)
  local out = {}
  local function add(id, t) out[id] = out[id] or {}; out[id][#out[id] + 1] = t end
  if d:has("files") then
    for k, f in d:image("files"):entries() do
      if f.type == "EVENTPOLL" and f.epfd then
        for i, t in ipairs(f.epfd.tfd or {}) do
          add(f.id, { tfd = t.tfd, image = "files.img", entry = k, path = string_format("epfd.tfd[%d].tfd", i) })
        end
      end
    end
  end
  if d:has("eventpoll-tfd") then
    for k, t in d:image("eventpoll-tfd"):entries() do
      add(t.id, { tfd = t.tfd, image = "eventpoll-tfd.img", entry = k, path = "tfd" })
    end
  end
  return out
end

local function run(d, report)
  local by_epoll = targets(d)
  if next(by_epoll) == nil then return end
  local seen_tables = {}
  for _, t in ipairs(check.live_tasks(d)) do
    local ids = d:ids(t.pid)
    local fid = ids and ids.files_id
    if fid and not seen_tables[fid] and d:has("fdinfo-" .. fid) then
      seen_tables[fid] = true
      local open, epolls = {}, {}
      for _, fd, id in d:fd_fields(t.pid, "fd", "id") or no_fd do
        open[fd] = true
        if by_epoll[id] then epolls[#epolls + 1] = { fd = fd, id = id } end
      end
      for _, ep in ipairs(epolls) do
        for _, tg in ipairs(by_epoll[ep.id]) do
          if not open[tg.tfd] then
            report("error", tg.image, tg.entry, tg.path, string_format(
              "epoll fd %d of task %d watches fd %d, which the task does not have: restore fails "
              .. "adding it (Bad file descriptor)", ep.fd, t.pid, tg.tfd))
          end
        end
      end
    end
  end
end

return {
  name = "epoll",
  summary = "epoll targets are fds their tasks have open",
  run = run,
}
