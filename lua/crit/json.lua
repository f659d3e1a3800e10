-- crit.json: the JSON of the commands' own reports (stats --json, check
-- --json). Not cjson: cjson writes numbers through a double (14 significant
-- digits) and an empty table as {}. Image contents never come here: they
-- go through the schema-aware C codec (crit.core.json_write).
local u64 = require("crit").u64

local ipairs, pairs, next, type, tostring = ipairs, pairs, next, type, tostring
local math_type, string_format, utf8_len = math.type, string.format, utf8.len
local table_concat, table_sort = table.concat, table.sort

local json = {}

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

--- json.string(s) -> s as a JSON string. Bytes that are not UTF-8 (a comm
--- or a path can hold any) go out as the code points of the same number,
--- as Latin-1 would read them.
function json.string(s)
  local pattern = utf8_len(s) and '[%c"\\\127]' or '[%c"\\\127-\255]'
  return '"' .. s:gsub(pattern, function(c)
    return ESCAPES[c] or string_format("\\u%04x", c:byte())
  end) .. '"'
end

-- Append the text of v to out. An empty table is [] unless its key is in
-- `objects`; integers go out exact and unsigned (every figure of a report
-- is a count, a size, a time or an id); keys are sorted: stable output.
local function value(v, key, objects, out)
  local tv = type(v)
  if tv == "table" then
    if next(v) == nil then
      out[#out + 1] = objects[key] and "{}" or "[]"
    elseif v[1] ~= nil then
      out[#out + 1] = "["
      for i, x in ipairs(v) do
        if i > 1 then out[#out + 1] = "," end
        value(x, nil, objects, out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table_sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = json.string(k) .. ":"
        value(v[k], k, objects, out)
      end
      out[#out + 1] = "}"
    end
  elseif math_type(v) == "integer" then
    out[#out + 1] = u64.tostring(v)
  elseif tv == "number" then
    out[#out + 1] = string_format("%.17g", v)
  elseif tv == "string" then
    out[#out + 1] = json.string(v)
  elseif v == nil then
    out[#out + 1] = "null"
  else
    out[#out + 1] = tostring(v)  -- booleans
  end
end

--- json.encode(v [, objects]) -> the JSON text of a Lua value: tables with
--- v[1] as arrays, others as objects with sorted keys; nil as null.
--- objects: the set of keys ({ [key] = true }) whose empty table is {}.
function json.encode(v, objects)
  local out = {}
  value(v, nil, objects or {}, out)
  return table_concat(out)
end

return json
