-- Where the commands read and write: a path, or stdin/stdout when the
-- option is absent or "-". Inputs are never seeked, so pipes work.
local core = require "crit.core"
local layout = require "crit.layout"
local lfs = require "lfs"

local io_stdin, io_stdout, io_open = io.stdin, io.stdout, io.open
local error, tostring, collectgarbage, setmetatable = error, tostring, collectgarbage, setmetatable

local stdio = {}

--- Whether a path option means the standard stream.
function stdio.is_std(path)
  return path == nil or path == "-"
end

--- open_image(path) -> core index of the image at path (a file, or
--- ARCHIVE//MEMBER: an image inside a checkpoint archive), or of stdin
--- (mapped if it is a file; a pipe is copied to a temporary file first,
--- so that memory stays flat). A missing file or a corrupt header
--- raises: the CLI prints it.
function stdio.open_image(path)
  if stdio.is_std(path) then
    local index, err = core.open(0, "stdin")
    if not index then error(err, 0) end
    return index
  end
  local index, err = layout.open(path)
  if not index then error(err, 0) end
  return index
end

--- open_text(path) -> a Lua file to read, and its name for messages.
function stdio.open_text(path)
  if stdio.is_std(path) then return io_stdin, "stdin" end
  local f, err = io_open(path, "rb")
  if not f then error(err, 0) end
  return f, path
end

--- stdout_name() -> what errors call stdout: the file it was redirected
--- to (`> file`: "/tmp/out.json"), else "stdout" (a pipe, a terminal).
function stdio.stdout_name()
  local target = lfs.symlinkattributes("/proc/self/fd/1", "target")
  if target and target:sub(1, 1) == "/" and lfs.attributes(target, "mode") == "file" then
    return target
  end
  return "stdout"
end

--- output(path) -> core output, whether it is stdout. A file is written
--- atomically: it appears, complete, only when the output is finished;
--- closing an unfinished output (an error, a `<close>` variable going out
--- of scope) leaves no file behind.
function stdio.output(path)
  if stdio.is_std(path) then
    io_stdout:flush()
    return core.output(io_stdout, { name = stdio.stdout_name() }), true
  end
  return core.output(path), false
end

--- write_stdout(s): text to stdout, raising on a write error (a full disk).
function stdio.write_stdout(s)
  local ok, err = io_stdout:write(s)
  if not ok then error(core.error{ file = stdio.stdout_name(), message = tostring(err) }, 0) end
end

--- flush_stdout(): raise if buffered output could not be written.
function stdio.flush_stdout()
  local ok, err = io_stdout:flush()
  if not ok then error(core.error{ file = stdio.stdout_name(), message = tostring(err) }, 0) end
end

--- stdio.gc_pause(p) -> a to-be-closed value: the collector's pause is p
--- until it is closed, then what it was. A command that makes many
--- short-lived tables next to big long-lived ones (a million VMAs) keeps
--- its peak nearer the live data with a pause below Lua's 200%.
function stdio.gc_pause(p)
  local was = collectgarbage("setpause", p)
  return setmetatable({}, { __close = function() collectgarbage("setpause", was) end })
end

return stdio
