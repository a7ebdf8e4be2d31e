#!/usr/bin/env python3
"""A server that accepts connections one at a time and reads each only when told to: it prints
"accepted N", waits for a line on the --go FIFO, then reads until the end of the stream or an
error and prints "conn N bytes B sha256 H end=eof|ERRNO-NAME". Not reading lets a test fill the
receive window and keep it shut for as long as it likes. Exits after --connections.
"""
import argparse
import errno
import hashlib
import socket

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--port", type=int, required=True)
p.add_argument("--go", required=True, help="FIFO: one line per connection lets it be read")
p.add_argument("--connections", type=int, default=1)
args = p.parse_args()

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", args.port))
srv.listen(8)
print("listening %s:%d" % srv.getsockname(), flush=True)

for n in range(1, args.connections + 1):
    conn, _ = srv.accept()
    print(f"accepted {n}", flush=True)
    with open(args.go) as go:
        go.readline()
    digest, total, end = hashlib.sha256(), 0, "eof"
    try:
        while True:
            b = conn.recv(65536)
            if not b:
                break
            digest.update(b)
            total += len(b)
    except OSError as e:
        end = errno.errorcode.get(e.errno, str(e.errno))
    conn.close()
    print(f"conn {n} bytes {total} sha256 {digest.hexdigest()} end={end}", flush=True)
