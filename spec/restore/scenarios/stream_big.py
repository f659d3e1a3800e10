# A process with a large touched heap (256 MiB by default, CRIT_BIG_MIB to
# change it), every page holding its own number: the streaming specs stop
# criu half way through it, and check that it comes back whole.
import os, struct, time
import scenario

scenario.setup()
MIB = int(os.environ.get("CRIT_BIG_MIB", "256"))
PAGE = 4096
buf = bytearray(MIB << 20)
for i in range(0, len(buf), PAGE):
    struct.pack_into("<Q", buf, i, i // PAGE + 1)


def check():
    bad = [i for i in range(0, len(buf), PAGE) if struct.unpack_from("<Q", buf, i)[0] != i // PAGE + 1]
    scenario.expect("pages with a wrong number", len(bad), 0)
    return [("mib", MIB)]


scenario.on_report(check)
scenario.ready(mib=MIB)
while True:
    time.sleep(0.05)
