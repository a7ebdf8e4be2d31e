#!/usr/bin/env python3
"""A plain threaded TCP echo server for tests: echoes every byte until the client closes.

Prints "listening HOST:PORT" once ready; serves until killed, or until --connections
connections have completed (then exits 0). Runs on Linux TCP or under the shim.
"""
import argparse
import socket
import sys
import threading

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--bind", default="0.0.0.0")
p.add_argument("--port", type=int, required=True)
p.add_argument("--connections", type=int, default=0, help="exit after this many (0: forever)")
p.add_argument("--backlog", type=int, default=64, help="listen() backlog")
args = p.parse_args()

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((args.bind, args.port))
srv.listen(args.backlog)
print("listening %s:%d" % srv.getsockname(), flush=True)

failures = []


def serve(conn):
    try:
        while True:
            b = conn.recv(262144)
            if not b:
                break
            conn.sendall(b)
        conn.shutdown(socket.SHUT_WR)
    except OSError as e:
        failures.append(str(e))
    finally:
        conn.close()


threads = []
served = 0
while args.connections == 0 or served < args.connections:
    conn, _ = srv.accept()
    t = threading.Thread(target=serve, args=(conn,))
    t.start()
    threads.append(t)
    served += 1
for t in threads:
    t.join()
srv.close()
if failures:
    print("errors: " + "; ".join(failures), file=sys.stderr)
sys.exit(1 if failures else 0)
