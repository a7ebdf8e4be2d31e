#!/usr/bin/env python3
"""A server that answers every connection with one fixed text and closes, and its client.

  hello.py serve --port P --text T     prints "listening" once ready; serves until killed
  hello.py ask --host H --port P       prints what the server said; fails after --timeout s
Runs on Linux TCP or under the shim (which server a client reached tells tenants apart).
"""
import argparse
import socket

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("mode", choices=["serve", "ask"])
p.add_argument("--host", default="0.0.0.0")
p.add_argument("--port", type=int, required=True)
p.add_argument("--text", default="")
p.add_argument("--timeout", type=float, default=15.0)
args = p.parse_args()

if args.mode == "serve":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.host, args.port))
    s.listen(16)
    print("listening", flush=True)
    while True:
        c, _ = s.accept()
        c.sendall(args.text.encode())
        c.close()
else:
    s = socket.create_connection((args.host, args.port), timeout=args.timeout)
    data = b""
    while True:
        b = s.recv(100)
        if not b:
            break
        data += b
    print(data.decode())
