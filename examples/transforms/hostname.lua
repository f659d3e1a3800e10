-- Change the host name (and optionally the NIS domain name) of the UTS
-- namespaces in a dump.
-- Usage: crit.lua transform DIR hostname.lua -o OUT -- NODENAME [DOMAINNAME]
-- Proved by restore: spec/restore/transforms_spec.lua, scenario "uts"
-- (uname -n and domainname through nsenter --uts).
--
-- criu dumps a UTS namespace only when the tree has its own (unshare
-- --uts, containers): utsns-N.img, one entry { nodename, domainname }.
-- A dump without one restores into the host's namespace: there is
-- nothing to change, and this script says so.
local layout = require "crit.layout"

return function(d, args)
  local nodename, domainname = args[1], args[2]
  if not nodename then error("usage: hostname.lua -- NODENAME [DOMAINNAME]", 0) end
  if #nodename > 64 or (domainname and #domainname > 64) then
    error("hostname: at most 64 bytes (the kernel's __NEW_UTS_LEN)", 0)
  end
  local count = 0
  for _, name in ipairs(d:names()) do
    if layout.kind(name) == "utsns" then
      local uts = assert(d:image(name))[1]
      uts.nodename = nodename
      if domainname then uts.domainname = domainname end
      count = count + 1
    end
  end
  if count == 0 then error("hostname: no utsns image: the dump uses the host's UTS namespace", 0) end
end
