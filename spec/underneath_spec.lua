-- An image open through the API whose file another process truncates,
-- grows or rewrites: never a signal (SIGBUS, SIGSEGV) nor a read out of
-- bounds; the old contents, or one error naming the file and the entry.
-- Each scenario runs in a process of its own (spec/underneath_run.lua), so
-- that a signal fails the spec instead of killing busted.
local crit = require "crit"
local S = require "spec.support"

local ENTRIES = 150000 -- 2.3 MB: past what is copied whole when opened

local function big_pagemap(path)
  local img = crit.new("PAGEMAP")
  img:append({ pages_id = 1 })
  for i = 1, ENTRIES do
    img:append({ vaddr = 0x400000 + i * 8192, compat_nr_pages = 1, nr_pages = 1, flags = 2 })
  end
  img:write(path)
  return path
end

local function pages(path)
  local chunk = string.rep("\1\2\3\4", 1024)
  S.write(path, string.rep(chunk, 768)) -- 3 MiB
  return path
end

-- Run a scenario: its one output line, after an exit that was not a signal.
-- Given member, path is an archive and the image is path//member.
local function run(scenario, path, rounds, member)
  local r = S.sh(("lua5.4 spec/underneath_run.lua '%s' %s %s %d %s"):format(S.CPATH,
    scenario, S.quote(path), rounds or 1, member and S.quote(member) or ""))
  assert.are.equal(0, r.code, r.err)
  return r.out:gsub("\n$", "")
end

describe("a file changed underneath an open image", function()
  local dir, pagemap
  setup(function()
    dir = S.tmpdir()
    pagemap = big_pagemap(dir .. "/pagemap-9.img")
  end)
  teardown(S.cleanup)

  local function fresh(name)
    local path = dir .. "/" .. name
    S.write(path, S.read(pagemap))
    return path
  end

  it("truncated: an error naming the file and the entry", function()
    local path = fresh("pagemap-1.img")
    local out = run("truncate", path)
    assert.matches("^error " .. path:gsub("%p", "%%%0") .. ": entry %d+ at offset %d+: the file changed while "
                   .. "it was open: it has 4096 bytes now, %d+ when it was opened$", out)
  end)

  it("grown: what was indexed reads as it was", function()
    assert.are.equal("old " .. ENTRIES + 1, run("grow", fresh("pagemap-2.img")))
  end)

  it("an entry's size rewritten in place after indexing: an error, not an out-of-bounds read", function()
    local path = fresh("pagemap-3.img")
    local out = run("rewrite", path)
    assert.matches("^error " .. path:gsub("%p", "%%%0") .. ": entry 75000 at offset %d+: the file changed "
                   .. "since it was indexed: entry size 2147483647 past the end of the file", out)
  end)

  it("a raw image truncated: an error naming the file", function()
    local path = pages(dir .. "/pages-1.img")
    assert.matches("^error " .. path:gsub("%p", "%%%0") .. ": offset %d+: the file changed while it was "
                   .. "open: it has 0 bytes now, 3145728 when it was opened$", run("raw", path))
  end)

  -- 40 rounds of open + index + decode + JSON, 40 of a raw image, 10 runs of
  -- crit.lua decode, each against a process that truncates, grows and
  -- rewrites the file as fast as it can: about 5 s.
  it("hammered by another process: the old contents or a clean error, every round", function()
    local counts = run("hammer", fresh("pagemap-4.img"), 40)
    local old, errors = counts:match("^old (%d+) (%d+)$")
    assert.are.equal(40, tonumber(old) + tonumber(errors), counts)
    counts = run("hammer", pages(dir .. "/pages-2.img"), 40)
    old, errors = counts:match("^old (%d+) (%d+)$")
    assert.are.equal(40, tonumber(old) + tonumber(errors), counts)
    counts = run("cli", fresh("pagemap-5.img"), 10)
    local ok, failed = counts:match("^old (%d+) (%d+)$")
    assert.are.equal(10, tonumber(ok) + tonumber(failed), counts)
  end)
end)

-- The same for a plain tar (a container checkpoint archive) open while
-- another process truncates, grows or rewrites it: members are read with
-- pread from the archive, as image files are, never from a mapping. The
-- archive: the sleep fixture dump under checkpoint/, with a pagemap and a
-- raw pages image each past what is copied whole when opened.
describe("an archive changed underneath an open member", function()
  local dir, tar
  local PAGEMAP, PAGES = "checkpoint/pagemap-9.img", "checkpoint/pages-9.img"
  setup(function()
    dir = S.tmpdir()
    local members = { { name = "checkpoint", type = "5" } }
    for _, f in ipairs(S.ls("spec/fixtures/corpus/sleep")) do
      members[#members + 1] = { name = "checkpoint/" .. f, body = S.read("spec/fixtures/corpus/sleep/" .. f) }
    end
    members[#members + 1] = { name = PAGEMAP, body = S.read(big_pagemap(dir .. "/pagemap-9.img")) }
    members[#members + 1] = { name = PAGES, body = S.read(pages(dir .. "/pages-9.img")) }
    tar = S.tar(members)
  end)
  teardown(S.cleanup)

  local function fresh(name)
    local path = dir .. "/" .. name
    S.write(path, tar)
    return path
  end

  local function quoted(path, member) return (path .. "//" .. member):gsub("%p", "%%%0") end

  it("reads as the extracted files do", function()
    local path = fresh("same.tar")
    assert.are.equal("old " .. ENTRIES + 1, run("grow", path, 1, PAGEMAP))
    local r = S.crit("x", path, "ps")
    assert.are.equal(0, r.code, r.err)
    assert.are.equal(S.crit("x", "spec/fixtures/corpus/sleep", "ps").out, r.out)
  end)

  it("truncated: an error naming the archive and the member", function()
    local path = fresh("truncate.tar")
    assert.matches("^error " .. quoted(path, PAGEMAP) .. ": entry %d+ at offset %d+: the archive changed "
                   .. "while it was open: it has 4096 bytes now, " .. #tar .. " when it was opened$",
                   run("truncate", path, 1, PAGEMAP))
    path = fresh("raw.tar")
    assert.matches("^error " .. quoted(path, PAGES) .. ": offset %d+: the archive changed while it was "
                   .. "open: it has 0 bytes now, " .. #tar .. " when it was opened$", run("raw", path, 1, PAGES))
  end)

  it("grown: what was indexed reads as it was", function()
    assert.are.equal("old " .. ENTRIES + 1, run("grow", fresh("grow.tar"), 1, PAGEMAP))
  end)

  it("a member's entry size rewritten in place after indexing: an error, not an out-of-bounds read", function()
    local path = fresh("rewrite.tar")
    assert.matches("^error " .. quoted(path, PAGEMAP) .. ": entry 75000 at offset %d+: the archive changed "
                   .. "since it was indexed: entry size 2147483647 past the end of the file",
                   run("rewrite", path, 1, PAGEMAP))
  end)

  -- 30 rounds through the API for each member, 20 runs of crit.lua (x ps
  -- and decode of the pagemap member, in turn), each against a process
  -- that truncates, grows and rewrites the archive (headers and members
  -- alike) as fast as it can.
  it("hammered by another process: the old contents or a clean error, every round", function()
    for _, m in ipairs({ PAGEMAP, PAGES }) do
      local counts = run("hammer", fresh("hammer.tar"), 30, m)
      local old, errors = counts:match("^old (%d+) (%d+)$")
      assert.are.equal(30, tonumber(old) + tonumber(errors), counts)
    end
    local counts = run("cli", fresh("cli.tar"), 20, PAGEMAP)
    local ok, failed = counts:match("^old (%d+) (%d+)$")
    assert.are.equal(20, tonumber(ok) + tonumber(failed), counts)
  end)
end)
