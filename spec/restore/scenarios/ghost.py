# A deleted open file (criu's ghost file): written, opened, unlinked. Restored,
# the fd points at the deleted file and reads back the same bytes.
import os
import scenario

scenario.setup()
DATA = b"CRIT-RESTORE-GHOST " * 500
path = os.path.join(scenario.RUN, "ghost")
with open(path, "wb") as f:
    f.write(DATA)
fd = os.open(path, os.O_RDWR)
os.lseek(fd, 19, os.SEEK_SET)
os.unlink(path)


def check():
    scenario.expect("offset", os.lseek(fd, 0, os.SEEK_CUR), 19)
    scenario.expect("contents", os.pread(fd, len(DATA) + 1, 0), DATA)
    scenario.expect("size", os.fstat(fd).st_size, len(DATA))
    return [("fd", fd)]


scenario.on_report(check)
scenario.ready(fd=fd, path=path)
scenario.idle()
