# Talk to a restored server: client.py tcp HOST:PORT MESSAGE | unix PATH MESSAGE
# Sends MESSAGE and a newline, prints the one-line answer.
import socket, sys

mode, address, message = sys.argv[1:4]
if mode == "tcp":
    host, port = address.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
else:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(address)
s.sendall(message.encode() + b"\n")
answer = b""
while not answer.endswith(b"\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    answer += chunk
print(answer.decode().rstrip("\n"))
