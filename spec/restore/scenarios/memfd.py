# A memfd mapped MAP_SHARED, and anonymous MAP_SHARED memory shared with a
# child. Restored, the markers are intact, a write through the memfd mapping
# is seen through the fd, and the child still shares the anonymous mapping.
import mmap, os, signal, time
import scenario

scenario.setup()
MARK = b"CRIT-RESTORE-MEMFD"
SIZE = 4 * mmap.PAGESIZE
memfd = os.memfd_create("crit-restore", 0)
os.ftruncate(memfd, SIZE)
os.pwrite(memfd, MARK, mmap.PAGESIZE)
mapped = mmap.mmap(memfd, SIZE, mmap.MAP_SHARED)
shared = mmap.mmap(-1, SIZE, mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
shared[0:len(MARK)] = MARK


def echo(signum, frame):  # the child copies the first 16 bytes one page on
    shared[mmap.PAGESIZE:mmap.PAGESIZE + 16] = shared[0:16]


child = os.fork()
if child == 0:
    signal.signal(signal.SIGUSR2, echo)
    scenario.idle()


def check():
    scenario.expect("memfd marker", mapped[mmap.PAGESIZE:mmap.PAGESIZE + len(MARK)], MARK)
    scenario.expect("shared marker", shared[0:len(MARK)], MARK)
    mapped[0:5] = b"write"
    scenario.expect("memfd shares its mapping", os.pread(memfd, 5, 0), b"write")
    nonce = os.urandom(16)
    shared[0:16] = nonce
    os.kill(child, signal.SIGUSR2)
    for _ in range(200):
        if shared[mmap.PAGESIZE:mmap.PAGESIZE + 16] == nonce:
            break
        time.sleep(0.01)
    scenario.expect("the child shares the anonymous mapping", shared[mmap.PAGESIZE:mmap.PAGESIZE + 16], nonce)
    return [("memfd", memfd), ("child", child)]


scenario.on_report(check)
# the child installs its handler before the dump
time.sleep(0.2)
scenario.ready(memfd=memfd, child=child)
scenario.idle()
