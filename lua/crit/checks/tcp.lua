-- Check: every established TCP socket has its tcp-stream-INO.img (the
-- queues and sequence numbers criu restores it with; dumped with
-- --tcp-established).
local string_format = string.format

local IPPROTO_TCP, SOCK_STREAM, TCP_ESTABLISHED = 6, 1, 1

local function check_socket(d, report, file, k, path, sk)
  if sk.proto == IPPROTO_TCP and sk.type == SOCK_STREAM and sk.state == TCP_ESTABLISHED then
    local name = string_format("tcp-stream-%x", sk.ino)
    if not d:has(name) then
      report("error", file, k, path, string_format(
        "established TCP socket %d has no %s.img: its connection cannot be restored", sk.ino, name))
    end
  end
end

local function run(d, report)
  if d:has("files") then
    for k, f in d:image("files"):entries() do
      if f.type == "INETSK" and f.isk then check_socket(d, report, "files.img", k, "isk.state", f.isk) end
    end
  end
  if d:has("inetsk") then
    for k, e in d:image("inetsk"):entries() do check_socket(d, report, "inetsk.img", k, "state", e) end
  end
end

return {
  name = "tcp",
  summary = "established TCP sockets have their tcp-stream image",
  run = run,
}
