#!/usr/bin/env python3
"""One-way bulk transfer with SHA-256 on both ends, for tests over a lossy link.

  oneway.py recv --port P [--progress BYTES]   accept one connection, read to EOF, print JSON
  oneway.py send --host H --port P --bytes N   send N random bytes, FIN, wait for the receiver's close

The sender's time runs to the receiver's close, so it covers delivery, not just buffering. Both
print one JSON line (bytes, sha256, seconds); a test compares the two digests. `recv --progress B`
also prints "progress N" each time another B bytes arrived, so a test can act mid-transfer.
`send --rate-mib S` paces the sender (MiB/s) so a transfer lasts long enough to be interrupted.
`send --max-pacing-rate B` sets SO_MAX_PACING_RATE (bytes a second) before connecting, and the
sender's JSON carries TCP_INFO's pacing rates read before its FIN (`--await-pacing`: it sends only
once TCP_INFO shows the cap as its pacing rate). `recv --mark B` adds the bytes
and seconds after the first B bytes, to judge a steady rate apart from the start.
Runs unchanged on Linux TCP or under the shim. Exits non-zero on any error or --timeout.
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import struct
import time

CHUNK = 65536
SO_MAX_PACING_RATE = getattr(socket, "SO_MAX_PACING_RATE", 47)


def pacing_info(s):
    """TCP_INFO's tcpi_pacing_rate and tcpi_max_pacing_rate (linux/tcp.h, offsets 104 and 112)."""
    raw = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 120)
    if len(raw) < 120:
        return None
    rate, cap = struct.unpack_from("<QQ", raw, 104)
    return {"pacing_rate": rate, "max_pacing_rate": cap}


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
    mark_at = None
    while True:
        data = conn.recv(1 << 20)
        if not data:
            break
        h.update(data)
        total += len(data)
        if a.mark and mark_at is None and total >= a.mark:
            mark_at, mark_bytes = time.monotonic(), total
        while a.progress and total >= next_progress:
            print(f"progress {total}", flush=True)
            next_progress += a.progress
    end = time.monotonic()
    conn.close()
    srv.close()
    out = {"ok": True, "bytes": total, "sha256": h.hexdigest(), "seconds": round(end - start, 3)}
    if mark_at is not None:
        out["bytes_after_mark"] = total - mark_bytes
        out["seconds_after_mark"] = round(end - mark_at, 4)
    print(json.dumps(out), flush=True)


def send(a):
    s = socket.socket()
    if a.max_pacing_rate:
        s.setsockopt(socket.SOL_SOCKET, SO_MAX_PACING_RATE, struct.pack("=Q", a.max_pacing_rate))
    s.settimeout(a.timeout)
    s.connect((a.host, a.port))
    if a.await_pacing:
        # The stack applies the cap at its next look at the flow (within a tick): before sending,
        # wait until TCP_INFO shows it, so that every byte goes out paced.
        deadline = time.monotonic() + a.timeout
        while (pacing_info(s) or {}).get("pacing_rate") != a.max_pacing_rate:
            if time.monotonic() > deadline:
                raise TimeoutError(f"TCP_INFO never showed the pacing rate {a.max_pacing_rate}")
            time.sleep(0.001)
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
    info = pacing_info(s)
    s.shutdown(socket.SHUT_WR)
    if s.recv(1) != b"":
        raise RuntimeError("the receiver sent data instead of closing")
    seconds = time.monotonic() - start
    s.close()
    out = {"ok": True, "bytes": sent, "sha256": h.hexdigest(), "seconds": round(seconds, 3),
           "mib_per_s": round(sent / 1048576.0 / seconds, 2)}
    if info is not None:
        out.update(info)
    print(json.dumps(out), flush=True)


p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("mode", choices=["send", "recv"])
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--bind", default="0.0.0.0")
p.add_argument("--port", type=int, required=True)
p.add_argument("--bytes", type=int, default=0)
p.add_argument("--progress", type=int, default=0)
p.add_argument("--rate-mib", type=float, default=0)
p.add_argument("--max-pacing-rate", type=int, default=0, help="SO_MAX_PACING_RATE, bytes a second")
p.add_argument("--await-pacing", action="store_true", help="send once TCP_INFO's pacing rate is the cap")
p.add_argument("--mark", type=int, default=0, help="also report bytes and seconds after this many")
p.add_argument("--timeout", type=float, default=120.0, help="seconds any one step may take")
args = p.parse_args()
try:
    recv(args) if args.mode == "recv" else send(args)
except Exception as e:  # one JSON line for the test, whatever went wrong
    print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}), flush=True)
    sys.exit(1)
