#!/usr/bin/env lua5.4
-- Compare core.json_write with upstream crit 4.2's output for every
-- protobuf image of the corpus, byte for byte:
--   <image>.json       `crit decode -o FILE` (compact, no trailing newline)
--   <image>.show.json  `crit show` to stdout (indent 4, then a newline)
-- Usage: lua5.4 tools/json-golden-check.lua [CORPUS_DIR] [-v]
-- Exit status 0 when every difference is a deliberate one.

local root = arg[0]:match("^(.*)/tools/[^/]*$") or "."
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
package.cpath = root .. "/build/?.so;" .. package.cpath

local core = require "crit.core"

local corpus, verbose = "../shared/corpus", false
for _, a in ipairs(arg) do
	if a == "-v" then verbose = true else corpus = a end
end
local golden_dir = corpus .. "/golden-crit-4.2"

-- Deliberate differences (see src/json_write.c).
-- crit's task_state names are crossed and lack DEAD; we print compel's.
local crit_task_state = {
	ALIVE = '"Alive"', DEAD = "2", STOPPED = '"Zombie"', ZOMBIE = '"Stopped"',
}
-- Images where crit itself goes wrong, and how.
local crit_bugs = {
	["ipcns/ipcns-shm-9.img"] = "the first segment has in_pagemaps (its data is in the pages), "
		.. "but crit reads `size` bytes after it anyway: it shows the second entry's bytes "
		.. "as the first one's extra and loses the second entry",
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

local function json_of(idx, opts)
	local out = core.output()
	core.json_write(idx, out, opts)
	return out:finish()
end

local function with_crit_task_state(s)
	return (s:gsub('("task_state": )"(%u+)"', function(key, name)
		return crit_task_state[name] and key .. crit_task_state[name]
	end))
end

-- Where two texts part, with some context from each.
local function first_difference(ours, theirs)
	local i = 1
	while i <= #ours and ours:byte(i) == theirs:byte(i) do i = i + 1 end
	local from = math.max(1, i - 60)
	return string.format("at byte %d\n      ours:   %q\n      golden: %q", i,
		ours:sub(from, i + 60), theirs:sub(from, i + 60))
end

local total, compact_same, pretty_same, pretty_task_state = 0, 0, 0, 0
local explained, unexplained = {}, {}

local function note(list, name, mode, why)
	list[#list + 1] = string.format("%s (%s): %s", name, mode, why)
end

local function check(dir, file)
	local name = dir .. "/" .. file
	local idx, err = core.open(corpus .. "/" .. name)
	if not idx then error(err) end
	if idx:info().raw then return end
	local golden = golden_dir .. "/" .. name
	local want_compact = slurp(golden .. ".json")
	local want_pretty = slurp(golden .. ".show.json")
	if not want_compact or not want_pretty then
		note(unexplained, name, "both", "no golden file")
		return
	end
	total = total + 1
	local compact = json_of(idx, { pretty = false })
	local pretty = json_of(idx, { pretty = true, newline = true })
	local bug = crit_bugs[name]

	if compact == want_compact then
		compact_same = compact_same + 1
	elseif bug then
		note(explained, name, "compact", bug)
	else
		note(unexplained, name, "compact", first_difference(compact, want_compact))
	end
	if pretty == want_pretty then
		pretty_same = pretty_same + 1
	elseif with_crit_task_state(pretty) == want_pretty then
		pretty_task_state = pretty_task_state + 1
		if verbose then note(explained, name, "pretty", "task_state names") end
	elseif bug then
		note(explained, name, "pretty", bug)
	else
		note(unexplained, name, "pretty", first_difference(pretty, want_pretty))
	end
end

for _, dir in ipairs(lines("ls '" .. corpus .. "'")) do
	if dir ~= "golden-crit-4.2" and dir ~= "recipe" and dir ~= "archives"
	    and lines("test -d '" .. corpus .. "/" .. dir .. "' && echo d")[1] then
		for _, file in ipairs(lines("ls '" .. corpus .. "/" .. dir .. "'")) do
			if not file:match("%.log$") then check(dir, file) end
		end
	end
end

print(string.format("compact identical: %d/%d", compact_same, total))
print(string.format("pretty identical:  %d/%d, and %d more once crit's task_state names "
	.. "are put in", pretty_same, total, pretty_task_state))
print(string.format("expected differences (crit bugs): %d", #explained))
for _, l in ipairs(explained) do print("  " .. l) end
print(string.format("other differences: %d", #unexplained))
for _, l in ipairs(unexplained) do print("  " .. l) end
os.exit(#unexplained == 0 and 0 or 1)
