-- Check: unix socket peers are in the dump (a peer outside it needs
-- --ext-unix-sk on restore: a warning), and queued socket data
-- (sk-queues.img) belongs to a socket of the dump.

local ipairs, string_format = ipairs, string.format

local SOCKET_TYPES = {
  UNIXSK = true, INETSK = true, PACKETSK = true, NETLINKSK = true,
}

-- The unix sockets are kept as arrays of integers (where each is, its
-- inode and peer): a huge files.img keeps no table per socket.
local function run(d, report)
  local files = d:has("files") and d:image("files")
  local unix_inos, socket_ids = {}, {}
  local where, ks, inos, peers = {}, {}, {}, {}
  local function add_unix(image, k, sk)
    unix_inos[sk.ino] = true
    if sk.peer and sk.peer ~= 0 then
      local n = #ks + 1
      where[n], ks[n], inos[n], peers[n] = image, k, sk.ino, sk.peer
    end
  end
  if files then
    for k, f in files:entries() do
      if SOCKET_TYPES[f.type] then socket_ids[f.id] = true end
      if f.type == "UNIXSK" and f.usk then add_unix("files.img", k, f.usk) end
    end
  end
  if d:has("unixsk") then
    for k, e in d:image("unixsk"):entries() do
      socket_ids[e.id] = true
      add_unix("unixsk.img", k, e)
    end
  end
  for n, peer in ipairs(peers) do
    if not unix_inos[peer] then
      local files_img = where[n] == "files.img"
      report("warning", where[n], ks[n], files_img and "usk.peer" or "peer", string_format(
        "unix socket %d: its peer %d is not in the dump: restore needs --ext-unix-sk", inos[n], peer),
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
