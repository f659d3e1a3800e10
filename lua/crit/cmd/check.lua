-- crit.lua check: placeholder until the command lands.
local M = {}

function M.add_to_parser(parser)
  parser:command("check"):summary("(not written yet)"):hidden(true)
end

function M.command()
  return nil, "check: not written yet"
end

return M
