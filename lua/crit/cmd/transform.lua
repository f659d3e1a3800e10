-- crit.lua transform: placeholder until the command lands.
local M = {}

function M.add_to_parser(parser)
  parser:command("transform"):summary("(not written yet)"):hidden(true)
end

function M.command()
  return nil, "transform: not written yet"
end

return M
