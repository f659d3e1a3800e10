-- Rewrite the IP addresses and ports of inet sockets (TCP, UDP; IPv4 and
-- IPv6), for a restore on a host with other addresses.
-- Usage: crit.lua transform DIR rewrite-ip.lua -o OUT -- OLD=NEW [OLD=NEW ...]
--   OLD and NEW are an address (127.0.0.1, fd00::1), an address and a port
--   (127.0.0.1:8080, [fd00::1]:8080) or a port alone (:8080, any address);
--   both the same form. e.g. -- 127.0.0.1=127.0.0.2   -- :8080=:9090
-- Proved by restore: spec/restore/transforms_spec.lua, scenario "tcp" (a
-- listener answers on 127.0.0.2, or on its new port; its established
-- connection, both ends rewritten, still carries its queued data).
--
-- The addresses are in the socket's file entry (INETSK in files.img, or
-- inetsk.img in old dumps): src_addr and dst_addr, repeated uint32 (one for
-- IPv4, four for IPv6) holding the address bytes in network order, that is
-- each uint32 read little-endian from those bytes; src_port and dst_port in
-- host order. An IPv4 address also matches its IPv4-mapped form
-- (::ffff:a.b.c.d) in an IPv6 socket. Each end of a socket (src, dst) is
-- changed by the first rule that matches it: a connection between two
-- sockets of the dump keeps both ends in step.
-- tcp-stream-<inode>.img (queues and sequence numbers of established TCP
-- sockets) is named by the socket's inode and holds no address: it needs
-- no change. The interface addresses of a network namespace (ifaddr-N.img)
-- are raw netlink messages and are not touched: the new address must exist
-- where the dump is restored (criu binds to it).
local function words(bytes)
  local w = {}
  for i = 1, #bytes, 4 do w[#w + 1] = string.unpack("<I4", bytes, i) end
  return w
end

local function parse_v4(s)
  local a, b, c, e = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  local t = { tonumber(a), tonumber(b), tonumber(c), tonumber(e) }
  for _, v in ipairs(t) do if v > 255 then return nil end end
  return string.char(table.unpack(t))
end

local function parse_v6(s)
  if not s:find(":") then return nil end
  local head, tail = s:match("^(.-)::(.*)$")
  local function groups(part)
    local g = {}
    for x in part:gmatch("[^:]+") do
      if not x:match("^%x%x?%x?%x?$") then return nil end
      g[#g + 1] = tonumber(x, 16)
    end
    return g
  end
  local hi, lo
  if head then hi, lo = groups(head), groups(tail) else hi, lo = groups(s), {} end
  if not hi or not lo or #hi + #lo > 8 or (not head and #hi ~= 8) then return nil end
  local all = {}
  for _, v in ipairs(hi) do all[#all + 1] = v end
  for _ = 1, 8 - #hi - #lo do all[#all + 1] = 0 end
  for _, v in ipairs(lo) do all[#all + 1] = v end
  local bytes = {}
  for _, v in ipairs(all) do bytes[#bytes + 1] = string.pack(">I2", v) end
  return table.concat(bytes)
end

local function parse(s)
  local b = parse_v4(s) or parse_v6(s)
  if not b then error("rewrite-ip: not an IP address: " .. s, 0) end
  return b
end

local function key(list) return table.concat(list, ",") end

-- "127.0.0.1", "127.0.0.1:80", "[fd00::1]:80", ":80" -> address bytes or
-- nil, port or nil.
local function parse_end(s)
  local host, port = s:match("^%[(.*)%]:(%d+)$")
  if not host then host, port = s:match("^([%d%.]*):(%d+)$") end
  if not host then host = s end
  port = port and tonumber(port)
  if port and (port < 1 or port > 65535) then error("rewrite-ip: not a port: " .. s, 0) end
  return host ~= "" and parse(host) or nil, port
end

-- A rule: { addrs = { [key of old words] = new words } or nil, port =, new_port = }.
local function parse_rule(a)
  local old, new = a:match("^(.-)=(.+)$")
  if not old then error("usage: rewrite-ip.lua -- OLD=NEW ...", 0) end
  local old_addr, old_port = parse_end(old)
  local new_addr, new_port = parse_end(new)
  if (old_addr == nil) ~= (new_addr == nil) or (old_port == nil) ~= (new_port == nil) then
    error("rewrite-ip: " .. a .. ": OLD and NEW must have the same form (address, address:port, :port)", 0)
  end
  if old_addr and #old_addr ~= #new_addr then
    error("rewrite-ip: " .. a .. ": both addresses must be IPv4, or both IPv6", 0)
  end
  local rule = { port = old_port, new_port = new_port }
  if old_addr then
    rule.addrs = { [key(words(old_addr))] = words(new_addr) }
    if #old_addr == 4 then                       -- the IPv4-mapped IPv6 form
      local prefix = ("\0"):rep(10) .. "\255\255"
      rule.addrs[key(words(prefix .. old_addr))] = words(prefix .. new_addr)
    end
  end
  return rule
end

return function(d, args)
  local rules = {}
  for i, a in ipairs(args) do rules[i] = parse_rule(a) end
  if #rules == 0 then error("usage: rewrite-ip.lua -- OLD=NEW ...", 0) end

  local count = 0
  local function rewrite_end(isk, addr_field, port_field)
    local addr = isk[addr_field]
    for _, r in ipairs(rules) do
      local new = r.addrs and addr and r.addrs[key(addr)]
      if (not r.addrs or new) and (not r.port or r.port == isk[port_field]) then
        if new then isk[addr_field], count = { table.unpack(new) }, count + 1 end
        if r.port then isk[port_field], count = r.new_port, count + 1 end
        return
      end
    end
  end
  local function rewrite(isk)
    rewrite_end(isk, "src_addr", "src_port")
    rewrite_end(isk, "dst_addr", "dst_port")
  end
  local files = d:image("files")
  if files then
    for k = 1, #files do
      if files[k].isk then rewrite(files[k].isk) end
    end
  end
  local legacy = d:image("inetsk")
  if legacy then
    for k = 1, #legacy do rewrite(legacy[k]) end
  end
  io.stderr:write(("rewrite-ip: %d addresses and ports rewritten\n"):format(count))
end
