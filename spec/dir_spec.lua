-- crit.dir: the checkpoint directory model, over the fixture dumps (whole
-- directories: sleep, sleep-criu4.1.1, misc) and, when it is there, the
-- corpus (S.CORPUS: ../shared/corpus).
local S = require "spec.support"
local crit = require "crit"
local dir = require "crit.dir"

local FIX = "spec/fixtures/corpus"
local CORPUS = S.CORPUS
local have_corpus = S.have_corpus()
local corpus_it = have_corpus and it or pending

local size_of = S.size_of

describe("crit.dir", function()
  after_each(S.cleanup)

  it("is crit.dir(path) in the Lua API", function()
    local d = assert(crit.dir(FIX .. "/sleep"))
    assert.equal(FIX .. "/sleep", d.path)
    local none, err = crit.dir(FIX .. "/no-such-dir")
    assert.is_nil(none)
    assert.matches("no%-such%-dir", err)
  end)

  it("lists every image by name, without .img", function()
    local d = assert(dir.open(FIX .. "/sleep"))
    local names = d:names()
    assert.same({ "core-30956", "fdinfo-2", "files", "fs-30956", "ids-30956", "inventory",
      "mm-30956", "pagemap-30956", "pages-1", "pstree", "seccomp", "stats-dump", "timens-0" }, names)
    for _, n in ipairs(names) do assert.truthy(d:image(n)) end
  end)

  it("splits image names into kind and id", function()
    assert.same({ "core", "31039" }, { dir.kind("core-31039") })
    assert.same({ "pagemap-shmem", "1110" }, { dir.kind("pagemap-shmem-1110") })
    assert.same({ "tcp-stream", "114bf" }, { dir.kind("tcp-stream-114bf") })
    assert.same({ "tmpfs-dev", "22" }, { dir.kind("tmpfs-dev-22.tar.gz") })
    assert.same({ "stats-dump" }, { dir.kind("stats-dump") })
    assert.same({ "files" }, { dir.kind("files") })
  end)

  it("returns nil, message for a missing image and caches images", function()
    local d = assert(dir.open(FIX .. "/sleep"))
    local img, err = d:image("core-1")
    assert.is_nil(img)
    assert.matches("core%-1%.img", err)
    assert.equal(d:image("pstree"), d:image("pstree"))
    assert.equal(size_of(FIX .. "/sleep/pages-1.img"), d:size("pages-1"))
  end)

  it("builds the process tree with zombies and stopped tasks (misc)", function()
    local d = assert(dir.open(FIX .. "/misc"))
    local tasks = assert(d:tasks())
    assert.equal(6, #tasks)
    assert.equal(1, #tasks.roots)
    local root = tasks.roots[1]
    assert.equal(31110, root.pid)
    assert.equal(4, #root.children)
    local z, s = assert(d:task(31113)), assert(d:task(31114))
    assert.is_true(z.zombie)
    assert.is_false(z.stopped)
    assert.is_true(s.stopped)
    assert.equal("stopped", s.state)
    assert.equal("crit-stopped", s.comm)
    assert.equal(31115, d:task(31118).parent.pid)
    -- a zombie has only its core image
    assert.is_nil((d:mm(31113)))
    assert.is_nil((d:fdinfo(31113)))
    assert.truthy(d:core(31113))
  end)

  it("reads each task's core, ids, mm, vmas, fs, fdinfo and pagemap", function()
    local d = assert(dir.open(FIX .. "/sleep"))
    local pid = 30956
    assert.equal("sleep", d:core(pid).tc.comm)
    local ids = assert(d:ids(pid))
    local fds = assert(d:fdinfo(pid))
    assert.equal(#assert(crit.open(FIX .. "/sleep/fdinfo-" .. ids.files_id .. ".img")), #fds)
    assert.equal(#d:mm(pid).vmas, #d:vmas(pid))
    assert.truthy(d:fs(pid).root_id)
    local head, entries = d:pagemap(pid)
    assert.equal(1, head.pages_id)
    local present = dir.page_counts(entries)
    assert.equal(size_of(FIX .. "/sleep/pages-1.img") // dir.PAGE_SIZE, present)
  end)

  it("reads both pagemap layouts (criu 4.2 nr_pages, 4.1 compat_nr_pages)", function()
    for _, name in ipairs({ "sleep", "sleep-criu4.1.1" }) do
      local d = assert(dir.open(FIX .. "/" .. name))
      local pid = d:tasks()[1].pid
      local _, entries = d:pagemap(pid)
      local present = dir.page_counts(entries)
      assert.equal(size_of(FIX .. "/" .. name .. "/pages-1.img") // 4096, present)
    end
  end)

  it("resolves files by id and lists every file", function()
    local d = assert(dir.open(FIX .. "/sleep"))
    local files = d:files()
    assert.equal(#assert(crit.open(FIX .. "/sleep/files.img")), #files)
    for _, fd in ipairs(d:fdinfo(30956)) do
      local f = assert(d:file(fd.id))
      assert.equal(fd.type, f.type)
    end
    assert.is_nil(d:file(999999))
  end)

  it("reads files from the per-type images of old dumps", function()
    local tmp = S.tmpdir()
    os.execute("cp -r " .. FIX .. "/sleep " .. tmp .. "/old")
    local files = assert(crit.open(tmp .. "/old/files.img"))
    local reg = crit.new("REG_FILES")
    for _, f in files:entries() do reg:append(f.reg) end
    assert(reg:write(tmp .. "/old/reg-files.img"))
    os.remove(tmp .. "/old/files.img")
    local d = assert(dir.open(tmp .. "/old"))
    assert.equal(#files, #d:files())
    local f = assert(d:file(files[1].id))
    assert.equal("REG", f.type)
    assert.equal(files[1].reg.name, f.reg.name)
  end)

  it("knows VMA kinds and roles, and pagemap flags", function()
    local V = dir.VMA
    assert.equal("file", dir.vma_kind(V.REGULAR | V.FILE_PRIVATE))
    assert.equal("anon", dir.vma_kind(V.REGULAR | V.ANON_PRIVATE | V.HEAP))
    assert.equal("heap", dir.vma_role({ status = V.REGULAR | V.ANON_PRIVATE | V.HEAP, flags = 0x22 }))
    assert.equal("stack", dir.vma_role({ status = V.REGULAR | V.ANON_PRIVATE, flags = 0x122 }))
    assert.is_nil(dir.vma_role({ status = V.REGULAR | V.ANON_PRIVATE, flags = 0x22 }))
    assert.equal("vsyscall", dir.vma_kind(V.VSYSCALL))
    assert.equal("sysv-shm", dir.vma_kind(V.REGULAR | V.SYSVIPC | V.ANON_SHARED))
    assert.equal(dir.PE.PARENT, dir.pagemap_flags({ in_parent = true }))
    assert.equal(dir.PE.PRESENT, dir.pagemap_flags({ vaddr = 0 }))
    assert.same({ 3, 2, 4 }, { dir.page_counts({
      { nr_pages = 3, flags = 4 }, { compat_nr_pages = 2, flags = 2 },
      { nr_pages = 4, flags = 1 }, { nr_pages = 9, flags = 0 } }) })
  end)

  it("lists namespaces from the tasks' ids and inventory", function()
    local d = assert(dir.open(FIX .. "/sleep"))
    local kinds = {}
    for _, ns in ipairs(d:namespaces()) do
      kinds[ns.kind] = true
      assert.same({ 30956 }, ns.pids)
    end
    for _, k in ipairs({ "pid", "net", "ipc", "uts", "mnt", "user" }) do assert.truthy(kinds[k]) end
  end)

  it("follows the parent link of an incremental dump", function()
    local d = assert(dir.open(FIX .. "/sleep"))
    assert.is_nil(d:parent())
    local tmp = S.tmpdir()
    os.execute("mkdir " .. tmp .. "/child && ln -s ../parent-dump " .. tmp .. "/child/parent")
    local child = assert(dir.open(tmp .. "/child"))
    assert.is_nil(child:parent())  -- the link leads nowhere
    os.execute("cp -r " .. FIX .. "/sleep " .. tmp .. "/parent-dump")
    child = assert(dir.open(tmp .. "/child"))
    local p = assert(child:parent())
    assert.equal("sleep", p:core(30956).tc.comm)
  end)

  corpus_it("finds sockets, memfd inodes, shmem pagemaps and SysV shm (corpus)", function()
    local d = assert(dir.open(CORPUS .. "/pyfds"))
    local families = {}
    for _, s in ipairs(d:sockets()) do families[s.family] = (families[s.family] or 0) + 1 end
    assert.same({ inet = 5, inet6 = 1, unix = 6, netlink = 1, packet = 1 }, families)
    local inode = assert(d:memfd_inode(1))
    assert.equal(1111, inode.shmid)
    local head, entries = assert(d:shmem_pagemap(1111))
    assert.truthy(head.pages_id)
    assert.truthy(#entries > 0)
    local ipc = assert(dir.open(CORPUS .. "/ipcns"))
    local ids = ipc:ids(ipc:tasks()[1].pid)
    local shm = ipc:image("ipcns-shm-" .. ids.ipc_ns_id)
    local first = shm[1]
    assert.equal(first.desc.key, ipc:sysv_shm(ids.ipc_ns_id, first.desc.id).desc.key)
    assert.is_nil(ipc:sysv_shm(ids.ipc_ns_id, -5))
  end)

  corpus_it("ties namespace images to their namespace (corpus nsfull)", function()
    local d = assert(dir.open(CORPUS .. "/nsfull"))
    local net
    for _, ns in ipairs(d:namespaces()) do
      if ns.kind == "net" and #ns.pids > 0 then net = ns end
    end
    assert.equal(10, net.id)
    assert.same({ 1, 7 }, net.pids)
    assert.truthy(table.concat(net.images, " "):find("netns%-10"))
  end)
end)
