# Debian crit 3.17's JSON of CRIU images, written as its `crit decode` and
# `crit show` write it, and the image its `crit encode` makes of that JSON.
# One Python process for the whole list: a process per image takes minutes.
# Usage: /usr/bin/python3 spec/crit317.py OUTDIR LISTFILE
# For the N-th image path of LISTFILE (from 1): OUTDIR/N.json, N.show.json
# and N.enc, or N.err with the exception crit 3.17 raised.
import json
import os
import sys

import pycriu


def convert(path, base):
    for pretty, suffix in ((False, ".json"), (True, ".show.json")):
        with open(path, "rb") as f:
            img = pycriu.images.load(f, pretty, False)
        with open(base + suffix, "w") as f:
            json.dump(img, f, indent=4 if pretty else None)
    with open(base + ".json") as f:
        img = json.load(f)
    with open(base + ".enc", "wb") as f:
        pycriu.images.dump(img, f)


out, listfile = sys.argv[1], sys.argv[2]
with open(listfile) as f:
    paths = f.read().splitlines()
for n, path in enumerate(paths, 1):
    base = os.path.join(out, str(n))
    try:
        convert(path, base)
    except Exception as e:  # crit 3.17 cannot read or write this one
        with open(base + ".err", "w") as f:
            f.write("%s: %s\n" % (type(e).__name__, e))
