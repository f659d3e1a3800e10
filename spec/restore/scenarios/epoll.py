# An epoll watching a pipe and a FIFO: the fd a transform drops (drop-fd.lua)
# and the one it keeps. On SIGUSR1 it reports what epoll delivers: the fds
# ready within a second and the bytes read from the FIFO (the spec writes to
# it from outside), and whether the pipe's fd is still open.
import os, select
import scenario

scenario.setup()
drop_r, drop_w = os.pipe()
os.write(drop_w, b"CRIT-RESTORE-EPOLL queued")
fifo_path = os.path.join(scenario.RUN, "fifo")
os.mkfifo(fifo_path)
fifo = os.open(fifo_path, os.O_RDWR | os.O_NONBLOCK)
ep = select.epoll()
ep.register(drop_r, select.EPOLLIN)
ep.register(fifo, select.EPOLLIN)


def is_open(fd):
    try:
        os.fstat(fd)
        return 1
    except OSError:
        return 0


def check():
    ready = sorted(fd for fd, ev in ep.poll(1) if ev & select.EPOLLIN)
    data = os.read(fifo, 4096).decode().strip() if fifo in ready else ""
    return [("ready", ",".join(str(fd) for fd in ready) or "none"), ("fifo_data", data or "none"),
            ("drop_open", is_open(drop_r))]


scenario.on_report(check)
scenario.ready(epoll=ep.fileno(), drop=drop_r, fifo=fifo, path=fifo_path)
scenario.idle()
