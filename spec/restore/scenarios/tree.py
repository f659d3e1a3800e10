# A process tree: the session leader, a child leading its own process group
# with a grandchild in it, and a zombie child (exited, never waited for).
import os, time
import scenario

scenario.setup()


def fork(body):
    pid = os.fork()
    if pid == 0:
        try:
            body()
        finally:
            os._exit(0)
    return pid


def group_leader():
    os.setpgid(0, 0)
    grandchild = fork(scenario.idle)
    with open(os.path.join(scenario.RUN, "grandchild"), "w") as f:
        f.write("%d\n" % grandchild)
    scenario.idle()


zombie = fork(lambda: None)
leader = fork(group_leader)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


while not read(os.path.join(scenario.RUN, "grandchild")).endswith("\n"):
    time.sleep(0.01)
grandchild = int(read(os.path.join(scenario.RUN, "grandchild")))
# the zombie is really dead before the dump
while read("/proc/%d/stat" % zombie).rsplit(")", 1)[1].split()[0] != "Z":
    time.sleep(0.01)


def check():
    kids = open("/proc/self/task/%d/children" % os.getpid()).read().split()
    scenario.expect("children", sorted(map(int, kids)), sorted([zombie, leader]))
    scenario.expect("session", os.getsid(0), os.getpid())
    scenario.expect("leader group", os.getpgid(leader), leader)
    scenario.expect("grandchild group", os.getpgid(grandchild), leader)
    return [("zombie", zombie), ("leader", leader), ("grandchild", grandchild)]


scenario.on_report(check)
scenario.ready(zombie=zombie, leader=leader, grandchild=grandchild)
scenario.idle()
