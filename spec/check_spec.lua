-- crit.check: fault injection. Each test copies a real dump, breaks one
-- thing, and expects exactly that finding (check, image, entry, path,
-- severity) and nothing else; and no finding at all on real dumps.
local crit = require "crit"
local dir = require "crit.dir"
local check = require "crit.check"
local support = require "spec.support"

local FIXTURES = "spec/fixtures/corpus"
local CORPUS = support.CORPUS
local PS = 4096

local function copy_fixture(name)
  local tmp = support.tmpdir()
  assert(os.execute(string.format("cp -r '%s/%s' '%s/dump'", FIXTURES, name, tmp)))
  os.execute("chmod -R u+w '" .. tmp .. "/dump'")
  return tmp .. "/dump"
end

local function findings_of(path, checks)
  return check.run(assert(dir.open(path)), checks)
end

local function describe_findings(fs)
  local lines = {}
  for _, f in ipairs(fs) do
    lines[#lines + 1] = string.format("%s %s %s: %s", f.severity, f.check, check.where(f), f.message)
  end
  return table.concat(lines, "\n")
end

-- The findings of a dump, less those that only name a restore option the
-- fixture needs as dumped (its file locks, its established TCP socket).
local function faults_of(path)
  local out = {}
  for _, f in ipairs(findings_of(path)) do
    if f.check ~= "options" then out[#out + 1] = f end
  end
  return out
end

-- Exactly one finding, matching every field of want.
local function expect_only(path, want)
  local fs = faults_of(path)
  if os.getenv("CHECK_SPEC_SHOW") then print(describe_findings(fs)) end
  assert.are.equal(1, #fs, "findings:\n" .. describe_findings(fs))
  local f = fs[1]
  for k, v in pairs(want) do
    assert.are.equal(v, f[k], k .. " of: " .. describe_findings(fs))
  end
  return f
end

-- Exactly one finding more than `before` (the findings of the dump as it
-- was), matching want: for partial fixtures, which have findings of their own.
local function expect_one_more(path, before, want)
  local fs = findings_of(path)
  local old = {}
  for _, f in ipairs(before) do old[describe_findings({ f })] = true end
  local new = {}
  for _, f in ipairs(fs) do
    if not old[describe_findings({ f })] then new[#new + 1] = f end
  end
  assert.are.equal(1, #new, "new findings:\n" .. describe_findings(new))
  for k, v in pairs(want) do assert.are.equal(v, new[1][k], k .. " of: " .. describe_findings(new)) end
  return new[1]
end

local function edit(path, fn)
  local img = assert(crit.open(path))
  fn(img)
  assert(img:write(path))
end

local function append_bytes(path, bytes)
  local f = assert(io.open(path, "ab"))
  f:write(bytes)
  f:close()
end

local function file_size(path)
  local f = assert(io.open(path, "rb"))
  local n = f:seek("end")
  f:close()
  return n
end

local function truncate(path, size)
  local bytes = support.read(path):sub(1, size)
  support.write(path, bytes)
end

-- The VMA of vmas that holds [a, b), or nil.
local function vma_holding(vmas, a, b)
  for i, v in ipairs(vmas) do
    if not math.ult(a, v.start) and not math.ult(v["end"], b) then return i, v end
  end
end

local SLEEP, SLEEP_PID = "sleep", 30956
local MISC = "misc"

describe("crit.check", function()
  after_each(support.cleanup)

  describe("real dumps", function()
    for _, name in ipairs({ "sleep", "sleep-criu4.1.1", "misc" }) do
      it("finds nothing in fixture " .. name, function()
        local fs = findings_of(FIXTURES .. "/" .. name)
        assert.are.equal(0, #fs, describe_findings(fs))
      end)
    end

    -- The options each corpus dump needs on restore: those it was dumped
    -- with (the corpus README's recipes), --root for the one with a mount
    -- namespace of its own, and nothing else.
    local have_corpus = support.exists(CORPUS .. "/README.md")
    local NEEDS = {
      tree = "--file-locks", ["tree-criu4.1.1"] = "--file-locks",
      pyfds = "--tcp-established --file-locks", shelljob = "--shell-job", nsfull = "--root PATH",
    }
    for _, name in ipairs({ "sleep", "tree", "pyfds", "misc", "manyfiles", "ipcns", "tty",
      "shelljob", "nsfull", "userns", "sleep-criu4.1.1", "tree-criu4.1.1", "misc-criu4.1.1" }) do
      local test = have_corpus and it or pending
      test("finds no error in corpus " .. name .. ", only the options its restore needs", function()
        local fs = findings_of(CORPUS .. "/" .. name)
        local errors = check.counts(fs)
        assert.are.equal(0, errors, describe_findings(fs))
        assert.are.equal(NEEDS[name] or "", table.concat(check.restore_options(fs), " "), describe_findings(fs))
        for _, f in ipairs(fs) do
          assert.is_truthy(f.option, "a finding that asks for no option: " .. describe_findings({ f }))
        end
        if name == "shelljob" then
          assert.are.equal(1, #fs)
          assert.are.equal("tree", fs[1].check)
          assert.are.equal("sid", fs[1].path)
        end
      end)
    end
  end)

  describe("catches", function()
    it("a missing inventory", function()
      local d = copy_fixture(SLEEP)
      os.remove(d .. "/inventory.img")
      expect_only(d, { check = "inventory", image = "inventory.img", severity = "error" })
    end)

    it("an unknown inventory version", function()
      local d = copy_fixture(SLEEP)
      edit(d .. "/inventory.img", function(img) img[1].img_version = 99 end)
      expect_only(d, { check = "inventory", image = "inventory.img", entry = 1,
        path = "img_version", severity = "error" })
    end)

    it("trailing bytes after the last entry", function()
      local d = copy_fixture(SLEEP)
      append_bytes(d .. "/fdinfo-2.img", "\1\2")
      expect_only(d, { check = "decode", image = "fdinfo-2.img", entry = 4, severity = "error" })
    end)

    it("an empty entry after the last one", function()
      local d = copy_fixture(SLEEP)
      append_bytes(d .. "/fdinfo-2.img", "\0\0\0\0")
      local f = expect_only(d, { check = "decode", image = "fdinfo-2.img", entry = 4, path = "id",
        severity = "error" })
      assert.matches("missing required field", f.message)
    end)

    it("a corrupt entry size", function()
      local d = copy_fixture(SLEEP)
      local bytes = support.read(d .. "/fs-" .. SLEEP_PID .. ".img")
      -- the first entry's size word follows the 8-byte header
      support.write(d .. "/fs-" .. SLEEP_PID .. ".img", bytes:sub(1, 8) .. string.pack("<I4", 1000) .. bytes:sub(13))
      expect_only(d, { check = "decode", image = "fs-" .. SLEEP_PID .. ".img", entry = 1, severity = "error" })
    end)

    it("a deleted mm image of a live task", function()
      local d = copy_fixture(SLEEP)
      os.remove(d .. "/mm-" .. SLEEP_PID .. ".img")
      local f = expect_only(d, { check = "tasks", image = "pstree.img", entry = 1, path = "pid", severity = "error" })
      assert.matches("mm%-" .. SLEEP_PID .. "%.img is missing", f.message)
    end)

    it("a deleted fs image", function()
      local d = copy_fixture(SLEEP)
      os.remove(d .. "/fs-" .. SLEEP_PID .. ".img")
      local f = expect_only(d, { check = "tasks", image = "pstree.img", entry = 1, path = "pid", severity = "error" })
      assert.matches("fs%-", f.message)
    end)

    it("a deleted fdinfo image", function()
      local d = copy_fixture(SLEEP)
      os.remove(d .. "/fdinfo-2.img")
      expect_only(d, { check = "ids", image = "ids-" .. SLEEP_PID .. ".img", entry = 1,
        path = "files_id", severity = "error" })
    end)

    it("a missing core for a thread", function()
      local d = copy_fixture(SLEEP)
      edit(d .. "/pstree.img", function(img) img[1].threads = { SLEEP_PID, 99999 } end)
      expect_only(d, { check = "tasks", image = "pstree.img", entry = 1, path = "threads[2]", severity = "error" })
    end)

    it("a dropped pstree entry (a parent of another task)", function()
      local d = copy_fixture(MISC)
      local child_k
      edit(d .. "/pstree.img", function(img)
        for k = 1, #img do if img[k].pid == 31115 then img:remove(k) break end end
        for k = 1, #img do if img[k].pid == 31118 then child_k = k end end
      end)
      os.remove(d .. "/core-31115.img") -- else also a core of no task
      expect_only(d, { check = "tree", image = "pstree.img", entry = child_k, path = "ppid", severity = "error" })
    end)

    it("tty data for a tty that is not in the dump", function()
      local d = copy_fixture("tty")   -- files.img, tty-info.img, tty-data.img only
      local before = findings_of(d)
      for _, f in ipairs(before) do assert.are_not.equal("files", f.check) end
      edit(d .. "/tty-data.img", function(img) img[1].tty_id = 77 end)
      expect_one_more(d, before, { check = "files", image = "tty-data.img", entry = 1, path = "tty_id",
        severity = "error" })
    end)

    it("a tty whose tty-info entry is missing", function()
      local d = copy_fixture("tty")
      local before = findings_of(d)
      local k
      edit(d .. "/files.img", function(img)
        for i = 1, #img do if img[i].type == "TTY" and img[i].tty.tty_info_id == 3 then k = i end end
        img[k].tty.tty_info_id = 9
      end)
      expect_one_more(d, before, { check = "files", image = "files.img", entry = k, path = "tty.tty_info_id",
        severity = "error" })
    end)

    -- A flock on the sleep task's fd 0: a valid dump first.
    local function with_lock(d, pid, fd)
      local locks = crit.new("FILE_LOCKS")
      locks:append({ type = 1, flag = 2, pid = pid, fd = fd, start = 0, len = 0 })
      assert(locks:write(d .. "/filelocks.img"))
    end

    it("nothing but the option for a lock on an fd of the task", function()
      local d = copy_fixture(SLEEP)
      with_lock(d, SLEEP_PID, 0)
      local fs = findings_of(d)
      assert.are.equal(1, #fs, describe_findings(fs))
      assert.are.same({ "options", "warning", "--file-locks" }, { fs[1].check, fs[1].severity, fs[1].option })
    end)

    it("a file lock on an fd the task does not have", function()
      local d = copy_fixture(SLEEP)
      with_lock(d, SLEEP_PID, 77)
      expect_only(d, { check = "locks", image = "filelocks.img", entry = 1, path = "fd", severity = "error" })
    end)

    it("a file lock of a task outside the dump (a warning: it is lost)", function()
      local d = copy_fixture(SLEEP)
      with_lock(d, 4242, 0)
      expect_only(d, { check = "locks", image = "filelocks.img", entry = 1, path = "pid", severity = "warning" })
    end)

    it("a seccomp filter that seccomp.img does not have", function()
      local d = copy_fixture(MISC)   -- 31116 runs under 2 stacked filters
      edit(d .. "/seccomp.img", function(img) table.remove(img[1].seccomp_filters) end)
      expect_only(d, { check = "seccomp", image = "core-31116.img", entry = 1,
        path = "thread_core.seccomp_filter", severity = "error" })
    end)

    it("a task in a cgroup set that cgroup.img does not have", function()
      local d = copy_fixture(SLEEP)
      local core = d .. "/core-" .. SLEEP_PID .. ".img"
      edit(core, function(img) img[1].thread_core.cg_set = 2 end)
      expect_only(d, { check = "cgroups", image = "core-" .. SLEEP_PID .. ".img", entry = 1,
        path = "thread_core.cg_set", severity = "error" })
      -- tree's cgroup.img has set 2
      assert(assert(crit.open(FIXTURES .. "/tree/cgroup.img")):write(d .. "/cgroup.img"))
      local fs = findings_of(d)
      assert.are.equal(0, #fs, describe_findings(fs))
    end)

    -- An error since the fault campaign: restore leaves the task out.
    it("a dropped pstree entry (a leaf: the task would be lost)", function()
      local d = copy_fixture(MISC)
      edit(d .. "/pstree.img", function(img)
        for k = 1, #img do if img[k].pid == 31116 then img:remove(k) break end end
      end)
      expect_only(d, { check = "tasks", image = "core-31116.img", entry = nil, path = nil, severity = "error" })
    end)

    -- nsfull's mount namespace, added to the sleep dump, with a tmpfs
    -- archive for each tmpfs (nsfull's tmpfs-dev-24 under every name).
    local function with_mounts(d)
      local mnt = assert(crit.open(FIXTURES .. "/nsfull/mountpoints-13.img"))
      assert(mnt:write(d .. "/mountpoints-13.img"))
      local tar = support.read(FIXTURES .. "/nsfull/tmpfs-dev-24.tar.gz.img")
      local tmpfs = {}
      for k, e in mnt:entries() do
        if e.fstype == 5 then
          support.write(("%s/tmpfs-dev-%d.tar.gz.img"):format(d, e.root_dev), tar)
          tmpfs[#tmpfs + 1] = { k = k, dev = e.root_dev }
        end
      end
      return tmpfs
    end

    it("a tmpfs whose contents are missing", function()
      local d = copy_fixture(SLEEP)
      local tmpfs = with_mounts(d)
      local fs = findings_of(d)
      assert.are.equal(0, #fs, describe_findings(fs))
      local gone = tmpfs[#tmpfs]
      os.remove(("%s/tmpfs-dev-%d.tar.gz.img"):format(d, gone.dev))
      expect_only(d, { check = "mounts", image = "mountpoints-13.img", entry = gone.k, path = "root_dev",
        severity = "error" })
    end)

    it("a mount whose parent mount is not in the namespace", function()
      local d = copy_fixture(SLEEP)
      with_mounts(d)
      edit(d .. "/mountpoints-13.img", function(img) img[2].parent_mnt_id = 999 end)
      expect_only(d, { check = "mounts", image = "mountpoints-13.img", entry = 2, path = "parent_mnt_id",
        severity = "error" })
    end)

    it("a file on a mount that is not in the dump", function()
      local d = copy_fixture(SLEEP)
      with_mounts(d)
      edit(d .. "/files.img", function(img) img[1].reg.mnt_id = 42 end)  -- the root mount: fine
      local fs = findings_of(d)
      assert.are.equal(0, #fs, describe_findings(fs))
      edit(d .. "/files.img", function(img) img[1].reg.mnt_id = 999 end)
      expect_only(d, { check = "files", image = "files.img", entry = 1, path = "reg.mnt_id", severity = "error" })
    end)

    it("a duplicate pid", function()
      local d = copy_fixture(MISC)
      local k_dup
      edit(d .. "/pstree.img", function(img)
        for k = 1, #img do
          if img[k].pid == 31116 then
            img[k].pid, img[k].threads, k_dup = 31114, { 31114 }, k
          end
        end
      end)
      os.remove(d .. "/core-31116.img")
      expect_only(d, { check = "tree", image = "pstree.img", entry = k_dup, path = "pid", severity = "error" })
    end)

    it("a second root", function()
      local d = copy_fixture(MISC)
      local k_root
      edit(d .. "/pstree.img", function(img)
        for k = 1, #img do if img[k].pid == 31116 then img[k].ppid, k_root = 0, k end end
      end)
      expect_only(d, { check = "tree", image = "pstree.img", entry = k_root, path = "ppid", severity = "error" })
    end)

    it("an fd whose file id does not exist", function()
      local d = copy_fixture(SLEEP)
      edit(d .. "/fdinfo-2.img", function(img) img[1].id = 9999 end)
      expect_only(d, { check = "fds", image = "fdinfo-2.img", entry = 1, path = "id", severity = "error" })
    end)

    it("an fd of the wrong type", function()
      local d = copy_fixture(SLEEP)
      edit(d .. "/fdinfo-2.img", function(img) img[1].type = "PIPE" end)
      expect_only(d, { check = "fds", image = "fdinfo-2.img", entry = 1, path = "type", severity = "error" })
    end)

    it("a cwd that is not in files.img", function()
      local d = copy_fixture(SLEEP)
      edit(d .. "/fs-" .. SLEEP_PID .. ".img", function(img) img[1].cwd_id = 9999 end)
      expect_only(d, { check = "fds", image = "fs-" .. SLEEP_PID .. ".img", entry = 1, path = "cwd_id",
        severity = "error" })
    end)

    it("truncated pages", function()
      local d = copy_fixture(SLEEP)
      local p = d .. "/pages-1.img"
      truncate(p, file_size(p) - PS)
      expect_only(d, { check = "pages", image = "pages-1.img", severity = "error" })
    end)

    -- A warning since the fault campaign: restore never reads past the pages.
    it("a pages file longer than its pagemap says (a warning)", function()
      local d = copy_fixture("sleep-criu4.1.1")
      append_bytes(d .. "/pages-1.img", string.rep("\0", PS))
      expect_only(d, { check = "pages", image = "pages-1.img", severity = "warning" })
    end)

    it("two overlapping pagemap entries", function()
      local d = copy_fixture(SLEEP)
      local pm = d .. "/pagemap-" .. SLEEP_PID .. ".img"
      local vmas = dir.open(d):vmas(SLEEP_PID)
      local hit
      edit(pm, function(img)
        for k = 2, #img - 1 do
          local a, b = img[k], img[k + 1]
          local na = dir.nr_pages(a)
          local i = vma_holding(vmas, a.vaddr, a.vaddr + na * PS)
          local j = vma_holding(vmas, b.vaddr, b.vaddr + dir.nr_pages(b) * PS)
          if i and i == j then
            b.vaddr = a.vaddr + (na - 1) * PS
            hit = k + 1
            break
          end
        end
      end)
      assert.truthy(hit, "no two entries in one VMA")
      local f = expect_only(d, { check = "pagemap", image = "pagemap-" .. SLEEP_PID .. ".img", entry = hit,
        path = "vaddr", severity = "error" })
      assert.matches("overlaps", f.message)
    end)

    it("an unsorted pagemap", function()
      local d = copy_fixture(SLEEP)
      edit(d .. "/pagemap-" .. SLEEP_PID .. ".img", function(img)
        img[2], img[3] = img[3], img[2]
      end)
      local f = expect_only(d, { check = "pagemap", image = "pagemap-" .. SLEEP_PID .. ".img", entry = 3,
        path = "vaddr", severity = "error" })
      assert.matches("not sorted", f.message)
    end)

    it("an unaligned pagemap vaddr", function()
      local d = copy_fixture(SLEEP)
      local vmas = dir.open(d):vmas(SLEEP_PID)
      local hit
      edit(d .. "/pagemap-" .. SLEEP_PID .. ".img", function(img)
        for k = 2, #img do
          local e = img[k]
          local stop = e.vaddr + dir.nr_pages(e) * PS
          local next_start = img[k + 1] and img[k + 1].vaddr
          if vma_holding(vmas, e.vaddr, stop + 8) and (not next_start or next_start > stop + 8) then
            e.vaddr, hit = e.vaddr + 8, k
            break
          end
        end
      end)
      assert.truthy(hit)
      local f = expect_only(d, { check = "pagemap", image = "pagemap-" .. SLEEP_PID .. ".img", entry = hit,
        path = "vaddr", severity = "error" })
      assert.matches("page%-aligned", f.message)
    end)

    it("pages outside every VMA", function()
      local d = copy_fixture(SLEEP)
      edit(d .. "/pagemap-" .. SLEEP_PID .. ".img", function(img)
        -- a present page below every mapping, first in the (sorted) map
        img:insert(2, { vaddr = 0x1000, compat_nr_pages = 0, nr_pages = 1, flags = 4 })
      end)
      -- its page comes first in pages-1.img
      local p = d .. "/pages-1.img"
      support.write(p, string.rep("\0", PS) .. support.read(p))
      local f = expect_only(d, { check = "pagemap", image = "pagemap-" .. SLEEP_PID .. ".img", entry = 2,
        path = "vaddr", severity = "error" })
      assert.matches("in no VMA", f.message)
    end)

    it("a session whose leader criu cannot find", function()
      local d = copy_fixture(MISC)
      local k_bad
      edit(d .. "/pstree.img", function(img)
        -- 31118's ancestors are 31115 and 31110; 31116 is a sibling of 31115
        for k = 1, #img do if img[k].pid == 31118 then img[k].sid, k_bad = 31116, k end end
      end)
      expect_only(d, { check = "tree", image = "pstree.img", entry = k_bad, path = "sid", severity = "error" })
    end)

    it("a parent listed after its child", function()
      local d = copy_fixture(MISC)
      local k_child
      edit(d .. "/pstree.img", function(img)
        local kp, kc
        for k = 1, #img do
          if img[k].pid == 31115 then kp = k end
          if img[k].pid == 31118 then kc = k end
        end
        img[kp], img[kc] = img[kc], img[kp]
        k_child = kp
      end)
      local f = expect_only(d, { check = "tree", image = "pstree.img", entry = k_child, path = "ppid",
        severity = "error" })
      assert.matches("comes after", f.message)
    end)

    it("a corrupt core, and still checks the other tasks", function()
      local d = copy_fixture(MISC)
      local p = d .. "/core-31116.img"
      truncate(p, file_size(p) - 10)
      os.remove(d .. "/mm-31114.img")   -- and the other tasks are still checked
      local fs = findings_of(d)
      assert.are.equal(2, #fs, describe_findings(fs))
      assert.are.equal("decode", fs[1].check)
      assert.are.equal("core-31116.img", fs[1].image)
      assert.are.equal("tasks", fs[2].check)
      assert.matches("mm%-31114%.img is missing", fs[2].message)
    end)

    it("PE_PARENT pages without a parent dump", function()
      local d = copy_fixture(SLEEP)
      local dropped, hit = 0, nil
      edit(d .. "/pagemap-" .. SLEEP_PID .. ".img", function(img)
        local e = img[#img]
        e.flags, dropped, hit = 1, dir.nr_pages(e), #img  -- PE_PARENT
      end)
      -- the pages left pages-1.img with it
      local p = d .. "/pages-1.img"
      truncate(p, file_size(p) - dropped * PS)
      expect_only(d, { check = "parent", image = "pagemap-" .. SLEEP_PID .. ".img", entry = hit,
        path = "flags", severity = "error" })
    end)

    it("nothing for PE_PARENT pages when the parent dump is there", function()
      local d = copy_fixture(SLEEP)
      assert(os.execute(string.format("cp -r '%s/%s' '%s/parent'", FIXTURES, SLEEP, d)))
      local dropped
      edit(d .. "/pagemap-" .. SLEEP_PID .. ".img", function(img)
        local e = img[#img]
        e.flags, dropped = 1, dir.nr_pages(e)
      end)
      local p = d .. "/pages-1.img"
      truncate(p, file_size(p) - dropped * PS)
      local fs = findings_of(d)
      assert.are.equal(0, #fs, describe_findings(fs))
      os.remove(d .. "/parent/pagemap-" .. SLEEP_PID .. ".img")
      local f = expect_only(d, { check = "parent", image = "pagemap-" .. SLEEP_PID .. ".img", path = "flags" })
      assert.matches("parent/pagemap", f.message)
    end)

    it("two overlapping VMAs", function()
      local d = copy_fixture(SLEEP)
      local hit
      edit(d .. "/mm-" .. SLEEP_PID .. ".img", function(img)
        local vmas = img[1].vmas
        for i = 1, #vmas - 1 do
          local a, b = vmas[i], vmas[i + 1]
          if a["end"] == b.start and b["end"] - b.start >= 2 * PS then
            a["end"], hit = b.start + PS, i + 1
            break
          end
        end
      end)
      assert.truthy(hit)
      local f = expect_only(d, { check = "vmas", image = "mm-" .. SLEEP_PID .. ".img", entry = 1,
        path = ("vmas[%d].start"):format(hit), severity = "error" })
      assert.matches("overlaps", f.message)
    end)

    it("a file-backed VMA whose file is missing", function()
      local d = copy_fixture(SLEEP)
      local hit
      edit(d .. "/mm-" .. SLEEP_PID .. ".img", function(img)
        for i, v in ipairs(img[1].vmas) do
          if v.status & dir.VMA.FILE_PRIVATE ~= 0 then
            v.shmid, hit = 9999, i
            break
          end
        end
      end)
      expect_only(d, { check = "vmas", image = "mm-" .. SLEEP_PID .. ".img", entry = 1,
        path = ("vmas[%d].shmid"):format(hit), severity = "error" })
    end)

    it("an executable that is not in files.img", function()
      local d = copy_fixture(SLEEP)
      edit(d .. "/mm-" .. SLEEP_PID .. ".img", function(img) img[1].exe_file_id = 9999 end)
      expect_only(d, { check = "fds", image = "mm-" .. SLEEP_PID .. ".img", entry = 1,
        path = "exe_file_id", severity = "error" })
    end)

    -- A pipe with queued data, added to the sleep dump: a valid dump first.
    local PIPE_ID = 0x114ca
    local function with_pipe(d, pipe_id)
      local pyfds_files = assert(crit.open(FIXTURES .. "/pyfds/files.img"))
      local pipe
      for _, f in pyfds_files:entries() do if f.type == "PIPE" then pipe = f break end end
      pipe.id, pipe.pipe.id = 1000, 1000
      edit(d .. "/files.img", function(img) img:append(pipe) end)
      local data = assert(crit.open(FIXTURES .. "/pyfds/pipes-data.img"))
      data[1].pipe_id = pipe_id
      assert(data:write(d .. "/pipes-data.img"))
    end

    it("nothing in a dump with pipe data for its pipe", function()
      local d = copy_fixture(SLEEP)
      with_pipe(d, PIPE_ID)
      local fs = findings_of(d)
      assert.are.equal(0, #fs, describe_findings(fs))
    end)

    it("pipe data for a missing pipe", function()
      local d = copy_fixture(SLEEP)
      with_pipe(d, 4242)
      expect_only(d, { check = "pipes", image = "pipes-data.img", entry = 1, path = "pipe_id", severity = "error" })
    end)

    it("a corrupt payload size field", function()
      local d = copy_fixture(SLEEP)
      with_pipe(d, PIPE_ID)
      local p = d .. "/pipes-data.img"
      local bytes = support.read(p)
      -- pipes_data_entry field 2 (bytes) = 28: tag 0x10, varint 0x1c
      local at = bytes:find("\x10\x1c", 13, true)
      assert.truthy(at)
      support.write(p, bytes:sub(1, at) .. "\x1d" .. bytes:sub(at + 2))
      expect_only(d, { check = "payloads", image = "pipes-data.img", entry = 1, severity = "error" })
    end)

    it("a ghost remap without its ghost file", function()
      local d = copy_fixture(SLEEP)
      local remap = crit.new("REMAP_FPATH")
      remap:append({ orig_id = 1, remap_id = 7, remap_type = "GHOST" })
      assert(remap:write(d .. "/remap-fpath.img"))
      expect_only(d, { check = "files", image = "remap-fpath.img", entry = 1, path = "remap_id", severity = "error" })
    end)

    it("a remap of a missing file", function()
      local d = copy_fixture(SLEEP)
      local remap = crit.new("REMAP_FPATH")
      remap:append({ orig_id = 1, remap_id = 1, remap_type = "LINKED" })
      remap:append({ orig_id = 9999, remap_id = 1, remap_type = "LINKED" })
      assert(remap:write(d .. "/remap-fpath.img"))
      expect_only(d, { check = "files", image = "remap-fpath.img", entry = 2, path = "orig_id", severity = "error" })
    end)

    -- A socket from pyfds's files.img, added to the sleep dump.
    local function add_socket(d, ftype, pick)
      local src = assert(crit.open(FIXTURES .. "/pyfds/files.img"))
      local sk
      for _, f in src:entries() do if f.type == ftype and pick(f) then sk = f break end end
      local field = dir.FILE_TYPES[ftype].field
      sk.id, sk[field].id = 1000, 1000
      local k
      edit(d .. "/files.img", function(img) img:append(sk) k = #img end)
      return k
    end

    it("a unix socket whose peer is outside the dump (a warning)", function()
      local d = copy_fixture(SLEEP)
      local k = add_socket(d, "UNIXSK", function(f) return f.usk.peer ~= 0 end)
      expect_only(d, { check = "sockets", image = "files.img", entry = k, path = "usk.peer", severity = "warning" })
    end)

    it("an established TCP socket without its tcp-stream image", function()
      local d = copy_fixture(SLEEP)
      local k = add_socket(d, "INETSK", function(f) return f.isk.proto == 6 and f.isk.state == 1 end)
      expect_only(d, { check = "tcp", image = "files.img", entry = k, path = "isk.state", severity = "error" })
    end)

    it("a shared memory pagemap past the end of its SysV segment", function()
      local d = copy_fixture(SLEEP)
      local shm = assert(crit.open(FIXTURES .. "/ipcns/ipcns-shm-9.img"))
      shm:remove(1) -- keep segment 1 (64 KiB), whose pages are in pagemap-shmem-1
      assert(shm:write(d .. "/ipcns-shm-9.img"))
      local pm = assert(crit.open(FIXTURES .. "/ipcns/pagemap-shmem-1.img"))
      local pages_id = pm[1].pages_id
      assert(pm:write(d .. "/pagemap-shmem-1.img"))
      support.write(d .. "/pages-" .. pages_id .. ".img", string.rep("\0", PS))
      local fs = findings_of(d)
      assert.are.equal(0, #fs, describe_findings(fs))
      edit(d .. "/pagemap-shmem-1.img", function(img) img[2].vaddr = 0x10000 end)
      expect_only(d, { check = "shmem", image = "pagemap-shmem-1.img", entry = 2, path = "nr_pages",
        severity = "error" })
    end)
  end)

  describe("the rules calibrated by restore", function()
    local function add_file(d, entry)
      local k
      edit(d .. "/files.img", function(img) img:append(entry) k = #img end)
      return k
    end
    local function add_fd(d, fd, id, ftype)
      edit(d .. "/fdinfo-2.img", function(img) img:append({ id = id, flags = 0, type = ftype, fd = fd }) end)
    end
    local FOWN = { uid = 0, euid = 0, signum = 0, pid_type = 0, pid = 0 }

    it("an epoll target the task does not have", function()
      local d = copy_fixture(SLEEP)
      local k = add_file(d, { type = "EVENTPOLL", id = 1001, epfd = { id = 1001, flags = 2, fown = FOWN,
        tfd = { { id = 1001, tfd = 0, events = 1, data = 0 }, { id = 1001, tfd = 99, events = 1, data = 0 } } } })
      add_fd(d, 3, 1001, "EVENTPOLL")
      local f = expect_only(d, { check = "epoll", image = "files.img", entry = k, path = "epfd.tfd[2].tfd",
        severity = "error" })
      assert.matches("fd 99", f.message)
    end)

    it("an image header that is not the one inventory's img_version says", function()
      local d = copy_fixture(SLEEP)
      edit(d .. "/pstree.img", function(img) img:set_version("1.0") end)
      expect_only(d, { check = "headers", image = "pstree.img", severity = "error" })
    end)

    it("a memfd whose contents (pagemap-shmem) are missing", function()
      local d = copy_fixture(SLEEP)
      local memfd = crit.new("MEMFD_INODE")
      memfd:append(crit.open(FIXTURES .. "/pyfds/memfd.img")[2])
      assert(memfd:write(d .. "/memfd.img"))
      local f = expect_only(d, { check = "shmem", image = "memfd.img", entry = 1, path = "shmid", severity = "error" })
      assert.matches("pagemap%-shmem%-", f.message)
    end)

    it("the options a dump needs, once each, for --restore-options", function()
      local fs = findings_of(FIXTURES .. "/sleep")
      assert.are.same({}, check.restore_options(fs))
      local d = copy_fixture(SLEEP)
      edit(d .. "/inventory.img", function(img) img[1].tcp_close = true end)
      edit(d .. "/pstree.img", function(img) img[1].sid = 1 end)
      assert.are.same({ "--shell-job", "--tcp-close" }, check.restore_options(findings_of(d)))
    end)

    describe("resources the restorer provides", function()
      local function provided(path)
        local out = {}
        for _, f in ipairs(findings_of(path)) do
          assert.are_not.equal("error", f.severity, describe_findings({ f }))
          if f.severity == "provided" then out[#out + 1] = f end
        end
        return out
      end

      it("an external mount, with its key", function()
        local d = copy_fixture(SLEEP)
        assert(crit.open(FIXTURES .. "/nsfull/mountpoints-13.img"):write(d .. "/mountpoints-13.img"))
        local k  -- every tmpfs is the one external mount: its contents are the restorer's
        edit(d .. "/mountpoints-13.img", function(img)
          for i = 1, #img do
            local e = img[i]
            if e.fstype == 5 then k = k or i; e.ext_key = "/data"; img[i] = e end
          end
        end)
        local fs = provided(d)
        assert.are.equal(1, #fs, describe_findings(fs))
        assert.are.same({ "external", "mountpoints-13.img", k, "ext_key", "--external mnt[/data]:PATH" },
          { fs[1].check, fs[1].image, fs[1].entry, fs[1].path, fs[1].option })
      end)

      it("a network namespace dumped empty", function()
        local d = copy_fixture(SLEEP)
        edit(d .. "/ids-" .. SLEEP_PID .. ".img", function(img) img[1].net_ns_id = 77 end)
        local fs = provided(d)
        assert.are.equal(1, #fs, describe_findings(fs))
        assert.are.same({ "ids-" .. SLEEP_PID .. ".img", 1, "net_ns_id", "--empty-ns net" },
          { fs[1].image, fs[1].entry, fs[1].path, fs[1].option })
      end)

      it("a uts namespace without its image is still an error", function()
        local d = copy_fixture(SLEEP)
        edit(d .. "/ids-" .. SLEEP_PID .. ".img", function(img) img[1].uts_ns_id = 77 end)
        expect_only(d, { check = "ids", path = "uts_ns_id", severity = "error" })
      end)

      it("a pipe whose other end is outside the dump, named by descriptors.json", function()
        local d = copy_fixture(SLEEP)
        add_file(d, { type = "PIPE", id = 1002, pipe = { id = 1002, pipe_id = 4242, flags = 1, fown = FOWN } })
        add_fd(d, 5, 1002, "PIPE")
        local fs = provided(d)
        assert.are.equal(1, #fs, describe_findings(fs))
        assert.are.same({ "fdinfo-2.img", 4, "--inherit-fd fd[5]:pipe:[4242]" },
          { fs[1].image, fs[1].entry, fs[1].option })
        support.write(d .. "/descriptors.json", '["/dev/null","pipe:[4242]","/dev/null"]')
        assert.are.equal("--inherit-fd fd[1]:pipe:[4242]", provided(d)[1].option)
      end)

      it("nothing for a pipe with both ends in the dump", function()
        local d = copy_fixture(SLEEP)
        add_file(d, { type = "PIPE", id = 1002, pipe = { id = 1002, pipe_id = 4242, flags = 1, fown = FOWN } })
        add_file(d, { type = "PIPE", id = 1003, pipe = { id = 1003, pipe_id = 4242, flags = 0, fown = FOWN } })
        add_fd(d, 5, 1002, "PIPE")
        add_fd(d, 6, 1003, "PIPE")
        assert.are.same({}, provided(d))
      end)
    end)

    local ARCHIVES = CORPUS .. "/archives"
    for _, name in ipairs({ "bb-sleep", "bb-files" }) do
      local test = support.exists(ARCHIVES .. "/" .. name .. ".tar.gz") and it or pending
      test("podman's " .. name .. " checkpoint: no error, and what podman provides", function()
        local tmp = support.tmpdir()
        assert(os.execute(("tar -C '%s' -xzf '%s/%s.tar.gz'"):format(tmp, ARCHIVES, name)))
        local fs = findings_of(tmp .. "/checkpoint")
        assert.are.equal(0, (check.counts(fs)), describe_findings(fs))
        local options = table.concat(check.restore_options(fs), " ")
        for _, want in ipairs({ "--root PATH", "--external mnt[/dev/shm]:PATH", "--external mnt[/etc/hosts]:PATH",
          "--external mnt[/etc/hostname]:PATH", "--external mnt[/dev/null]:PATH",
          "--external mnt[/sys/fs/cgroup/memory]:PATH", "--empty-ns net", "--inherit-fd fd[1]:pipe:[",
          "--inherit-fd fd[2]:pipe:[" }) do
          assert.is_truthy(options:find(want, 1, true), want .. " not in: " .. options)
        end
        -- where podman's bind mounts came from: its spec.dump beside checkpoint/
        local shm
        for _, f in ipairs(fs) do
          if f.option == "--external mnt[/dev/shm]:PATH" then shm = f end
        end
        assert.matches("userdata/shm when dumped %(spec%.dump%)$", shm.message)
        -- the command line: exit 0, the same options, JSON with them
        local p = io.popen("./crit.lua check --restore-options " .. tmp .. "/checkpoint; echo rc=$?")
        local out = p:read("a")
        p:close()
        assert.are.equal(options .. "\nrc=0\n", out)
        local cjson = require "cjson"
        p = io.popen("./crit.lua check --json " .. tmp .. "/checkpoint")
        local doc = cjson.decode(p:read("a"))
        p:close()
        assert.are.equal(0, doc.errors)
        assert.are.equal(#fs, doc.provided + doc.warnings)
        assert.are.equal(options, table.concat(doc.options, " "))
        -- the pipes are the ones runc's descriptors.json lists
        local desc = support.read(tmp .. "/checkpoint/descriptors.json")
        for id in options:gmatch("pipe:%[(%d+)%]") do assert.matches("pipe:%[" .. id .. "%]", desc) end
      end)
    end
  end)

  describe("user checks", function()
    it("run with the built-in ones and report through report()", function()
      local c = assert(check.load("examples/checks/stopped-tasks.lua"))
      assert.are.equal("stopped-tasks", c.name)
      local fs = findings_of(FIXTURES .. "/" .. MISC, { c })
      assert.are.equal(1, #fs, describe_findings(fs))
      assert.are.same({ severity = "warning", check = "stopped-tasks", image = "pstree.img", entry = 3,
        path = "pid", message = fs[1].message }, fs[1])
      assert.matches("31114", fs[1].message)
      assert.are.equal(0, #findings_of(FIXTURES .. "/" .. SLEEP, { c }))
    end)

    it("may return their findings as a list", function()
      local c = { name = "mine", run = function(d)
        return { { severity = "error", image = "pstree.img", entry = 1, path = "pid", message = d.path } }
      end }
      local fs = findings_of(FIXTURES .. "/" .. SLEEP, { c })
      assert.are.equal(1, #fs)
      assert.are.equal("mine", fs[1].check)
    end)

    it("that raise become one finding", function()
      local c = { name = "boom", run = function() error("kaputt") end }
      local fs = findings_of(FIXTURES .. "/" .. SLEEP, { c })
      assert.are.equal(1, #fs)
      assert.are.equal("error", fs[1].severity)
      assert.matches("kaputt", fs[1].message)
    end)
  end)

  describe("crit.lua check", function()
    local function run_cli(args)
      local p = io.popen("./crit.lua check " .. args .. " 2>/dev/null; echo \"rc=$?\"")
      local out = p:read("a")
      p:close()
      local rc = tonumber(out:match("rc=(%d+)\n$"))
      return out:gsub("rc=%d+\n$", ""), rc
    end

    it("exits 0 on a good dump", function()
      local out, rc = run_cli(FIXTURES .. "/sleep")
      assert.are.equal(0, rc)
      assert.matches("no problems found", out)
    end)

    it("exits 1 on errors and groups them by severity", function()
      local d = copy_fixture(SLEEP)
      os.remove(d .. "/fs-" .. SLEEP_PID .. ".img")
      local out, rc = run_cli(d)
      assert.are.equal(1, rc)
      assert.matches("^Errors %(1%):\n  pstree.img entry 1 pid: fs%-", out)
    end)

    it("writes JSON", function()
      local cjson = require "cjson"
      local out, rc = run_cli("--json --with examples/checks/stopped-tasks.lua " .. FIXTURES .. "/misc")
      assert.are.equal(0, rc)
      local doc = cjson.decode(out)
      assert.are.equal(0, doc.errors)
      assert.are.equal(1, doc.warnings)
      assert.are.equal("stopped-tasks", doc.findings[1].check)
      assert.are.equal(3, doc.findings[1].entry)
    end)

    it("prints the restore options on one line with --restore-options", function()
      local d = copy_fixture(SLEEP)
      edit(d .. "/pstree.img", function(img) img[1].sid = 1 end)
      local out, rc = run_cli("--restore-options " .. d)
      assert.are.equal(0, rc)
      assert.are.equal("--shell-job\n", out)
      out = run_cli("--restore-options " .. FIXTURES .. "/sleep")
      assert.are.equal("\n", out)
    end)

    it("exits 2 without a directory", function()
      local _, rc = run_cli("")
      assert.are.equal(2, rc)
    end)
  end)
end)
