-- Check: the criu restore options the dump needs, found in the images:
-- established TCP connections (--tcp-established: sk-inet.c refuses
-- "Connected TCP socket in image" without it), file locks (--file-locks:
-- file-lock.c prepare_file_locks restores none without it), and the flags
-- inventory records for restore (image.c check_img_inventory: tcp_close
-- needs --tcp-close, allow_uprobes --allow-uprobes). The tree check asks
-- for --shell-job, the sockets and external checks for --ext-unix-sk.
local string_format = string.format

local IPPROTO_TCP, SOCK_STREAM, TCP_ESTABLISHED = 6, 1, 1

local function is_established(e)
  return e.proto == IPPROTO_TCP and e.type == SOCK_STREAM and e.state == TCP_ESTABLISHED
end

-- The first established TCP socket (files.img's, then inetsk.img's of old
-- dumps), the entries read one at a time.
local function established(d)
  if d:has("files") then
    for _, f in d:image("files"):entries() do
      if f.type == "INETSK" and f.isk and is_established(f.isk) then return f.isk end
    end
  end
  if d:has("inetsk") then
    for _, e in d:image("inetsk"):entries() do
      if is_established(e) then return e end
    end
  end
end

-- The entry index of a file id in files.img, for the report.
local function files_entry(d, id)
  if not d:has("files") then return nil end
  for k, f in d:image("files"):entries() do
    if f.id == id then return k end
  end
end

local function run(d, report)
  local sk = established(d)
  if sk then
    report("warning", "files.img", files_entry(d, sk.id), "isk.state", string_format(
      "TCP socket %d is established: restore needs --tcp-established", sk.ino), "--tcp-established")
  end
  if d:has("filelocks") and #d:image("filelocks") > 0 then
    report("warning", "filelocks.img", 1, nil,
      "the tasks hold file locks: restore takes them again only with --file-locks", "--file-locks")
  end
  local inv = d:has("inventory") and d:image("inventory")
  local e = inv and inv.magic == "INVENTORY" and #inv == 1 and inv[1]
  if e and e.tcp_close then
    report("warning", "inventory.img", 1, "tcp_close",
      "dumped with --tcp-close: restore needs --tcp-close", "--tcp-close")
  end
  if e and e.allow_uprobes then
    report("warning", "inventory.img", 1, "allow_uprobes",
      "dumped with --allow-uprobes: restore needs --allow-uprobes", "--allow-uprobes")
  end
end

return {
  name = "options",
  summary = "the criu restore options the dump needs",
  run = run,
}
