-- Helpers shared by the specs: fixtures, temporary directories, bytes.
local support = {}

-- CRIT_FIXTURES=../shared/corpus runs the image specs over the whole corpus.
support.FIXTURES = os.getenv("CRIT_FIXTURES") or "spec/fixtures/corpus"
support.GOLDEN = "spec/fixtures/golden"

-- The whole real corpus, where CI puts it: ../shared beside the checkout.
-- Specs that need it go pending without it (CRIT_CORPUS=/nonexistent
-- runs them as on a machine that has none).
support.CORPUS = os.getenv("CRIT_CORPUS") or "../shared/corpus"

-- The build directory whose module this run loads: CRIT_BUILD (make
-- test-asan sets build/asan; crit.lua honours it too), or build. Child
-- scripts the specs start put CPATH first, to load the module busted loads.
support.BUILD = os.getenv("CRIT_BUILD") or "build"
support.CPATH = support.BUILD .. "/?.so"

function support.have_corpus()
  return support.exists(support.CORPUS .. "/pyfds/pstree.img")
end

function support.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function support.write(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
end

function support.size_of(path)
  local f = assert(io.open(path, "rb"))
  local n = f:seek("end")
  f:close()
  return n
end

function support.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function lines_of(cmd)
  local p = assert(io.popen(cmd))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  p:close()
  return out
end
support.lines_of = lines_of

--- support.quote(s) -> s as one word of a shell command line.
function support.quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- support.sh(cmdline) -> { code =, out =, err = }: a shell command line,
--- its exit status, stdout and stderr. Raises if a signal killed it.
function support.sh(cmdline)
  local out, err = os.tmpname(), os.tmpname()
  local _, how, code = os.execute("( " .. cmdline .. " ) >" .. out .. " 2>" .. err)
  local r = { code = code, out = support.read(out), err = support.read(err) }
  os.remove(out)
  os.remove(err)
  assert(how == "exit", "killed by a signal: " .. cmdline)
  return r
end

--- support.crit(arg, ...) -> support.sh's result of ./crit.lua with those
--- arguments, each quoted for the shell.
function support.crit(...)
  local words = { "./crit.lua" }
  for i, a in ipairs({ ... }) do words[i + 1] = support.quote(a) end
  return support.sh(table.concat(words, " "))
end

--- support.copy_dump(name) -> the path of a fresh copy of the fixture
--- dump spec/fixtures/corpus/NAME, removed by support.cleanup().
function support.copy_dump(name)
  local path = support.tmpdir() .. "/" .. name
  assert(os.execute("cp -r " .. support.quote("spec/fixtures/corpus/" .. name) .. " " .. support.quote(path)))
  return path
end

--- support.edit_image(path, fn): fn(img) edits the image file in place.
function support.edit_image(path, fn)
  local img = assert(require("crit").open(path))
  fn(img)
  assert(img:write(path))
end

--- Every fixture image file, sorted: { "spec/fixtures/corpus/sleep/core-1.img", ... }
function support.fixture_images()
  return lines_of("find -L " .. support.FIXTURES .. " -type f ! -name '*.md' ! -name '*.log'"
    .. " ! -name '*.txt' ! -name '*.json' ! -path '*golden*' ! -path '*recipe*' ! -path '*/archives/*' | LC_ALL=C sort")
end

--- The first fixture whose path matches the Lua pattern.
function support.fixture(pattern)
  for _, p in ipairs(support.fixture_images()) do
    if p:match(pattern) then return p end
  end
  error("no fixture matches " .. pattern)
end

--- A fresh temporary directory, removed by support.cleanup().
local made = {}
function support.tmpdir()
  local d = lines_of("mktemp -d /tmp/lua-crit-spec.XXXXXX")[1]
  made[#made + 1] = d
  return d
end

function support.cleanup()
  for _, d in ipairs(made) do os.execute("rm -rf '" .. d .. "'") end
  made = {}
end

function support.ls(dir)
  return lines_of("ls -A '" .. dir .. "'")
end

-- Little-endian u32 and protobuf varints, to build images by hand.
function support.u32(v) return string.pack("<I4", v) end

function support.varint(v)
  local out = {}
  repeat
    local b = v & 0x7f
    v = v >> 7
    out[#out + 1] = string.char(v ~= 0 and (b | 0x80) or b)
  until v == 0
  return table.concat(out)
end

function support.key(field, wire) return support.varint(field << 3 | wire) end

--- An image: magic header words then entries (each a message string,
--- optionally followed by payload bytes).
function support.image(magics, entries)
  local parts = {}
  for _, m in ipairs(magics) do parts[#parts + 1] = support.u32(m) end
  for _, e in ipairs(entries or {}) do
    local msg, payload = e, ""
    if type(e) == "table" then msg, payload = e[1], e[2] end
    parts[#parts + 1] = support.u32(#msg) .. msg .. payload
  end
  return table.concat(parts)
end

support.IMG_COMMON = 0x54564319
support.MAGIC = {
  CORE = 0x55053847, PSTREE = 0x50273030, PIPES_DATA = 0x56453709,
  SK_QUEUES = 0x56264026, IPCNS_SEM = 0x59573019, IPCNS_MSG = 0x55453737,
  FILE_LOCKS = 0x54323616, INVENTORY = 0x58313116, FS = 0x51403912,
}

-- Tar archives by hand, for hostile ones: { {name=, body=, type= ("0"
-- file, "5" dir, "2" symlink), link=, size= (a declared size other than
-- #body)}, ... } -> the tar's bytes (ustar headers, end blocks).
local function octal(v, width)
  return string.format("%0" .. (width - 1) .. "o", v) .. "\0"
end

function support.tar_header(m)
  local body = m.body or ""
  local h = {
    (m.name .. string.rep("\0", 100)):sub(1, 100),
    octal(m.mode or 420, 8), octal(0, 8), octal(0, 8),
    octal(m.size or #body, 12), octal(m.mtime or 0, 12),
    "        ", m.type or "0",
    ((m.link or "") .. string.rep("\0", 100)):sub(1, 100),
    "ustar\0" .. "00", string.rep("\0", 32), string.rep("\0", 32),
    octal(0, 8), octal(0, 8), string.rep("\0", 155), string.rep("\0", 12),
  }
  local s = table.concat(h)
  local sum = 0
  for i = 1, #s do sum = sum + s:byte(i) end
  return s:sub(1, 148) .. string.format("%06o\0 ", sum) .. s:sub(157)
end

function support.tar(members)
  local parts = {}
  for _, m in ipairs(members) do
    local body = m.body or ""
    parts[#parts + 1] = support.tar_header(m)
    parts[#parts + 1] = body .. string.rep("\0", (512 - #body % 512) % 512)
  end
  parts[#parts + 1] = string.rep("\0", 1024)
  return table.concat(parts)
end

--- The real podman archives (../shared/corpus/archives), or nil.
function support.archives()
  local dir = support.CORPUS .. "/archives"
  if support.exists(dir .. "/bb-sleep.tar.gz") then return dir end
  return nil
end

return support
