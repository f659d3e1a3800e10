-- crit.lua stats: placeholder until the command lands.
local M = {}

function M.add_to_parser(parser)
  parser:command("stats"):summary("(not written yet)"):hidden(true)
end

function M.command()
  return nil, "stats: not written yet"
end

return M
