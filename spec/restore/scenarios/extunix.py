# A datagram socket connected to a socket outside the dump (dumped with
# --ext-unix-sk): a helper, double-forked so that it is not in the dumped
# tree, binds RUN/outside.sock; the scenario connects to it. Restored with
# --ext-unix-sk, criu connects it again by name, and a datagram reaches the
# helper, which writes it to RUN/received.
import os, socket, time
import scenario

scenario.setup()
path = os.path.join(scenario.RUN, "outside.sock")
r, w = os.pipe()
if os.fork() == 0:
    if os.fork() == 0:
        os.setsid()
        os.close(r)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        srv.bind(path)
        os.write(w, b"%d\n" % os.getpid())
        os.close(w)
        while True:
            data = srv.recv(4096)
            with open(os.path.join(scenario.RUN, "received"), "ab") as f:
                f.write(data)
    os._exit(0)
os.close(w)
helper = int(os.read(r, 64))
os.close(r)
os.wait()
sk = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sk.connect(path)


def check():
    sk.send(b"CRIT-FAULTS-EXT-UNIX")
    got = os.path.join(scenario.RUN, "received")
    for _ in range(100):
        if os.path.exists(got) and b"CRIT-FAULTS-EXT-UNIX" in open(got, "rb").read():
            break
        time.sleep(0.05)
    scenario.expect("received", open(got, "rb").read(), b"CRIT-FAULTS-EXT-UNIX")
    os.remove(got)  # the next restore's datagram starts afresh
    return [("helper", helper)]


scenario.on_report(check)
scenario.ready(helper=helper, sock=sk.fileno())
scenario.idle()
