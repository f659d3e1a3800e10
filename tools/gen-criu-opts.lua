-- Extracts the (criu) field options of CRIU's .proto files into the C table
-- of src/criu_opts.h, because protobuf-c's descriptors drop custom options.
--   lua5.4 tools/gen-criu-opts.lua proto/*.proto > src/gen/criu_opts.c

-- What each (criu) option sets in a row, and the kind of value it takes.
local CRIU_OPTIONS = {
  hex   = { bit = "CRIU_OPT_HEX" },
  ipadd = { bit = "CRIU_OPT_IPADD" },
  dev   = { bit = "CRIU_OPT_DEV" },
  odev  = { bit = "CRIU_OPT_ODEV" },
  flags = { text = "flags" },
  dict  = { text = "dict" },
  conv  = { text = "conv" },
}
local BIT_ORDER = { "CRIU_OPT_HEX", "CRIU_OPT_IPADD", "CRIU_OPT_DEV", "CRIU_OPT_ODEV" }

-- protobuf's own field options: they say nothing to crit, so they pass.
local STANDARD_OPTIONS = { packed = true, default = true, deprecated = true, lazy = true,
                           json_name = true, ctype = true, jstype = true, weak = true }

local FIELD_LABELS = { optional = true, required = true, repeated = true }

-- One error path: "file:line: what", exit status 1, nothing on stdout.
local function fail(file, line, message)
  io.stderr:write(("gen-criu-opts: %s:%d: %s\n"):format(file, line, message))
  os.exit(1)
end

---------------------------------------------------------------- tokens

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then
    io.stderr:write("gen-criu-opts: " .. err .. "\n")
    os.exit(1)
  end
  local text = f:read("a")
  f:close()
  return text
end

-- Length of the quoted string starting at text[i], or nil if it never ends
-- on that line (protobuf strings cannot span lines).
local function string_length(text, i)
  local quote, j = text:sub(i, i), i + 1
  while j <= #text do
    local c = text:sub(j, j)
    if c == "\\" then j = j + 1
    elseif c == quote then return j - i + 1
    elseif c == "\n" then return nil end
    j = j + 1
  end
end

-- Skips a comment at text[i]; returns the next position and the newlines
-- it held, or nil if there is no comment there.
local function skip_comment(text, i, file, line)
  local two = text:sub(i, i + 1)
  if two == "//" then
    local stop = text:find("\n", i, true) or #text + 1
    return stop, 0
  elseif two == "/*" then
    local stop = text:find("*/", i + 2, true)
    if not stop then fail(file, line, "unterminated /* comment") end
    local _, newlines = text:sub(i, stop):gsub("\n", "")
    return stop + 2, newlines
  end
end

-- Names (dotted names stay split at the dots), numbers, strings, and single
-- punctuation characters, each with its line; comments are dropped.
local function tokenize(text, file)
  local tokens, i, line = {}, 1, 1
  local function add(kind, value) tokens[#tokens + 1] = { kind = kind, value = value, line = line } end
  while i <= #text do
    local c = text:sub(i, i)
    local after_comment, newlines = skip_comment(text, i, file, line)
    if after_comment then
      i, line = after_comment, line + newlines
    elseif c == "\n" then
      i, line = i + 1, line + 1
    elseif c:match("%s") then
      i = i + 1
    elseif c:match("[%a_]") then
      local name = text:match("^[%w_]+", i)
      add("name", name); i = i + #name
    elseif c:match("%d") then
      local number = text:match("^%d[%w.]*[eE][+-]%d+", i) or text:match("^[%w.]+", i)
      add("number", number); i = i + #number
    elseif c == '"' or c == "'" then
      local n = string_length(text, i) or fail(file, line, "unterminated string")
      add("string", text:sub(i + 1, i + n - 2)); i = i + n
    elseif c:match("[{}%[%]()<>;,=.+-]") then
      add("punct", c); i = i + 1
    else
      fail(file, line, ("unexpected character '%s'"):format(c))
    end
  end
  add("eof", "end of file")
  return tokens
end

---------------------------------------------------------------- parser

-- A cursor over one file's tokens.
local Parser = {}
Parser.__index = Parser

local function new_parser(file)
  local p = setmetatable({ file = file, pos = 1, package = nil }, Parser)
  p.tokens = tokenize(read_file(file), file)
  return p
end

function Parser:peek(ahead) return self.tokens[self.pos + (ahead or 0)] end

function Parser:fail(message, token)
  fail(self.file, (token or self:peek()).line, message)
end

function Parser:next()
  local t = self:peek()
  if t.kind ~= "eof" then self.pos = self.pos + 1 end
  return t
end

function Parser:accept(value)
  local t = self:peek()
  if t.kind ~= "string" and t.value == value then return self:next() end
end

function Parser:expect(value)
  local t = self:peek()
  if t.kind == "string" or t.value ~= value then
    self:fail(("expected '%s', found '%s'"):format(value, t.value))
  end
  return self:next()
end

function Parser:expect_kind(kind, what)
  local t = self:peek()
  if t.kind ~= kind then self:fail(("expected %s, found '%s'"):format(what, t.value)) end
  return self:next()
end

-- A dotted name such as google.protobuf.FieldOptions or .outer.inner.
function Parser:dotted_name()
  local parts = {}
  if self:accept(".") then parts[1] = "" end
  repeat
    parts[#parts + 1] = self:expect_kind("name", "a name").value
  until not self:accept(".")
  return table.concat(parts, ".")
end

-- Skips up to and including the ';' that ends a statement.
function Parser:skip_statement()
  while not self:accept(";") do
    if self:peek().kind == "eof" then self:fail("missing ';'") end
    if self:peek().value == "{" then self:fail("unexpected '{'") end
    self:next()
  end
end

-- Skips a { ... } body whose contents do not matter here (enum, extend,
-- service): braces nest, so count them.
function Parser:skip_body()
  self:expect("{")
  local depth = 1
  while depth > 0 do
    local t = self:next()
    if t.kind == "eof" then self:fail("missing '}'", t) end
    if t.kind == "punct" and t.value == "{" then depth = depth + 1 end
    if t.kind == "punct" and t.value == "}" then depth = depth - 1 end
  end
end

-- A field number: decimal, hex or octal, as protobuf writes integers.
function Parser:field_number()
  local t = self:expect_kind("number", "a field number")
  local n = t.value:match("^0[xX]%x+$") and tonumber(t.value:sub(3), 16)
         or t.value:match("^0[0-7]*$") and tonumber(t.value, 8)
         or t.value:match("^[1-9]%d*$") and tonumber(t.value)
  if not n or n < 1 or n > 0x1fffffff then self:fail("bad field number '" .. t.value .. "'", t) end
  return n
end

---------------------------------------------------------------- field options

-- The name of one option: `packed`, `(criu).hex`, `(criu.hex)`.
-- Returns the extension name in parentheses (or nil) and the rest.
function Parser:option_name()
  if self:accept("(") then
    local extension = self:dotted_name()
    self:expect(")")
    local rest = {}
    while self:accept(".") do rest[#rest + 1] = self:expect_kind("name", "a name").value end
    return extension, table.concat(rest, ".")
  end
  return nil, self:dotted_name()
end

-- A standard option's value is not needed: skip its tokens.
function Parser:skip_option_value()
  local t = self:peek()
  if t.value == "{" then self:fail("aggregate option values are not supported") end
  if t.value == "-" or t.value == "+" then self:next() end
  local value = self:next()
  if value.kind == "punct" or value.kind == "eof" then
    self:fail(("expected an option value, found '%s'"):format(value.value), value)
  end
end

-- The value of a (criu) option, checked against the kind the option takes.
function Parser:criu_option_value(name, spec)
  local t = self:next()
  if spec.bit then
    if t.kind ~= "name" or (t.value ~= "true" and t.value ~= "false") then
      self:fail(("(criu).%s takes true or false, not '%s'"):format(name, t.value), t)
    end
    return t.value == "true"
  end
  if t.kind ~= "string" then
    self:fail(("(criu).%s takes a string, not '%s'"):format(name, t.value), t)
  end
  if t.value:find("\\", 1, true) then
    self:fail(("(criu).%s: escapes in the string are not supported"):format(name), t)
  end
  return t.value
end

-- Adds one (criu) option to the row being built.
function Parser:criu_option(row, name, token)
  local spec = CRIU_OPTIONS[name]
  if not spec then self:fail(("unknown option (criu).%s"):format(name), token) end
  if row.seen[name] then self:fail(("(criu).%s given twice"):format(name), token) end
  row.seen[name] = true
  local value = self:criu_option_value(name, spec)
  if spec.bit then
    row.bits[spec.bit] = value or nil
  else
    row[spec.text] = value
  end
end

-- `[ option = value, ... ]` after a field; returns the (criu) options as
-- { bits = {CRIU_OPT_X = true}, flags =, dict =, conv = }, or nil if none.
function Parser:field_options()
  if not self:accept("[") then return nil end
  local row = { bits = {}, seen = {} }
  repeat
    local token = self:peek()
    local extension, name = self:option_name()
    self:expect("=")
    if extension == "criu" then
      self:criu_option(row, name, token)
    elseif extension == nil and STANDARD_OPTIONS[name] then
      self:skip_option_value()
    else
      local shown = extension and ("(" .. extension .. ")" .. (name ~= "" and "." .. name or "")) or name
      self:fail(("unknown option %s"):format(shown), token)
    end
  until not self:accept(",")
  self:expect("]")
  if next(row.seen) then return row end
end

---------------------------------------------------------------- messages

-- One field: `[label] type name = number [options];` (the label is absent
-- in a oneof, and a map<K, V> type has no label either).
function Parser:field(scope, rows)
  local start = self:peek()
  if FIELD_LABELS[start.value] and start.kind == "name" then self:next() end
  if self:accept("map") then
    self:expect("<"); self:dotted_name(); self:expect(","); self:dotted_name(); self:expect(">")
  else
    if self:peek().value == "group" then self:fail("groups are not supported") end
    self:dotted_name()
  end
  local name = self:expect_kind("name", "a field name").value
  self:expect("=")
  local number = self:field_number()
  local row = self:field_options()
  self:expect(";")
  if row then
    row.message, row.field, row.name, row.file, row.line = scope, number, name, self.file, start.line
    rows[#rows + 1] = row
  end
end

-- A oneof's fields belong to the enclosing message.
function Parser:oneof(scope, rows)
  self:dotted_name()
  self:expect("{")
  while not self:accept("}") do
    if self:accept("option") then self:skip_statement()
    elseif not self:accept(";") then self:field(scope, rows) end
  end
end

-- The statements a message body may hold, by their first word.
local MESSAGE_STATEMENTS = {
  message = function(p, scope, rows) p:message(scope, rows) end,
  enum = function(p) p:dotted_name(); p:skip_body() end,
  extend = function(p) p:dotted_name(); p:skip_body() end,
  oneof = function(p, scope, rows) p:oneof(scope, rows) end,
  option = function(p) p:skip_statement() end,
  reserved = function(p) p:skip_statement() end,
  extensions = function(p) p:skip_statement() end,
}

-- `message NAME { ... }`; the full name is the enclosing one, a dot, NAME.
function Parser:message(outer, rows)
  local name = self:expect_kind("name", "a message name").value
  local scope = outer and (outer .. "." .. name) or name
  self:expect("{")
  while not self:accept("}") do
    local t = self:peek()
    local statement = t.kind == "name" and MESSAGE_STATEMENTS[t.value]
    if t.kind == "eof" then self:fail("missing '}' of message " .. scope) end
    if statement then
      self:next()
      statement(self, scope, rows)
    elseif not self:accept(";") then
      self:field(scope, rows)
    end
  end
end

-- The statements of a file's top level, by their first word.
local FILE_STATEMENTS = {
  syntax = function(p)
    p:expect("="); local t = p:expect_kind("string", "a syntax name")
    if t.value ~= "proto2" then p:fail("only proto2 is supported, not " .. t.value, t) end
    p:expect(";")
  end,
  import = function(p) p:skip_statement() end,
  option = function(p) p:skip_statement() end,
  package = function(p) p.package = p:dotted_name(); p:expect(";") end,
  message = function(p, rows) p:message(p.package, rows) end,
  enum = function(p) p:dotted_name(); p:skip_body() end,
  extend = function(p) p:dotted_name(); p:skip_body() end,
  service = function(p) p:dotted_name(); p:skip_body() end,
}

-- Every field of one file that carries (criu) options.
local function parse_file(file)
  local p, rows = new_parser(file), {}
  while p:peek().kind ~= "eof" do
    local t = p:next()
    local statement = t.kind == "name" and FILE_STATEMENTS[t.value]
    if statement then
      statement(p, rows)
    elseif t.value ~= ";" then
      p:fail(("unexpected '%s' at the top level"):format(t.value), t)
    end
  end
  return rows
end

---------------------------------------------------------------- output

-- The order schema.c's bsearch expects: strcmp on the name, then the number.
local function row_before(a, b)
  if a.message ~= b.message then return a.message < b.message end
  return a.field < b.field
end

-- Two rows for one (message, field) would make the bsearch ambiguous.
local function check_unique(rows)
  for i = 2, #rows do
    local a, b = rows[i - 1], rows[i]
    if a.message == b.message and a.field == b.field then
      fail(b.file, b.line, ("%s field %d already has options (%s:%d)"):format(
        b.message, b.field, a.file, a.line))
    end
  end
end

local function c_string(s)
  if s == nil then return "NULL" end
  return '"' .. s:gsub("[^ -~]", function(c) return ("\\%03o"):format(c:byte()) end) .. '"'
end

local function c_bits(bits)
  local names = {}
  for _, name in ipairs(BIT_ORDER) do
    if bits[name] then names[#names + 1] = name end
  end
  return #names > 0 and table.concat(names, " | ") or "0"
end

local function c_row(row)
  return ("\t{ %s, %d, %s, %s, %s, %s },\t/* %s */"):format(c_string(row.message), row.field,
    c_bits(row.bits), c_string(row.flags), c_string(row.dict), c_string(row.conv), row.name)
end

local function c_file(rows)
  local out = {
    "/* Generated by tools/gen-criu-opts.lua from the (criu) options of proto/.",
    " * Do not edit: run the generator again when the schema changes. */",
    '#include "criu_opts.h"',
    "",
    "const struct criu_field_opt criu_field_opts[] = {",
  }
  for _, row in ipairs(rows) do out[#out + 1] = c_row(row) end
  -- C forbids an empty initializer list; the count keeps this row unused.
  if #rows == 0 then out[#out + 1] = "\t{ NULL, 0, 0, NULL, NULL, NULL }," end
  out[#out + 1] = "};"
  out[#out + 1] = ""
  out[#out + 1] = ("const size_t criu_field_opts_count = %d;"):format(#rows)
  return table.concat(out, "\n") .. "\n"
end

---------------------------------------------------------------- main

local function main(files)
  if #files == 0 then
    io.stderr:write("usage: lua5.4 tools/gen-criu-opts.lua proto/*.proto > criu_opts.c\n")
    os.exit(1)
  end
  -- Lua compares strings with strcoll; the C locale makes that strcmp.
  os.setlocale("C", "collate")
  local rows = {}
  for _, file in ipairs(files) do
    for _, row in ipairs(parse_file(file)) do rows[#rows + 1] = row end
  end
  table.sort(rows, row_before)
  check_unique(rows)
  io.write(c_file(rows))
end

main(arg)
