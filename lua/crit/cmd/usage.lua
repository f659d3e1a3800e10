-- Wrong usage, the one kind of error that exits 2: argparse's own (an
-- unknown option, a missing argument) and what a command finds wrong in
-- its arguments once they are parsed (an option that needs another, a
-- PID that is not a number). The CLI prints the command's usage for both.
local error, getmetatable, setmetatable = error, getmetatable, setmetatable

local usage = {}

local UsageError = {}

--- raise(parser, msg): raise a usage error of the (sub)command parser.
function usage.raise(parser, msg)
  error(setmetatable({ parser = parser, msg = msg }, UsageError), 0)
end

--- is(err) -> whether err was raised by usage.raise.
function usage.is(err)
  return getmetatable(err) == UsageError
end

--- check(cmd, fn): after cmd's arguments are parsed, fn(args) returns nil
--- when they make sense, else what is wrong: a usage error of cmd. fn
--- may also store in args what it parsed (numbers), for the command.
function usage.check(cmd, fn)
  cmd:action(function(args)
    local msg = fn(args)
    if msg then usage.raise(cmd, msg) end
  end)
end

return usage
