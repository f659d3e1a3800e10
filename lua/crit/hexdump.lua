--- Canonical hex+ASCII lines, as `hexdump -C` prints them, for bytes that
-- arrive in pieces at arbitrary addresses (process memory, streamed).
local string_byte, string_format, string_char = string.byte, string.format, string.char
local table_concat = table.concat

local hexdump = {}

local HEX, SHOWN = {}, {}
for b = 0, 255 do
  HEX[b] = string_format("%02x", b)
  SHOWN[b] = (b >= 32 and b < 127) and string_char(b) or "."
end

local function address(a, wide)
  return string_format(wide and "%016x" or "%012x", a)
end

-- One line: address, up to 16 bytes in two groups of 8, the ASCII column.
local function line(addr, s, i, n, wide)
  local hex, text = {}, {}
  for k = 1, 16 do
    if k <= n then
      local b = string_byte(s, i + k - 1)
      hex[k], text[k] = HEX[b], SHOWN[b]
    else
      hex[k] = "  "
    end
  end
  return address(addr, wide) .. "  " .. table_concat(hex, " ", 1, 8) .. "  "
    .. table_concat(hex, " ", 9, 16) .. "  |" .. table_concat(text) .. "|\n"
end

--- hexdump.line(addr, bytes) -> one formatted line of up to 16 bytes.
function hexdump.line(addr, bytes)
  return line(addr, bytes, 1, #bytes, addr < 0 or addr > 0xffffffffffff)
end

--- hexdump.new(write) -> a dumper: d:bytes(addr, s) formats s as if it
--- were at addr; d:note(text) prints a comment line ("# text");
--- d:finish() ends the dump. Like
--- `hexdump -C`, a run of lines equal to the one before, at consecutive
--- addresses, prints as one "*". write(string) receives the output.
function hexdump.new(write)
  local prev, next_addr, starred = nil, nil, false
  local d = {}
  function d.bytes(_, addr, s)
    local out, n, i = {}, #s, 1
    local wide = addr < 0 or addr + n > 0xffffffffffff
    while i <= n do
      local k = n - i + 1
      if k > 16 then k = 16 end
      local a = addr + i - 1
      local chunk = k == 16 and s:sub(i, i + 15)
      if chunk and chunk == prev and a == next_addr then
        if not starred then out[#out + 1] = "*\n"; starred = true end
      else
        out[#out + 1] = line(a, s, i, k, wide)
        starred = false
      end
      prev, next_addr = chunk, a + k
      i = i + k
    end
    write(table_concat(out))
  end
  -- After a final "*", the address where the dump ends (as hexdump -C).
  function d.finish()
    if starred then write(address(next_addr, next_addr < 0 or next_addr > 0xffffffffffff) .. "\n") end
    prev, starred = nil, false
  end
  function d.note(_, text)
    d.finish()
    prev, starred = nil, false
    write("# " .. text .. "\n")
  end
  return d
end

return hexdump
