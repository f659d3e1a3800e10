# A TCP server listening on 127.0.0.1: the streaming specs move it to
# another address on the fly (rewrite-ip), rename it and change its limits.
import os, socket, time
import scenario

scenario.setup()
with open("/proc/self/comm", "w") as f:
    f.write("crit-listen")
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(4)
port = srv.getsockname()[1]


def check():
    host, p = srv.getsockname()
    return [("host", host), ("port", p)]


scenario.on_report(check)
scenario.ready(port=port)
while True:
    time.sleep(0.05)
