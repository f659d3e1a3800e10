-- `crit.lua mem`, run as a child process: hexdump, raw bytes, search.
local memory = require "crit.memory"
local S = require "spec.support"
local M = require "spec.memory_support"

local PID = tostring(M.SLEEP_PID)

describe("crit.lua mem", function()
  after_each(S.cleanup)
  local m = assert(memory.open(M.SLEEP, M.SLEEP_PID))
  local arg_start = m.mm.mm_arg_start

  it("hexdumps a range like hexdump -C", function()
    local status, out = M.run("mem", { M.SLEEP, PID, "--addr", string.format("0x%x", arg_start),
      "--len", "16" })
    assert.are.equal(0, status)
    assert.are.equal(string.format("%012x  73 6c 65 65 70 00 31 30  30 30 00 53 48 45 4c 4c"
      .. "  |sleep.1000.SHELL|\n", arg_start), out)
  end)

  it("writes raw bytes, holes as zeros named on stderr", function()
    local r
    for _, x in ipairs(m:regions()) do if x.name == "[heap]" then r = x end end
    local from = r.stop - 100
    local status, out, err = M.run("mem", { M.SLEEP, PID, "--addr", tostring(from),
      "--len", "200", "--raw" })
    assert.are.equal(0, status)
    assert.are.equal((m:read(from, 200)), out)
    assert.matches("not in the dump %(not%-dumped%)", err)
    assert.matches("not in the dump %(unmapped%)", err)
  end)

  it("marks holes in a hexdump instead of printing zeros", function()
    local status, out = M.run("mem", { M.SLEEP, PID, "--addr", string.format("0x%x", arg_start - 0x10000),
      "--len", "0x10010" })
    assert.are.equal(0, status)
    assert.matches("# %x+%-%x+ not in the dump %(not%-dumped%)\n", out)
    assert.truthy(out:find("sleep.100|", 1, true), "argv is there")
  end)

  it("lists the VMAs with what is dumped of each", function()
    local status, out = M.run("mem", { M.SLEEP, PID, "--maps" })
    assert.are.equal(0, status)
    assert.matches("rw%-p anon  %[heap%]  %[dumped 16384 of 135168%]", out)
    assert.matches("r%-%-p file  /usr/bin/sleep  %[dumped 0 of 8192%]", out)
    assert.matches("# %d+ bytes dumped\n$", out)
  end)

  it("searches a string and shows each match with its VMA and context", function()
    local status, out = M.run("mem", { M.SLEEP, PID, "--search", "SHELL=/bin/bash", "--context", "4" })
    assert.are.equal(0, status)
    assert.matches("%x+  15 bytes in %x+%-%x+ rw%-p anon  %[stack%]\n", out)
    assert.truthy(out:find("|000.SHELL=/bin/b|", 1, true))
    assert.truthy(out:find("|ash.XX_|", 1, true))
    assert.matches("# 1 match\n$", out)
  end)

  it("searches a Lua pattern", function()
    local status, out = M.run("mem", { M.SLEEP, PID, "--regex", "SHELL=[%w/]+" })
    assert.are.equal(0, status)
    assert.matches("15 bytes in", out)
  end)

  it("exits 1 when nothing matches, 2 on wrong usage", function()
    local status, _, err = M.run("mem", { M.SLEEP, PID, "--search", "no such bytes anywhere" })
    assert.are.equal(1, status)
    assert.matches("no match", err)
    status = M.run("mem", { M.SLEEP, PID, "--search", "a", "--regex", "b" })
    assert.are.equal(2, status)
    status, _, err = M.run("mem", { M.SLEEP, PID, "--len", "5" })
    assert.are.equal(2, status)
    assert.matches("%-%-len needs %-%-addr", err)
    status, _, err = M.run("mem", { M.SLEEP, PID, "--regex", "^x" })
    assert.are.equal(2, status)
    assert.matches("anchor", err)
  end)

  it("says a zombie has no memory", function()
    local status, _, err = M.run("mem", { M.MISC, "31113", "--maps" })
    assert.are.equal(1, status)
    assert.matches("no memory image", err)
  end)

  it("streams the whole memory in raw form", function()
    local status, out = M.run("mem", { M.SLEEP, PID, "--raw" })
    assert.are.equal(0, status)
    local dumped = 0
    for _, r in ipairs(m:regions()) do dumped = dumped + r.dumped end
    assert.are.equal(dumped, #out)
  end)
end)
