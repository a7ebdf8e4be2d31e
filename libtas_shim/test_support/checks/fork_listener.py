# fork(): the child closes the inherited listener (only the parent owns it) and connects to it
# with its own context; the parent keeps listening.
import socket, os, sys
HOST = os.environ.get("SHIM_CHECK_HOST", "127.0.0.1")  # the stack's address
srv = socket.socket(); srv.bind(("0.0.0.0", 7200)); srv.listen(4)
pid = os.fork()
if pid == 0:
    # child: like a redis BGSAVE child, close the inherited listener, then use its own socket
    srv.close()
    try:
        c = socket.create_connection((HOST, 7200), timeout=3)
        c.sendall(b"from child"); c.close()
        os._exit(0)
    except Exception as e:
        print("child error", e, flush=True); os._exit(1)
conn, _ = srv.accept()
print("parent got", conn.recv(100), flush=True)
_, st = os.waitpid(pid, 0)
print("child status", st, flush=True)
try:
    s2 = socket.create_connection((HOST, 7200), timeout=3)
    s2.sendall(b"again"); c2, _ = srv.accept(); print("parent still listens:", c2.recv(10), flush=True)
except Exception as e:
    print("parent error", e)
