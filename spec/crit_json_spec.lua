-- crit's own JSON is always accepted: what upstream crit 4.2 (the corpus's
-- golden files) and Debian's crit 3.17 (run here) wrote of every corpus
-- image encodes, and gives that image back.
local core = require "crit.core"
local S = require "spec.support"

local CRIT317 = "/usr/bin/crit"
-- the one Debian's crit runs under
local PYTHON = "/usr/bin/python3"

-- JSON that cannot give the image back, and why: crit's decode lost data.
local CRIT_LOST = {
  ["ipcns/ipcns-shm-9.img"] = "crit reads `size` bytes after a segment in_pagemaps: it shows "
    .. "the next entry as that segment's extra, and loses it",
}

-- The image json_read makes of `json`, or nil and the error.
local function encode(json, name)
  local out = core.output()
  local ok, err = pcall(core.json_read, json, out, name)
  if not ok then
    out:abort()
    return nil, tostring(err)
  end
  return (out:finish())
end

-- Every protobuf image of the corpus: "dir/name", sorted.
local function corpus_images()
  local t = {}
  local found = S.lines_of("cd '" .. S.CORPUS .. "' && find . -mindepth 2 -maxdepth 2 -type f "
    .. "! -name '*.log' ! -path './golden-crit-4.2/*' ! -path './archives/*' ! -path './recipe/*'"
    .. " | LC_ALL=C sort")
  for _, p in ipairs(found) do
    local rel = p:gsub("^%./", "")
    local idx = core.open(S.CORPUS .. "/" .. rel)
    if idx and not idx:info().raw then t[#t + 1] = rel end
  end
  return t
end

-- What json_read made of a crit JSON: "same" (the image), "lost" (refused,
-- as it must be, where crit lost data), or a failure.
local function verdict(json, name, image, lost_ok)
  local got, err = encode(json, name)
  if got == image then return "same" end
  if lost_ok and not got and err:find("in_pagemaps is set", 1, true) then return "lost" end
  return nil, got and string.format("%d bytes instead of the image's %d", #got, #image) or err
end

describe("crit 4.2's JSON", function()
  it("of every corpus image, decode and show, encodes to that image", function()
    if not S.have_corpus() then
      return pending("needs the corpus (" .. S.CORPUS .. ")")
    end
    local images, same, lost, failures = corpus_images(), 0, 0, {}
    assert.is_true(#images >= 300, #images .. " images")
    for _, rel in ipairs(images) do
      local image = S.read(S.CORPUS .. "/" .. rel)
      for _, suffix in ipairs({ ".json", ".show.json" }) do
        local path = S.CORPUS .. "/golden-crit-4.2/" .. rel .. suffix
        local v, why = verdict(S.read(path), path, image, CRIT_LOST[rel])
        if v == "same" then same = same + 1
        elseif v == "lost" then lost = lost + 1
        else failures[#failures + 1] = rel .. suffix .. ": " .. why end
      end
    end
    assert.are.same({}, failures)
    assert.are.equal(2, lost, "ipcns-shm-9, decode and show, refused")
    assert.are.equal(2 * #images - 2, same)
  end)
end)

-- crit 3.17's JSON of the images in `rels` (under `dir`), made in `tmp`:
-- { [i] = { json =, show =, enc =, err = } }.
local function crit317(dir, rels, tmp)
  local paths = {}
  for i, rel in ipairs(rels) do paths[i] = dir .. "/" .. rel end
  S.write(tmp .. "/list", table.concat(paths, "\n") .. "\n")
  assert(os.execute(PYTHON .. " spec/crit317.py " .. tmp .. " " .. tmp .. "/list"))
  local out = {}
  for i = 1, #rels do
    local base = tmp .. "/" .. i
    local function opt(suffix) return S.exists(base .. suffix) and S.read(base .. suffix) or nil end
    out[i] = { json = opt(".json"), show = opt(".show.json"), enc = opt(".enc"), err = opt(".err") }
  end
  return out
end

describe("crit 3.17's JSON", function()
  after_each(S.cleanup)

  local function skip_reason()
    if not S.exists(CRIT317) then return CRIT317 .. " (apt-get install criu)" end
    if not S.have_corpus() then return "the corpus (" .. S.CORPUS .. ")" end
  end

  it("of every corpus image it reads, decode and show, encodes", function()
    local missing = skip_reason()
    if missing then return pending("needs " .. missing) end
    local images = corpus_images()
    local out = crit317(S.CORPUS, images, S.tmpdir())
    local counts, failures = { same = 0, older = 0, lost = 0, unreadable = 0, required = 0 }, {}
    for i, rel in ipairs(images) do
      local o, image = out[i], S.read(S.CORPUS .. "/" .. rel)
      if not o.json then
        -- types newer than crit 3.17 (and raw ones): it writes no JSON
        assert.matches("MagicException", o.err, 1, true)
        counts.unreadable = counts.unreadable + 1
      end
      for suffix, json in pairs({ [".json"] = o.json, [".show.json"] = o.show }) do
        local got, err = encode(json, rel .. suffix)
        if got == image then
          counts.same = counts.same + 1
        elseif got and got == o.enc then
          -- crit 3.17's schema has not got every field of criu 4.2's: it
          -- drops those, and its own encode gives the same image as ours
          counts.older = counts.older + 1
        elseif not got and CRIT_LOST[rel] and err:find("in_pagemaps is set", 1, true) then
          counts.lost = counts.lost + 1
        elseif not got and err:find("missing required field", 1, true)
            and o.err and o.err:find("missing required fields", 1, true) then
          -- crit 3.17 dropped an enum value it does not know from a required
          -- field (a pidfd's file type): its own encode refuses that JSON too
          counts.required = counts.required + 1
        else
          failures[#failures + 1] = rel .. suffix .. ": " .. (err or "bytes differ")
        end
      end
    end
    assert.are.same({}, failures)
    assert.is_true(counts.same >= 300, counts.same .. " identical")
    assert.are.equal(2, counts.lost)
    print(string.format("\ncrit 3.17 JSON of %d images: %d encode to the image, %d to what crit 3.17 "
      .. "encodes (fields it does not know), %d refused as crit 3.17 refuses them, %d refused "
      .. "(crit lost an entry); %d images it cannot read", #images, counts.same, counts.older,
      counts.required, counts.lost, counts.unreadable))
  end)

  it("of a segment in_pagemaps at the end of an image has extra \"\", which encodes", function()
    if not S.exists(CRIT317) then return pending("needs " .. CRIT317 .. " (apt-get install criu)") end
    -- The first segment of the fixture is kept in the pages: alone, it
    -- ends the image, and crit's read of `size` bytes after it is empty.
    local idx = core.load(S.read(S.fixture("ipcns%-shm%-%d+%.img$")))
    local msg, payload = idx:raw(1)
    assert.are.equal("", payload)
    local image = core.header("IPCNS_SHM") .. S.u32(#msg) .. msg
    local tmp = S.tmpdir()
    S.write(tmp .. "/ipcns-shm-1.img", image)
    local o = crit317(tmp, { "ipcns-shm-1.img" }, tmp)[1]
    assert.matches('"in_pagemaps": true, "extra": ""}', o.json, 1, true)
    assert.are.equal(image, encode(o.json, "decode"))
    assert.are.equal(image, encode(o.show, "show"))
  end)
end)
