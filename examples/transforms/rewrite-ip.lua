-- Rewrite the IP addresses of inet sockets (TCP, UDP; IPv4 and IPv6), for a
-- restore on a host with other addresses.
-- Usage: crit.lua transform DIR rewrite-ip.lua -o OUT -- OLD=NEW [OLD=NEW ...]
--   e.g. -- 127.0.0.1=10.0.0.5   or   -- fd00::1=fd00::2
--
-- The addresses are in the socket's file entry (INETSK in files.img, or
-- inetsk.img in old dumps): src_addr and dst_addr, repeated uint32 (one for
-- IPv4, four for IPv6) holding the address bytes in network order, that is
-- each uint32 read little-endian from those bytes. An IPv4 address also
-- matches its IPv4-mapped form (::ffff:a.b.c.d) in an IPv6 socket.
-- tcp-stream-<inode>.img (queues and sequence numbers of established TCP
-- sockets) is named by the socket's inode and holds no address: it needs
-- no change. The interface addresses of a network namespace (ifaddr-N.img)
-- are raw netlink messages and are not touched.
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

return function(d, args)
  local map = {}                                  -- "w1,w2.." -> new words
  for _, a in ipairs(args) do
    local old, new = a:match("^(.-)=(.+)$")
    if not old then error("usage: rewrite-ip.lua -- OLD=NEW ...", 0) end
    old, new = parse(old), parse(new)
    if #old ~= #new then error("rewrite-ip: " .. a .. ": both addresses must be IPv4, or both IPv6", 0) end
    map[key(words(old))] = words(new)
    if #old == 4 then                             -- the IPv4-mapped IPv6 form
      local prefix = ("\0"):rep(10) .. "\255\255"
      map[key(words(prefix .. old))] = words(prefix .. new)
    end
  end
  if not next(map) then error("usage: rewrite-ip.lua -- OLD=NEW ...", 0) end

  local count = 0
  local function rewrite(isk)
    for _, field in ipairs({ "src_addr", "dst_addr" }) do
      local new = isk[field] and map[key(isk[field])]
      if new then
        isk[field] = { table.unpack(new) }
        count = count + 1
      end
    end
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
  io.stderr:write(("rewrite-ip: %d addresses rewritten\n"):format(count))
end
