# TCP over loopback: a listener that answers, and an established connection
# to itself with unread data queued both ways (dumped with --tcp-established).
# Restored, the listener answers on the same port and the connection still
# holds its data and carries more.
import os, select, socket
import scenario

scenario.setup()
TO_SERVER = b"CRIT-RESTORE-TCP to server " * 50
TO_CLIENT = b"CRIT-RESTORE-TCP to client " * 50
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(8)
port = listener.getsockname()[1]
client = socket.create_connection(("127.0.0.1", port))
server, _ = listener.accept()
client.sendall(TO_SERVER)
server.sendall(TO_CLIENT)


def read_exactly(sock, n):
    data = b""
    sock.settimeout(5)
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def check():
    scenario.expect("queued to server", read_exactly(server, len(TO_SERVER)), TO_SERVER)
    scenario.expect("queued to client", read_exactly(client, len(TO_CLIENT)), TO_CLIENT)
    client.sendall(b"after restore")
    scenario.expect("new data", read_exactly(server, 13), b"after restore")
    return [("port", port), ("client_port", client.getsockname()[1])]


scenario.on_report(check)
scenario.ready(port=port, client_port=client.getsockname()[1])
while True:
    if select.select([listener], [], [], scenario.NAP)[0]:
        conn, _ = listener.accept()
        line = conn.makefile("rb").readline()
        conn.sendall(b"pid %d heard %s" % (os.getpid(), line))
        conn.close()
