-- Convert pagemap images between criu 4.2's layout and that of criu 4.1
-- and older, so that an older criu can restore a dump of criu 4.2.
-- Usage: crit.lua transform DIR pagemap-layout.lua -o OUT -- 4.1|4.2
--        crit.lua transform - pagemap-layout.lua -- 4.1 < pagemap-1.img > out.img
-- Proved by restore: spec/restore/transforms_spec.lua, scenario "plain":
-- a criu 4.2 dump converted to 4.1 is restored by criu 4.1.1, memory intact.
--
-- criu 4.2 writes each pagemap entry's page count in nr_pages (field 5,
-- uint64) and 0 in compat_nr_pages (field 2); criu 4.1 and older know only
-- field 2 and read 0 pages. "4.1" moves the count into compat_nr_pages and
-- drops nr_pages (it fails on a run of 2^32 pages or more); "4.2" does the
-- reverse, with compat_nr_pages = 0 as criu 4.2 writes it. Entries already
-- in the wanted layout are left alone.
local transform = require "crit.transform"

return function(d, args)
  local to = args[1]
  if to ~= "4.1" and to ~= "4.2" then error("usage: pagemap-layout.lua -- 4.1|4.2", 0) end
  if d.magic then                              -- stream mode: one image
    if to == "4.1" then transform.pagemap_to_compat(d) else transform.pagemap_from_compat(d) end
    return
  end
  transform.dir_pagemaps(d, to)
end
