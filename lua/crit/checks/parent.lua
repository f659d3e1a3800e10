-- Check: pages that a pagemap says are in the parent dump (PE_PARENT, of
-- `criu dump --prev-images-dir`) can be found: the `parent` link exists and
-- the parent dump has that pagemap.
local check = require "crit.check"
local dirlib = require "crit.dir"

local ipairs, string_format = ipairs, string.format

local function run(d, report)
  local parent
  for _, name in ipairs(check.image_names(d, "^pagemap%-")) do
    local file = name .. ".img"
    local img = d:image(name)
    if img.magic == "PAGEMAP" and not (d.broken_images or {})[file] then
      for k, e in img:entries() do
        if k > 1 and check.entry_flags(e) & check.PE_PARENT ~= 0 then
          if parent == nil then parent = dirlib.open(d.path .. "/parent") or false end
          if not parent or not parent:has("inventory") then
            report("error", file, k, "flags", string_format(
              "the pages at 0x%x are in the parent dump, but %s/parent is %s", e.vaddr, d.path,
              parent and "not a dump (no inventory.img)" or "missing"))
          elseif not parent:has(name) then
            report("error", file, k, "flags", string_format(
              "the pages at 0x%x are in the parent dump, but parent/%s is missing", e.vaddr, file))
          end
          break -- one finding per pagemap
        end
      end
    end
  end
end

return {
  name = "parent",
  summary = "the parent dump exists when pagemaps use PE_PARENT",
  run = run,
}
