# SysV shared memory in its own IPC namespace (started under unshare --ipc):
# one segment attached with a marker, one detached with another. Restored,
# both segments exist with their keys and data, the attached one at its address.
import ctypes, ctypes.util
import scenario

scenario.setup()
libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
IPC_CREAT, SHM_RDONLY = 0o1000, 0o10000
ATTACHED, DETACHED = 0x5eed1, 0x5eed2
MARK_A = b"CRIT-RESTORE-SHM attached"
MARK_D = b"CRIT-RESTORE-SHM detached"


def checked(value, what):
    if value in (-1, None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), what)
    return value


attached_id = checked(libc.shmget(ATTACHED, 1 << 20, IPC_CREAT | 0o640), "shmget")
addr = checked(libc.shmat(attached_id, None, 0), "shmat")
ctypes.memmove(addr, MARK_A, len(MARK_A))
ctypes.memmove(addr + (1 << 19), MARK_A, len(MARK_A))  # a page in the middle too
detached_id = checked(libc.shmget(DETACHED, 65536, IPC_CREAT | 0o600), "shmget")
other = checked(libc.shmat(detached_id, None, 0), "shmat")
ctypes.memmove(other, MARK_D, len(MARK_D))
libc.shmdt(other)


def check():
    scenario.expect("attached id", libc.shmget(ATTACHED, 0, 0), attached_id)
    scenario.expect("attached data", ctypes.string_at(addr, len(MARK_A)), MARK_A)
    scenario.expect("middle page", ctypes.string_at(addr + (1 << 19), len(MARK_A)), MARK_A)
    scenario.expect("detached id", libc.shmget(DETACHED, 0, 0), detached_id)
    view = checked(libc.shmat(detached_id, None, SHM_RDONLY), "shmat")
    data = ctypes.string_at(view, len(MARK_D))
    libc.shmdt(view)
    scenario.expect("detached data", data, MARK_D)
    return [("attached", attached_id), ("detached", detached_id), ("addr", hex(addr))]


scenario.on_report(check)
scenario.ready(attached=attached_id, detached=detached_id, addr=hex(addr))
scenario.idle()
