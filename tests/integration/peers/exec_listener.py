#!/usr/bin/env python3
"""A listening socket handed to an exec'd program: the parent listens, forks, and the child dup2s
the listener onto descriptor 3 and execs this script again, which accepts --clients connections on
it and answers each message in upper case. The parent closes its copy and waits for the child.
Prints "listening" once the exec'd program holds the listener and "ok" when it served every
client; exits non-zero on any error. Runs unchanged on Linux TCP or under the shim.
"""
import argparse
import os
import select
import socket
import sys

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--clients", type=int, default=3)
p.add_argument("--exec-child", action="store_true", help=argparse.SUPPRESS)
args = p.parse_args()

if args.exec_child:
    listener = socket.socket(fileno=3)
    if listener.getsockname()[1] != args.port:
        sys.exit(f"exec'd program: descriptor 3 is bound to {listener.getsockname()}, not port {args.port}")
    select.select([listener], [], [], 0)  # under the shim, this joins the listener
    print("listening", flush=True)
    for _ in range(args.clients):
        conn, _addr = listener.accept()
        with conn:
            conn.settimeout(20)
            data = conn.recv(1000)
            conn.sendall(data.upper())
    print("ok", flush=True)
    sys.exit(0)

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("0.0.0.0", args.port))
listener.listen(16)
pid = os.fork()
if pid == 0:
    os.dup2(listener.fileno(), 3)  # without close-on-exec
    os.execv(sys.executable, [sys.executable, sys.argv[0], "--port", str(args.port),
                              "--clients", str(args.clients), "--exec-child"])
listener.close()
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
