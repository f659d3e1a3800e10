# The fault campaign's patient (spec/restore/faults_spec.lua): one process
# and a child holding a little of everything check has rules for, each with
# data that proves it came back: a pipe and a socketpair with queued data,
# both watched by an epoll; MAP_SHARED anonymous memory and a memfd with
# contents; an eventfd count; a file open at an offset and locked; a TCP
# listener and an established connection with queued data (dumped with
# --tcp-established); a marker on the heap. Restored, its own check reads
# them all back: "fail" is a restore that succeeded and lost something.
import fcntl, mmap, os, select, signal, socket, time
import scenario

scenario.setup()
with open("/proc/self/comm", "w") as f:
    f.write("crit-faults")
MARK = b"CRIT-FAULTS-"
HEAP = {"marker": (MARK + b"heap ") * 2000}
PIPE_DATA = MARK + b"pipe " * 50
SOCK_DATA = MARK + b"socketpair " * 20
SHARED = MARK + b"shared mapping " * 100
MEMFD = MARK + b"memfd " * 100
TCP_DATA = MARK + b"tcp " * 30

child = os.fork()
if child == 0:
    while True:
        time.sleep(3600)

pipe_r, pipe_w = os.pipe()
os.write(pipe_w, PIPE_DATA)
sock_a, sock_b = socket.socketpair()
sock_b.send(SOCK_DATA)
ep = select.epoll()
ep.register(pipe_r, select.EPOLLIN)
ep.register(sock_a.fileno(), select.EPOLLIN)

shared = mmap.mmap(-1, 3 * 4096, flags=mmap.MAP_SHARED)
shared[: len(SHARED)] = SHARED
memfd = os.memfd_create("crit-faults")
os.write(memfd, MEMFD)
efd = os.eventfd(7)

data = open(os.path.join(scenario.RUN, "data"), "w+b")
data.write(b"0123456789" * 10)
data.seek(42)
fcntl.lockf(data, fcntl.LOCK_EX)

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(4)
tcp_client = socket.create_connection(("127.0.0.1", listener.getsockname()[1]))
tcp_server, _ = listener.accept()
tcp_client.sendall(TCP_DATA)


def check():
    scenario.expect("heap", HEAP["marker"], (MARK + b"heap ") * 2000)
    ready = sorted(fd for fd, ev in ep.poll(0) if ev & select.EPOLLIN)
    scenario.expect("epoll ready", ready, sorted([pipe_r, sock_a.fileno()]))
    scenario.expect("pipe", os.read(pipe_r, 1 << 16), PIPE_DATA)
    scenario.expect("socketpair", sock_a.recv(1 << 16), SOCK_DATA)
    scenario.expect("shared", shared[: len(SHARED)], SHARED)
    scenario.expect("memfd", os.pread(memfd, len(MEMFD), 0), MEMFD)
    scenario.expect("eventfd", os.eventfd_read(efd), 7)
    scenario.expect("file offset", data.tell(), 42)
    tcp_server.settimeout(5)
    scenario.expect("tcp", tcp_server.recv(1 << 16), TCP_DATA)
    scenario.expect("child", os.waitpid(child, os.WNOHANG), (0, 0))
    return [("child", child)]


scenario.on_report(check)
scenario.ready(child=child, epoll=ep.fileno(), pipe=pipe_r, sock=sock_a.fileno(), data=data.fileno())
scenario.idle()
