#!/usr/bin/env python3
"""Several long flows sharing one link, each verified, with per-flow goodput over time.

  shared_link.py sink --port P --flows N [--interval S]   accept N flows, read each to EOF, print JSON
  shared_link.py source --host H --port P --id I --seconds D [--cc ALGO]   send for D s, FIN, print JSON

A source sends its id (8 bytes), then the same random megabyte over and over for D seconds, and
prints its byte count and the SHA-256 of what it sent after the id. The sink reads every flow to
EOF and prints, per flow, the bytes, the SHA-256 and the bytes received in each interval; then
Jain's fairness index of the flows' goodput over the second half of the time all of them were
sending ("jain"), and the goodput of the whole link then ("mbit_s"). A test compares digests.
Runs unchanged on Linux TCP or under the shim. Exits non-zero on any error or --timeout.
"""
import argparse
import hashlib
import json
import os
import selectors
import socket
import struct
import sys
import time


def sink(a):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.bind, a.port))
    srv.listen(a.flows)
    print("listening", flush=True)
    srv.settimeout(a.timeout)
    sel = selectors.DefaultSelector()
    flows = {}  # socket -> state
    pending = {}  # socket -> header bytes so far
    accepted = 0
    srv.setblocking(False)
    sel.register(srv, selectors.EVENT_READ)
    t0 = None
    deadline = time.monotonic() + a.timeout
    open_flows = 0
    while accepted < a.flows or open_flows > 0:
        events = sel.select(timeout=1.0)
        now = time.monotonic()
        if not events and now > deadline:
            sys.exit(f"timeout: {accepted} of {a.flows} flows accepted, {open_flows} still open")
        for key, _ in events:
            s = key.fileobj
            if s is srv:
                conn, _ = srv.accept()
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ)
                pending[conn] = b""
                accepted += 1
                open_flows += 1
                continue
            data = s.recv(1 << 20)
            deadline = now + a.timeout
            if t0 is None:
                t0 = now
            if s in pending:
                hdr = pending[s] + data
                if len(hdr) < 8:
                    if not data:
                        sys.exit("a flow ended before its id")
                    pending[s] = hdr
                    continue
                del pending[s]
                fid = struct.unpack("!Q", hdr[:8])[0]
                flows[s] = {"id": fid, "bytes": 0, "sha": hashlib.sha256(), "first": now,
                            "last": now, "series": {}}
                data = hdr[8:]
                if not data:
                    continue
            f = flows[s]
            if not data:
                f["end"] = now
                sel.unregister(s)
                s.close()
                open_flows -= 1
                continue
            f["bytes"] += len(data)
            f["sha"].update(data)
            f["last"] = now
            slot = int((now - t0) / a.interval)
            f["series"][slot] = f["series"].get(slot, 0) + len(data)
    out = sorted(flows.values(), key=lambda f: f["id"])
    # The time all flows were sending: from the last one's first byte to the first one's last.
    both_from = max(f["first"] for f in out) - t0
    both_to = min(f["last"] for f in out) - t0
    half = both_from + (both_to - both_from) / 2
    lo, hi = int(half / a.interval) + 1, int(both_to / a.interval)  # whole intervals only
    shares = [sum(v for k, v in f["series"].items() if lo <= k < hi) for f in out]
    secs = max(hi - lo, 0) * a.interval
    jain = (sum(shares) ** 2 / (len(shares) * sum(x * x for x in shares))) if secs > 0 and sum(shares) else 0.0
    print(json.dumps({
        "ok": True,
        "flows": [{"id": f["id"], "bytes": f["bytes"], "sha256": f["sha"].hexdigest(),
                   "mbit_s_second_half": round(s * 8 / secs / 1e6, 2) if secs else 0,
                   "series": [f["series"].get(k, 0) for k in range(int(both_to / a.interval) + 1)]}
                  for f, s in zip(out, shares)],
        "interval_s": a.interval,
        "t0_mono": round(t0, 4),  # time.monotonic() of the first bytes: series slot 0 starts here
        "overlap_s": round(both_to - both_from, 3),
        "second_half_s": round(secs, 3),
        "jain": round(jain, 4),
        "mbit_s": round(sum(shares) * 8 / secs / 1e6, 2) if secs else 0,
    }), flush=True)


def source(a):
    block = os.urandom(1 << 20)
    s = socket.socket()
    if a.cc:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, a.cc.encode())
    s.settimeout(a.timeout)
    s.connect((a.host, a.port))
    s.sendall(struct.pack("!Q", a.id))
    h = hashlib.sha256()
    total = 0
    start = time.monotonic()
    end = start + a.seconds
    view = memoryview(block)
    while time.monotonic() < end:
        for off in range(0, len(block), 65536):
            n = s.send(view[off:off + 65536])
            h.update(view[off:off + n])
            total += n
            rest = view[off + n:off + 65536]
            while len(rest):
                m = s.send(rest)
                h.update(rest[:m])
                total += m
                rest = rest[m:]
    s.shutdown(socket.SHUT_WR)
    if s.recv(1) != b"":
        sys.exit("the sink sent data")
    s.close()
    print(json.dumps({"ok": True, "id": a.id, "bytes": total, "sha256": h.hexdigest(),
                      "seconds": round(time.monotonic() - start, 3)}), flush=True)


p = argparse.ArgumentParser()
p.add_argument("mode", choices=["sink", "source"])
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--bind", default="0.0.0.0")
p.add_argument("--port", type=int, required=True)
p.add_argument("--flows", type=int, default=1)
p.add_argument("--interval", type=float, default=0.1)
p.add_argument("--id", type=int, default=0)
p.add_argument("--seconds", type=float, default=5)
p.add_argument("--cc", default="", help="source: the socket's congestion control (TCP_CONGESTION, Linux)")
p.add_argument("--timeout", type=float, default=60.0, help="seconds any one step may take")
a = p.parse_args()
try:
    sink(a) if a.mode == "sink" else source(a)
except (OSError, ValueError) as e:
    print(json.dumps({"ok": False, "error": str(e)}), flush=True)
    sys.exit(1)
