# Echo through a stack listener and client in one process: a sender thread, a receiving
# thread, a server thread; 1 MB through 64 KiB rings, sockets with timeouts (poll + non-blocking).
import socket, threading, sys, os
HOST = os.environ.get("SHIM_CHECK_HOST", "127.0.0.1")  # the stack's address
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 7107)); srv.listen(8)
print("listening", srv.getsockname(), flush=True)
def serve():
    c, addr = srv.accept()
    print("accepted", addr, flush=True)
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d)
    c.close()
t = threading.Thread(target=serve); t.start()
cl = socket.create_connection((HOST, 7107), timeout=5)
print("client", cl.getsockname(), cl.getpeername(), flush=True)
payload = bytes(range(256)) * 4000   # 1 MB, bigger than the rings
def sender():
    cl.sendall(payload); cl.shutdown(socket.SHUT_WR)
threading.Thread(target=sender).start()
got = bytearray()
while True:
    d = cl.recv(65536)
    if not d: break
    got += d
print("echoed ok" if got == payload else f"MISMATCH {len(got)}", flush=True)
cl.close(); t.join(); srv.close()
