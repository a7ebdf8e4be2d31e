#!/usr/bin/env python3
"""One-way bulk transfer with SHA-256 on both ends, for tests over a lossy link.

  oneway.py recv --port P [--progress BYTES]   accept one connection, read to EOF, print JSON
  oneway.py send --host H --port P --bytes N   send N random bytes, FIN, wait for the receiver's close

The sender's time runs to the receiver's close, so it covers delivery, not just buffering. Both
print one JSON line (bytes, sha256, seconds); a test compares the two digests. `recv --progress B`
also prints "progress N" each time another B bytes arrived, so a test can act mid-transfer.
`send --rate-mib S` paces the sender (MiB/s) so a transfer lasts long enough to be interrupted.
Runs unchanged on Linux TCP or under the shim. Exits non-zero on any error or --timeout.
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import time

CHUNK = 65536


def recv(a):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.bind, a.port))
    srv.listen(1)
    print("listening", flush=True)
    srv.settimeout(a.timeout)
    conn, _ = srv.accept()
    conn.settimeout(a.timeout)
    h = hashlib.sha256()
    total = 0
    next_progress = a.progress
    start = time.monotonic()
    while True:
        data = conn.recv(1 << 20)
        if not data:
            break
        h.update(data)
        total += len(data)
        while a.progress and total >= next_progress:
            print(f"progress {total}", flush=True)
            next_progress += a.progress
    seconds = time.monotonic() - start
    conn.close()
    srv.close()
    print(json.dumps({"ok": True, "bytes": total, "sha256": h.hexdigest(), "seconds": round(seconds, 3)}),
          flush=True)


def send(a):
    s = socket.create_connection((a.host, a.port), timeout=a.timeout)
    s.settimeout(a.timeout)
    h = hashlib.sha256()
    block = os.urandom(1 << 22)  # 4 MiB of random bytes, sent at rotating offsets
    sent = 0
    start = time.monotonic()
    while sent < a.bytes:
        off = (sent * 7919) % (len(block) - CHUNK)
        n = min(CHUNK, a.bytes - sent)
        chunk = block[off:off + n]
        s.sendall(chunk)
        h.update(chunk)
        sent += n
        if a.rate_mib:
            ahead = sent / (a.rate_mib * 1048576.0) - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    s.shutdown(socket.SHUT_WR)
    if s.recv(1) != b"":
        raise RuntimeError("the receiver sent data instead of closing")
    seconds = time.monotonic() - start
    s.close()
    print(json.dumps({"ok": True, "bytes": sent, "sha256": h.hexdigest(), "seconds": round(seconds, 3),
                      "mib_per_s": round(sent / 1048576.0 / seconds, 2)}), flush=True)


p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("mode", choices=["send", "recv"])
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--bind", default="0.0.0.0")
p.add_argument("--port", type=int, required=True)
p.add_argument("--bytes", type=int, default=0)
p.add_argument("--progress", type=int, default=0)
p.add_argument("--rate-mib", type=float, default=0)
p.add_argument("--timeout", type=float, default=120.0, help="seconds any one step may take")
args = p.parse_args()
try:
    recv(args) if args.mode == "recv" else send(args)
except Exception as e:  # one JSON line for the test, whatever went wrong
    print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}), flush=True)
    sys.exit(1)
