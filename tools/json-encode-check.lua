#!/usr/bin/env lua5.4
-- Encode upstream crit 4.2's JSON of every protobuf image of the corpus
-- with core.json_read and compare the result with the original image,
-- byte for byte:
--   <image>.json       `crit decode` (compact)
--   <image>.show.json  `crit show` (pretty: hex, flags, devices, names)
-- Each JSON is read twice: as a Lua string and as a stream from a file.
-- Then Debian's crit 3.17 (if installed) decodes the pagemaps that
-- criu 4.1.1 wrote, in the old layout, and those must encode back too.
-- Usage: lua5.4 tools/json-encode-check.lua [CORPUS_DIR] [-v]
-- Exit status 0 when every failure is an expected one.

local root = arg[0]:match("^(.*)/tools/[^/]*$") or "."
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/?.so;" .. package.cpath

local core = require "crit.core"

local corpus, verbose = "../shared/corpus", false
for _, a in ipairs(arg) do
	if a == "-v" then verbose = true else corpus = a end
end
local golden_dir = corpus .. "/golden-crit-4.2"
local DEBIAN_CRIT = "/usr/bin/crit"

-- JSON that cannot give the image back, and why.
local expected = {
	["ipcns/ipcns-shm-9.img"] = "crit's decode is wrong here: the first segment has in_pagemaps, "
		.. "but crit reads `size` bytes after it anyway, shows the second entry as the "
		.. "first one's extra and loses the second entry; we refuse extra with in_pagemaps",
}

local function lines(cmd)
	local p = assert(io.popen(cmd))
	local t = {}
	for l in p:lines() do t[#t + 1] = l end
	p:close()
	return t
end

local function slurp(path)
	local f = io.open(path, "rb")
	if not f then return nil end
	local s = f:read("a")
	f:close()
	return s
end

-- The image that json_read makes of `input` (a string or a Lua file).
local function encode(input, name)
	local out = core.output()
	local ok, err = pcall(core.json_read, input, out, name)
	if not ok then
		out:abort()
		return nil, tostring(err)
	end
	return out:finish()
end

-- nil when the JSON at path encodes to `want` both ways, else why not.
local function check_json(path, want)
	local text = slurp(path)
	if not text then return "no golden JSON" end
	local got, err = encode(text, path)
	if not got then return err end
	if got ~= want then return string.format("string: %d bytes differ from the image's %d", #got, #want) end
	local f = assert(io.open(path, "rb"))
	got, err = encode(f, path)
	f:close()
	if not got then return "stream: " .. err end
	if got ~= want then return string.format("stream: %d bytes differ from the image's %d", #got, #want) end
	return nil
end

-- Every protobuf image: "dir/name", sorted.
local function protobuf_images()
	local t = {}
	for _, dir in ipairs(lines("ls -1 '" .. corpus .. "' | LC_ALL=C sort")) do
		local d = corpus .. "/" .. dir
		local skip = dir == "golden-crit-4.2" or dir == "recipe" or dir == "archives"
		if not skip and lines("test -d '" .. d .. "' && echo y")[1] then
			for _, name in ipairs(lines("ls -1 '" .. d .. "' | LC_ALL=C sort")) do
				if not name:match("%.log$") then
					local idx = core.open(d .. "/" .. name)
					if idx and not idx:info().raw then t[#t + 1] = dir .. "/" .. name end
				end
			end
		end
	end
	return t
end

local images = protobuf_images()
local counts = { json = 0, show = 0 }
local unexpected = 0

for _, rel in ipairs(images) do
	local want = slurp(corpus .. "/" .. rel)
	for _, kind in ipairs({ "json", "show" }) do
		local path = golden_dir .. "/" .. rel .. (kind == "json" and ".json" or ".show.json")
		local why = check_json(path, want)
		if not why then
			counts[kind] = counts[kind] + 1
			if verbose then print("ok     " .. kind .. "  " .. rel) end
		elseif expected[rel] then
			print(string.format("known  %s  %s: %s\n       (%s)", kind, rel, why, expected[rel]))
		else
			unexpected = unexpected + 1
			print(string.format("FAIL   %s  %s: %s", kind, rel, why))
		end
	end
end
print(string.format("decode JSON: %d/%d images byte-identical", counts.json, #images))
print(string.format("show JSON:   %d/%d images byte-identical", counts.show, #images))

-- Debian's crit 3.17 writes pagemap entries as {"vaddr", "nr_pages", "flags"}:
-- the old field 2. They must encode back to what criu 4.1.1 wrote.
if lines("test -x " .. DEBIAN_CRIT .. " && echo y")[1] then
	local n, good = 0, 0
	for _, rel in ipairs(images) do
		if rel:match("%-criu4%.1%.1/pagemap%-") then
			local path = corpus .. "/" .. rel
			local json = table.concat(lines(DEBIAN_CRIT .. " decode -i '" .. path .. "'"), "\n")
			local got, err = encode(json, rel)
			n = n + 1
			if got == slurp(path) then
				good = good + 1
			else
				unexpected = unexpected + 1
				print("FAIL   crit 3.17 JSON of " .. rel .. ": " .. (err or "bytes differ"))
			end
		end
	end
	print(string.format("crit 3.17 pagemap JSON: %d/%d images byte-identical", good, n))
else
	print("crit 3.17 pagemap JSON: skipped (no " .. DEBIAN_CRIT .. ")")
end

os.exit(unexpected == 0 and 0 or 1)
