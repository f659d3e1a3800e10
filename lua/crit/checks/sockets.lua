-- Check: unix socket peers are in the dump (a peer outside it needs
-- --ext-unix-sk on restore: a warning), and queued socket data
-- (sk-queues.img) belongs to a socket of the dump.

local ipairs, string_format = ipairs, string.format

local SOCKET_TYPES = {
  UNIXSK = true, INETSK = true, PACKETSK = true, NETLINKSK = true,
}

local function run(d, report)
  local files = d:has("files") and d:image("files")
  local unix_inos, socket_ids = {}, {}
  local unix_list = {}
  if files then
    for k, f in files:entries() do
      if SOCKET_TYPES[f.type] then socket_ids[f.id] = true end
      if f.type == "UNIXSK" and f.usk then
        unix_inos[f.usk.ino] = true
        unix_list[#unix_list + 1] = { "files.img", k, "usk.peer", f.usk }
      end
    end
  end
  if d:has("unixsk") then
    for k, e in d:image("unixsk"):entries() do
      unix_inos[e.ino] = true
      socket_ids[e.id] = true
      unix_list[#unix_list + 1] = { "unixsk.img", k, "peer", e }
    end
  end
  for _, u in ipairs(unix_list) do
    local sk = u[4]
    if sk.peer and sk.peer ~= 0 and not unix_inos[sk.peer] then
      report("warning", u[1], u[2], u[3], string_format(
        "unix socket %d: its peer %d is not in the dump: restore needs --ext-unix-sk", sk.ino, sk.peer),
        "--ext-unix-sk")
    end
  end
  if d:has("sk-queues") then
    for k, e in d:image("sk-queues"):entries() do
      if not socket_ids[e.id_for] and not d:file(e.id_for) then
        report("error", "sk-queues.img", k, "id_for",
          string_format("queued data for socket id %d, which is not in the dump", e.id_for))
      end
    end
  end
end

return {
  name = "sockets",
  summary = "unix socket peers and socket queues are in the dump",
  run = run,
}
