-- tools/gen-criu-opts.lua turns the (criu) options of proto/ into the sorted
-- C table of src/criu_opts.h, and stops on what it does not understand.
local S = require "spec.support"

local GENERATOR = "tools/gen-criu-opts.lua"

local function protos()
  return S.lines_of("ls proto/*.proto | LC_ALL=C sort")
end

-- Runs the generator; returns its stdout, its stderr and whether it exited 0.
local function generate(files)
  local err_file = os.tmpname()
  local cmd = ("lua5.4 %s %s 2>%s"):format(GENERATOR, table.concat(files, " "), err_file)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local ok = p:close()
  local err = S.read(err_file)
  os.remove(err_file)
  return out, err, ok == true
end

-- The rows of the generated C, as tables, in file order.
local function rows_of(c_source)
  local rows = {}
  local function text(s) return s ~= "NULL" and s:match('^"(.*)"$') or nil end
  for message, field, bits, flags, dict, conv in c_source:gmatch(
      '\n\t{ "([^"]+)", (%d+), ([^,]+), ([^,]+), ([^,]+), ([^,]+) },') do
    local set = {}
    for bit in bits:gmatch("CRIU_OPT_(%u+)") do set[bit:lower()] = true end
    rows[#rows + 1] = { message = message, field = tonumber(field), bits = set,
                        flags = text(flags), dict = text(dict), conv = text(conv) }
  end
  return rows
end

local function find_row(rows, message, field)
  for _, row in ipairs(rows) do
    if row.message == message and row.field == field then return row end
  end
  error(("no row for %s field %d"):format(message, field))
end

-- Counted straight from the text: fields (one per line in CRIU's protos)
-- and options carrying (criu).
local function count_criu_in_protos()
  local fields, options = 0, 0
  for _, file in ipairs(protos()) do
    for line in io.lines(file) do
      local code = line:gsub("//.*", "")
      local _, n = code:gsub("%(criu%)%.%w+", "")
      if n > 0 then fields, options = fields + 1, options + n end
    end
  end
  return fields, options
end

local function options_in_row(row)
  local n = 0
  for _ in pairs(row.bits) do n = n + 1 end
  for _, key in ipairs({ "flags", "dict", "conv" }) do
    if row[key] then n = n + 1 end
  end
  return n
end

describe("gen-criu-opts on proto/", function()
  local out, err, ok = generate(protos())
  local rows = rows_of(out)

  it("succeeds and writes the C table", function()
    assert.is_true(ok, err)
    assert.equal("", err)
    assert.truthy(out:find('#include "criu_opts.h"', 1, true))
    assert.truthy(out:find("const struct criu_field_opt criu_field_opts%[%] = {"))
    assert.truthy(out:find("const size_t criu_field_opts_count = " .. #rows .. ";", 1, true))
  end)

  it("has one row per field with (criu) options, and every option", function()
    local fields, options = count_criu_in_protos()
    assert.is_true(fields > 90)
    assert.equal(fields, #rows)
    local represented = 0
    for _, row in ipairs(rows) do represented = represented + options_in_row(row) end
    assert.equal(options, represented)
  end)

  it("sorts rows by message name (byte-wise), then field number, without duplicates", function()
    for i = 2, #rows do
      local a, b = rows[i - 1], rows[i]
      local before = a.message < b.message or (a.message == b.message and a.field < b.field)
      assert.is_true(before, ("row %d (%s %d) is out of order"):format(i, b.message, b.field))
    end
  end)

  it("keeps mmap flag maps on vma_entry", function()
    assert.equal("mmap.prot", find_row(rows, "vma_entry", 5).flags)
    assert.equal("mmap.flags", find_row(rows, "vma_entry", 6).flags)
    assert.equal("mmap.status", find_row(rows, "vma_entry", 7).flags)
    assert.is_true(find_row(rows, "vma_entry", 1).bits.hex)
  end)

  it("marks x86 registers hex on thread_info_x86 (sub-messages inherit it)", function()
    assert.is_true(find_row(rows, "thread_info_x86", 1).bits.hex)   -- clear_tid_addr
    assert.is_true(find_row(rows, "thread_info_x86", 2).bits.hex)   -- gpregs
    assert.is_true(find_row(rows, "user_x86_cet_entry", 1).bits.hex)
    for _, row in ipairs(rows) do assert.not_equal("user_x86_regs_entry", row.message) end
  end)

  it("marks socket addresses as IP addresses and socket enums with the sk dict", function()
    local src = find_row(rows, "inet_sk_entry", 11)
    assert.is_true(src.bits.ipadd)
    assert.is_nil(src.bits.hex)
    assert.is_true(find_row(rows, "inet_sk_entry", 12).bits.ipadd)
    assert.equal("sk", find_row(rows, "inet_sk_entry", 3).dict)
    assert.equal("sk", find_row(rows, "unix_sk_entry", 4).dict)
  end)

  it("keeps the unix name conversion and the task_state dict", function()
    local name = find_row(rows, "unix_sk_entry", 11)
    assert.equal("unix_name", name.conv)
    assert.is_nil(name.flags)
    assert.equal("gen", find_row(rows, "task_core_entry", 1).dict)
  end)

  it("combines several options on one field", function()
    local rdev = find_row(rows, "ghost_file_entry", 6)
    assert.is_true(rdev.bits.dev and rdev.bits.odev)
    local irmap_dev = find_row(rows, "irmap_cache_entry", 1)
    assert.is_true(irmap_dev.bits.dev and irmap_dev.bits.odev)
    assert.equal("pmap.flags", find_row(rows, "pagemap_entry", 4).flags)
  end)

  it("writes C that compiles", function()
    local dir = S.tmpdir()
    finally(S.cleanup)
    os.execute("mkdir -p " .. dir .. "/gen")
    S.write(dir .. "/gen/criu_opts.c", out)
    S.write(dir .. "/criu_opts.h", S.read("src/criu_opts.h"))
    local cc = ("cc -Wall -Wextra -Werror -I%s -c %s/gen/criu_opts.c -o %s/criu_opts.o")
      :format(dir, dir, dir)
    assert.is_true(os.execute(cc) == true)
  end)
end)

describe("gen-criu-opts on a schema it does not know", function()
  local function try(proto_text)
    local dir = S.tmpdir()
    local file = dir .. "/odd.proto"
    S.write(file, proto_text)
    local out, err, ok = generate({ file })
    S.cleanup()
    return out, err, ok, file
  end

  it("rejects an unknown (criu) option, naming the file and line", function()
    local out, err, ok, file = try('syntax = "proto2";\nmessage m {\n'
      .. '\toptional uint32 a = 1;\n\toptional uint32 b = 2 [(criu).bogus = true];\n}\n')
    assert.is_false(ok)
    assert.equal("", out)
    assert.truthy(err:find(file .. ":4:", 1, true), err)
    assert.truthy(err:find("(criu).bogus", 1, true), err)
  end)

  it("rejects syntax it cannot parse", function()
    local _, err, ok, file = try('syntax = "proto2";\nmessage m {\n\toptional uint32 a = 1\n}\n')
    assert.is_false(ok)
    assert.truthy(err:find(file .. ":4:", 1, true), err)
  end)

  it("names nested messages outer.inner and ignores enum, extend and plain options", function()
    local out, err, ok = try(table.concat({
      'syntax = "proto2";',
      "message outer {",
      "  /* a [(criu).bogus] in a comment */ enum e { A = 1; }",
      "  message inner { repeated uint32 a = 1 [packed = true, (criu).ipadd = true]; }",
      "  extend other { optional uint32 x = 100 [(criu).hex = true]; }",
      '  optional uint32 b = 2 [default = 0, (criu).flags = "mmap.prot", (criu).hex = true];',
      "};", "" }, "\n"))
    assert.is_true(ok, err)
    local rows = rows_of(out)
    assert.equal(2, #rows)
    assert.same({ "outer", 2, "mmap.prot", true }, { rows[1].message, rows[1].field, rows[1].flags, rows[1].bits.hex })
    assert.same({ "outer.inner", 1, true }, { rows[2].message, rows[2].field, rows[2].bits.ipadd })
  end)
end)
