-- Check: the images whose entries are followed by payloads (pipe and fifo
-- data, socket queues, TCP streams, SysV IPC, ghost files, bpf maps)
-- decode, and every payload is as long as its length fields say.
local crit = require "crit"
local check = require "crit.check"
local decode = require "crit.checks.decode"
local layout = require "crit.layout"

local ipairs, pcall, type, string_format = ipairs, pcall, type, string.format

-- magic -> function(entry) -> list of { path, declared, actual } to compare.
local LENGTHS = {
  PIPES_DATA = function(e) return { { "bytes", e.bytes, #(e.extra or "") } } end,
  FIFO_DATA = function(e) return { { "bytes", e.bytes, #(e.extra or "") } } end,
  SK_QUEUES = function(e) return { { "length", e.length, #(e.extra or "") } } end,
  TCP_STREAM = function(e)
    local x = e.extra or {}
    return { { "inq_len", e.inq_len, #(x.inq or "") }, { "outq_len", e.outq_len, #(x.outq or "") } }
  end,
  IPCNS_SEM = function(e)
    return { { "nsems", e.nsems, type(e.extra) == "table" and #e.extra or 0 } }
  end,
  BPFMAP_DATA = function(e)
    return { { "keys_bytes + values_bytes", (e.keys_bytes or 0) + (e.values_bytes or 0), #(e.extra or "") } }
  end,
}

local function run(d, report)
  local broken = d.broken_images or {}
  d.broken_images = broken
  for _, file in ipairs(check.files_in(d.path)) do
    if layout.is_image_file(file) then
      local path = d.path .. "/" .. file
      local ok, img = pcall(crit.open, path)
      if ok and img and not img.raw_image and decode.PAYLOAD_MAGICS[img.magic] then
        img = decode.decode_image(path, file, report, broken)
        local lengths = img and LENGTHS[img.magic]
        if lengths then
          for k, e in img:entries() do
            for _, l in ipairs(lengths(e)) do
              if l[2] ~= nil and l[2] ~= l[3] then
                report("error", file, k, l[1], string_format(
                  "says %d bytes, the payload has %d", l[2], l[3]))
              end
            end
          end
        end
      end
    end
  end
end

return {
  name = "payloads",
  summary = "payload images decode; payloads match their length fields",
  run = run,
}
