-- crit.lua inspect: what a container checkpoint is (crit.inspect), as
-- checkpointctl show and inspect tell it, for an archive or a directory.
local inspect = require "crit.inspect"
local stdio = require "crit.cmd.stdio"

local M = {}

local DESCRIPTION = [[
Describe a container checkpoint: a podman or CRI-O checkpoint archive
(podman container checkpoint --export, the kubelet's checkpoint API: a tar,
plain, gzip or zstd, read in place), the directory it was extracted to, or
a bare criu images directory.

   Container   name, ID, image and image ID, engine (Podman or CRI-O, from
               spec.dump's annotations), OCI runtime, creation time, the
               time of the checkpoint (config.dump's, else the time
               inventory.img was written), pod and namespace (CRI-O),
               hostname and command (spec.dump).
   criu        which criu wrote the images, as far as they tell (criu 4.2
               and later count pages in pagemap nr_pages).
   Sizes       the archive, checkpoint/ (the images), the memory pages
               (pages-N.img), rootfs-diff.tar and volumes/.
   Processes   the process tree from pstree.img, each with its command
               line (argv, read from its dumped memory), and with --env its
               environment; its open files by fd (path, pipe, socket) and
               its sockets (family, type, state, address).
   Mounts      from spec.dump (destination, type, source), or without it
               from the mountpoints image.
   Network     network.status as the engine wrote it ("none" for null).
   Deleted files   deleted.files: files removed from the container's root.
   Dump statistics criu's stats-dump: times in microseconds, page counts.

The metadata files are JSON (config.dump, spec.dump, network.status,
deleted.files), read with lua-cjson where it is installed (without it
they are named under "Problem" as not read); a file beside checkpoint/
that is not one of the known ones is named under "Not recognised"; a
metadata file that is not JSON is named under "Problem". A bare images directory has no container metadata:
those sections are left out.]]

local EPILOG = [[
Examples:
   crit.lua inspect bb-sleep.tar.gz
   crit.lua inspect bb-sleep.tar.gz --env
   crit.lua inspect bb-sleep.tar.gz --json | jq '.container.name, .sizes'
   crit.lua inspect extracted/ --json | jq '.processes[0].args'

Exit status: 0 on success, 1 on an error (not a checkpoint, a corrupt
archive or image: the message names it), 2 on wrong usage.]]

function M.add_to_parser(parser)
  local cmd = parser:command("inspect")
    :summary("Describe a container checkpoint (archive or directory), as checkpointctl does.")
    :description(DESCRIPTION)
    :epilog(EPILOG)
  cmd:argument("CHECKPOINT"):target("checkpoint")
    :description("A checkpoint archive (tar, tar.gz, tar.zst) or directory.")
  cmd:flag("--env")
    :description("Show each process's environment too.")
  cmd:flag("--json")
    :description("Write the report as one JSON object (exact integers).")
end

function M.command(args)
  local r, err = inspect.collect(args.checkpoint, { env = args.env })
  if not r then return nil, err end
  stdio.write_stdout(args.json and inspect.json(r) or inspect.text(r, { env = args.env }))
  stdio.flush_stdout()
  return true
end

return M
