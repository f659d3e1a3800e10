-- gen-man.lua: the crit.lua(1) man page, made from the argparse parsers of
-- crit.cli, the same text --help prints, so that the two cannot drift.
-- Usage: lua5.4 tools/gen-man.lua > build/crit.lua.1 (crit's modules on the paths).
local cli = require "crit.cli"

local ipairs, table_concat = ipairs, table.concat

local NAME = "read, edit and write CRIU checkpoint images"

local out = {}
local function emit(s) out[#out + 1] = s end

-- Text for roff: backslashes, minus signs, and a line that would start with
-- a control character.
local function esc(s)
  s = s:gsub("\\", "\\e"):gsub("%-", "\\-")
  if s:match("^[.']") then s = "\\&" .. s end
  return s
end

local function lines_of(text)
  local t = {}
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

-- A heading line of --help text: "Examples:", "Exit status:", "EXAMPLES".
local function heading(line)
  return line:match("^([A-Z][%a ]*):$") or line:match("^([A-Z][A-Z ]+)$")
end

-- One paragraph of --help text: unindented lines are filled, indented ones
-- (tables, examples) kept as they are.
local function paragraph(lines)
  emit(".PP")
  local i = 1
  while i <= #lines do
    if lines[i]:match("^%s") then
      local block, indent = {}, math.huge
      while i <= #lines and (lines[i]:match("^%s") or lines[i] == "") do
        block[#block + 1] = lines[i]
        indent = math.min(indent, #lines[i]:match("^ *"))
        i = i + 1
      end
      emit(".RS 4\n.nf")
      for _, l in ipairs(block) do emit(esc(l:sub(indent + 1))) end
      emit(".fi\n.RE")
    else
      emit(esc(lines[i]))
      i = i + 1
    end
  end
end

-- text: --help prose, paragraphs between blank lines. A paragraph that
-- starts with a heading gets a section of its own (top) or a bold title.
local function prose(text, top)
  local para = {}
  local function flush()
    if #para == 0 then return end
    local title = heading(para[1])
    if title then
      local line = table.remove(para, 1)
      if top then emit('.SH "' .. esc(title:upper()) .. '"') else emit(".PP\n.B " .. esc(line)) end
    end
    if #para > 0 then paragraph(para) end
    para = {}
  end
  for _, l in ipairs(lines_of(text or "")) do
    if l:match("^%s*$") then flush() else para[#para + 1] = l end
  end
  flush()
end

-- The arguments and options of a parser, as --help lists them.
local function elements(p)
  for _, list in ipairs({ p._arguments, p._options }) do
    for _, el in ipairs(list) do
      if not el._hidden then
        emit(".TP")
        local label = {}
        for i, l in ipairs(el:_get_label_lines()) do label[i] = l:match("^%s*(.-)%s*$") end
        emit("\\fB" .. esc(table_concat(label, " ")) .. "\\fR")
        emit(esc((el:_get_description():gsub("\n", " "))))
      end
    end
  end
end

local function usage(p)
  emit(".nf")
  for _, l in ipairs(lines_of(p:get_usage():gsub("^Usage: ", ""))) do emit(esc(l)) end
  emit(".fi")
end

local parser = cli.parser()
emit(('.TH CRIT.LUA 1 "" "lua-crit %s" "User Commands"'):format(cli.VERSION))
emit(".SH NAME\ncrit.lua \\- " .. NAME)
emit(".SH SYNOPSIS")
usage(parser)
for _, c in ipairs(parser._commands) do
  if not c._hidden then usage(c) end
end
emit(".SH DESCRIPTION")
prose(parser._description)
emit(".SH OPTIONS")
elements(parser)
emit(".SH COMMANDS")
for _, c in ipairs(parser._commands) do
  if not c._hidden then
    emit('.SS "' .. esc(c._name) .. '"')
    usage(c)
    prose(c._description)
    elements(c)
    prose(c._epilog)
  end
end
prose(parser._epilog, true)
emit('.SH "SEE ALSO"\n.BR criu (8)')
io.write(table_concat(out, "\n"), "\n")
