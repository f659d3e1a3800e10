-- crit.lua diff: placeholder until the command lands.
local M = {}

function M.add_to_parser(parser)
  parser:command("diff"):summary("(not written yet)"):hidden(true)
end

function M.command()
  return nil, "diff: not written yet"
end

return M
