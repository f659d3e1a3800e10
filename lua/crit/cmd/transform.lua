-- crit.lua transform: run a Lua script over a checkpoint directory (or one
-- image on stdin) and write the result; the engine is crit.transform.
-- crit.transform needs LuaFileSystem: loaded when the command runs, so
-- that the other commands work without it.
local stdio = require "crit.cmd.stdio"
local usage = require "crit.cmd.usage"

local ipairs, pairs, pcall, tostring, type, require = ipairs, pairs, pcall, tostring, type, require
local string_format, table_sort, table_concat = string.format, table.sort, table.concat
local io_stdin = io.stdin

local M = {}

local DESCRIPTION = [[
Run a Lua script over a checkpoint directory and write the result to a new
directory (-o), or back into DIR (--in-place), or only show what would
change (--dry-run).

The script is a Lua file that returns a function:

   return function(d, args)
     local core = assert(d:core(1234))
     core.tc.comm = "renamed"
   end

d is the directory object of crit.dir (d:image(name), d:tasks(), d:core(pid),
d:mm(pid), d:fs(pid), d:fdinfo(pid), d:file(id), ...). Entries read from it
are the images' own tables: change them in place. d also has:
   d:new_image(name, magic)    a new empty image ("utsns-12", "UTSNS")
   d:set_image(name, img)      replace an image with another image object
   d:remove_image(name)        leave the image out
   d:patch(name, off, bytes)   overwrite bytes of a raw image (pages-N)
   d:write_memory(pid, addr, bytes)   change dumped memory (patches pages)
args is the list of the arguments after `--`. The script may require
"crit", "crit.memory", "crit.transform" (pagemap and version conversions).

Only images whose bytes changed are re-encoded: an image that was only read
is the same file. The other files (raw pages, logs, the `parent` symlink)
are hard-linked into OUTDIR, or copied with --copy (a reflink where the
filesystem can). lua-crit never writes a file in place, so hard links are
safe with lua-crit and criu dump/restore; use --copy if the output will be
restored with `criu restore --auto-dedup` (which punches holes in pages
files) or edited by tools that write in place.

Nothing is written until the script has run and every changed image is
encoded: a failing script leaves DIR untouched and creates no OUTDIR.
OUTDIR must not exist: it is built under a temporary name next to it
(OUTDIR.crit-tmp-*) and renamed when complete. --in-place writes the
changed images to a staging directory in DIR (.crit-transform-*), then
renames each over its original (each rename is atomic) and removes the
images the script removed. --dry-run builds the result in a temporary
directory, prints its differences from DIR (as `crit.lua diff`) and
removes it.

DIR may be a container checkpoint archive (podman, CRI-O: a tar, plain,
gzip or zstd, recognised by its content). Then -o names the new archive
(NEW.tar, NEW.tar.gz, NEW.tar.zst): every member of the old one is copied
as it is (config.dump, spec.dump, rootfs-diff.tar, volumes, the images that
did not change), the changed images are re-encoded in their place; it is
compressed as DIR is, unless --compress says otherwise (the file name does
not choose). It is written to a temporary file and renamed when complete;
--in-place replaces DIR the same way. `podman container restore --import`
restores it.

Stream mode: with DIR "-", one image is read from stdin and written to
stdout; the script's function gets the image object (not a directory) and
may return another image to write instead.]]

local EPILOG = [[
Examples (scripts in examples/transforms, see examples/README.md):
   crit.lua transform dump hostname.lua -o dump2 -- newhost
   crit.lua transform dump rename-path.lua --in-place -- /old /new
   crit.lua transform dump set-rlimit.lua --dry-run -- NOFILE=4096
   crit.lua transform - pagemap-layout.lua -- 4.1 < pagemap-1.img > old.img
   crit.lua transform bb.tar.gz set-rlimit.lua -o bb2.tar.gz -- NOFILE=4096

Exit status:
   0  success.
   1  an error: the script failed (nothing was written), a missing or
      corrupt image, OUTDIR exists.
   2  wrong usage: an unknown option, a missing argument, none or two
      of -o, --in-place and --dry-run.]]

function M.add_to_parser(parser)
  local cmd = parser:command("transform")
    :summary("Run a Lua script over a checkpoint directory and write the result.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("DIR"):target("dir")
    :description("The checkpoint directory, a container checkpoint archive,\n"
      .. "or - for one image on stdin.")
  cmd:argument("SCRIPT"):target("script")
    :description("A Lua file returning function(d, args).")
  cmd:argument("args"):args("*")
    :description("Arguments for the script (after --).")
  local output = cmd:option("-o --output"):target("output"):argname("OUTDIR")
    :description("Write the result to this new directory.")
  local in_place = cmd:flag("--in-place"):target("in_place")
    :description("Write the changed images back into DIR.")
  local dry_run = cmd:flag("--dry-run"):target("dry_run")
    :description("Print what would change; write nothing.")
  cmd:flag("--copy")
    :description("Copy unchanged files into OUTDIR instead of hard-linking them.")
  cmd:option("--compress"):choices({ "none", "gzip", "zstd" }):argname("HOW")
    :description("Archives: compress the new archive so (default: as DIR is).")
  cmd:mutex(output, in_place, dry_run)
  usage.check(cmd, function(args)
    local mode = args.output or args.in_place or args.dry_run
    if args.dir ~= "-" and not mode then return "-o OUTDIR, --in-place or --dry-run is needed" end
    if args.dir == "-" and (mode or args.copy) then
      return "DIR - writes the image to stdout: no -o, --in-place, --dry-run or --copy"
    end
  end)
end

-- What a dry run prints: diff.dirs's changes when crit.diff is there,
-- else the list of images that would be written or removed.
local function describe(src, tmp, actions)
  local lfs = require "lfs"
  local ok, diff = pcall(require, "crit.diff")
  local out = {}
  if ok and type(diff) == "table" and diff.dirs then
    local dirlib = require "crit.dir"
    local changes = diff.dirs(assert(dirlib.open(src)), assert(dirlib.open(tmp)))
    if diff.text then
      out[1] = diff.text(changes)
      if #changes == 0 then out[1] = "no changes\n" end
    else
      for _, c in ipairs(changes) do
        out[#out + 1] = string_format("%s[%s] %s: %s -> %s\n", tostring(c.image), tostring(c.entry),
          tostring(c.path), tostring(c.old), tostring(c.new))
      end
    end
    return table_concat(out)
  end
  local files = {}
  for f, action in pairs(actions) do
    if action == "remove" then files[#files + 1] = "removed  " .. f
    elseif type(action) == "function" then
      files[#files + 1] = (lfs.attributes(src .. "/" .. f) and "changed  " or "added    ") .. f
    end
  end
  table_sort(files, function(a, b) return a:sub(10) < b:sub(10) end)
  if #files == 0 then return "no changes\n" end
  return table_concat(files, "\n") .. "\n"
end

-- An archive in, an archive out: -o NEW, --in-place (a new archive over
-- the old), or --dry-run (a new archive in TMPDIR, compared and removed).
local function to_archive(transform, d, src, actions, args)
  local opts = { compression = args.compress }
  if args.in_place then
    transform.to_archive(d, src, actions, opts)
  elseif args.output then
    local lfs = require "lfs"
    if lfs.symlinkattributes(args.output) then return nil, args.output .. ": already exists" end
    transform.to_archive(d, args.output, actions, opts)
  else
    local tmp = os.tmpname()
    local ok, err = pcall(transform.to_archive, d, tmp, actions, opts)
    local text
    if ok then ok, text = pcall(describe, src, tmp, actions) else text = err end
    os.remove(tmp)
    if not ok then return nil, text end
    stdio.write_stdout(text)
  end
  return true
end

local function stream(transform, fn, args)
  local bytes = io_stdin:read("a")
  if not bytes then return nil, "stdin: cannot read" end
  local result = transform.image(bytes, fn, args)
  stdio.write_stdout(result)
  stdio.flush_stdout()
  return true
end

function M.command(args)
  local transform, lfs = require "crit.transform", require "lfs"
  local fn, err = transform.load_script(args.script)
  if not fn then return nil, err end
  if args.dir == "-" then return stream(transform, fn, args.args) end
  -- what a run killed part-way left: finished, or undone
  transform.recover((args.dir:gsub("(.)/+$", "%1")), args.output)
  local d, actions = transform.run(args.dir, fn, args.args)
  local src = d.path:gsub("/+$", "")
  local from_archive = transform.from_archive(d)
  if from_archive then return to_archive(transform, d, from_archive, actions, args) end
  if args.compress then return nil, "transform: --compress is for archives" end
  if args.in_place then
    transform.in_place(src, actions)
  elseif args.output then
    transform.to_dir(src, args.output, actions, { copy = args.copy })
  else
    -- next to DIR, where hard links work; else in /tmp (copies)
    local made, tmp = pcall(transform.temp_dir, src)
    if not made then tmp = transform.temp_dir(os.tmpname()) end
    lfs.rmdir(tmp)
    transform.to_dir(src, tmp, actions, {})
    local ok, text = pcall(describe, src, tmp, actions)
    transform.remove_tree(tmp)
    if not ok then return nil, text end
    stdio.write_stdout(text)
  end
  return true
end

return M
