# Pipes, a FIFO and epoll: a pipe and the FIFO hold queued data, a second pipe
# is empty; one epoll watches all three. Restored, epoll reports the two with
# data, the data is intact, and a write to the empty pipe wakes epoll.
import os, select
import scenario

scenario.setup()
PIPE_DATA = b"CRIT-RESTORE-PIPE " * 100
FIFO_DATA = b"CRIT-RESTORE-FIFO " * 10
full_r, full_w = os.pipe()
empty_r, empty_w = os.pipe()
os.mkfifo(os.path.join(scenario.RUN, "fifo"))
fifo = os.open(os.path.join(scenario.RUN, "fifo"), os.O_RDWR | os.O_NONBLOCK)
os.write(full_w, PIPE_DATA)
os.write(fifo, FIFO_DATA)
ep = select.epoll()
for fd in (full_r, empty_r, fifo):
    ep.register(fd, select.EPOLLIN)


def ready_fds():
    return sorted(fd for fd, ev in ep.poll(0) if ev & select.EPOLLIN)


def check():
    scenario.expect("ready before", ready_fds(), sorted([full_r, fifo]))
    scenario.expect("pipe data", os.read(full_r, 1 << 16), PIPE_DATA)
    scenario.expect("fifo data", os.read(fifo, 1 << 16), FIFO_DATA)
    scenario.expect("ready after reading", ready_fds(), [])
    os.write(empty_w, b"wake")
    scenario.expect("ready after a write", ready_fds(), [empty_r])
    os.read(empty_r, 4)
    return [("epoll", ep.fileno()), ("pipe", full_r), ("fifo", fifo), ("empty", empty_r)]


scenario.on_report(check)
scenario.ready(epoll=ep.fileno(), pipe=full_r, fifo=fifo, empty=empty_r)
scenario.idle()
