# The daemon goes away under a blocked recv(): the call fails with ECONNRESET and new sockets
# fail with EAFNOSUPPORT after one line on stderr.
import socket, time, os
HOST = os.environ.get("SHIM_CHECK_HOST", "127.0.0.1")  # the stack's address
srv = socket.socket(); srv.bind(("0.0.0.0", 7300)); srv.listen(4)
c = socket.create_connection((HOST, 7300))
s, _ = srv.accept()
print("blocking in recv", flush=True)
try:
    print("recv ->", s.recv(10))
except OSError as e:
    print("recv error:", e)
try:
    socket.socket()
except OSError as e:
    print("new socket:", e)
