# A process running as a non-root uid and gid (started with setpriv), with a
# file it created open. Restored, it has the same credentials and file.
import os
import scenario

scenario.setup()
path = os.path.join(scenario.RUN, "owned")
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
os.write(fd, b"CRIT-RESTORE-UID")


def check():
    scenario.expect("uids", os.getresuid(), ((os.getuid(),) * 3))
    scenario.expect("groups", os.getgroups(), [])
    scenario.expect("file", os.pread(fd, 16, 0), b"CRIT-RESTORE-UID")
    scenario.expect("owner", os.fstat(fd).st_uid, os.getuid())
    return [("uid", os.getuid()), ("gid", os.getgid()), ("fd", fd)]


scenario.on_report(check)
scenario.ready(uid=os.getuid(), gid=os.getgid(), fd=fd)
scenario.idle()
