# Unix sockets: a listener bound to a path that answers, a connection to it
# with queued data, a stream socketpair and a datagram socketpair holding
# unread messages. Restored, the listener answers at the same path and every
# queue still holds its data.
import os, select, socket
import scenario

scenario.setup()
PATH = os.path.join(scenario.RUN, "sock")
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(PATH)
listener.listen(8)
client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
client.connect(PATH)
server, _ = listener.accept()
client.sendall(b"CRIT-RESTORE-UNIX connected")
stream_a, stream_b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
stream_a.sendall(b"CRIT-RESTORE-UNIX stream " * 40)
dgram_a, dgram_b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
for i in range(3):
    dgram_a.send(b"CRIT-RESTORE-UNIX datagram %d" % i)


def check():
    for sock in (server, stream_b, dgram_b):
        sock.settimeout(5)
    scenario.expect("connected queue", server.recv(4096), b"CRIT-RESTORE-UNIX connected")
    got = b""
    while len(got) < 25 * 40:
        got += stream_b.recv(4096)
    scenario.expect("stream queue", got, b"CRIT-RESTORE-UNIX stream " * 40)
    for i in range(3):  # datagrams keep their boundaries and order
        scenario.expect("datagram %d" % i, dgram_b.recv(4096), b"CRIT-RESTORE-UNIX datagram %d" % i)
    stream_b.sendall(b"back")
    scenario.expect("stream both ways", stream_a.recv(4), b"back")
    return [("path", PATH)]


scenario.on_report(check)
scenario.ready(path=PATH)
while True:
    if select.select([listener], [], [], scenario.NAP)[0]:
        conn, _ = listener.accept()
        line = conn.makefile("rb").readline()
        conn.sendall(b"pid %d heard %s" % (os.getpid(), line))
        conn.close()
