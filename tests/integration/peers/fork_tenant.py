"""A tenant's app whose fork() child becomes another tenant's app (setuid to that tenant's uid).

The parent holds a same-host connection (a listener, a client and the accepted end, all on ADDR).
The child, after setuid(UID), tries the inherited client socket (expected: EACCES, the daemon
refuses to carry the parent's connections into another tenant), then listens on ADDR:PORT+100 as
its new tenant and echoes through a connection of its own. Once the child is gone the parent moves
1 MiB each way through its connection, checked. Prints one JSON line; exit status 0 if all held.
"""
import argparse
import errno
import hashlib
import json
import os
import socket
import sys
import threading


def move(src, dst, data):
    # The sender runs beside the reader: more than the rings hold may be in flight.
    sender = threading.Thread(target=src.sendall, args=(data,))
    sender.start()
    got = bytearray()
    while len(got) < len(data):
        chunk = dst.recv(len(data) - len(got))
        if not chunk:
            raise RuntimeError("connection ended early")
        got += chunk
    sender.join()
    return hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()


def child(client, addr, port, uid, out):
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    res = {}
    try:
        client.send(b"x")
        res["inherited"] = "sent"
    except OSError as e:
        res["inherited"] = errno.errorcode.get(e.errno, str(e.errno))
    try:
        lst = socket.socket()
        lst.bind((addr, port + 100))
        lst.listen(4)
        own = socket.socket()
        own.settimeout(10)
        own.connect((addr, port + 100))
        peer, _ = lst.accept()
        res["own"] = "ok" if move(own, peer, os.urandom(4096)) else "corrupt"
    except OSError as e:
        res["own"] = f"error {e!r}"
    os.write(out, json.dumps(res).encode())
    os._exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=9000)
    ap.add_argument("--uid", type=int, default=65534)
    a = ap.parse_args()
    lst = socket.socket()
    lst.bind((a.addr, a.port))
    lst.listen(4)
    client = socket.socket()
    client.settimeout(20)
    client.connect((a.addr, a.port))
    server, _ = lst.accept()
    server.settimeout(20)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        child(client, a.addr, a.port, a.uid, w)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    report = json.loads(os.read(r, 4096) or b"{}")
    report["child_status"] = status
    data = os.urandom(1 << 20)
    report["parent"] = "ok" if move(client, server, data) and move(server, client, data) else "corrupt"
    print(json.dumps(report), flush=True)
    ok = report == {"inherited": "EACCES", "own": "ok", "child_status": 0, "parent": "ok"}
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
