#!/usr/bin/env python3
"""A plain TCP client for tests: bulk echo verification and small request/response round trips.

Sends --bytes of random data while reading the echo back, compares SHA-256 of both directions,
then performs --roundtrips small exchanges, each checked. Prints one JSON line with the results
and exits non-zero on any mismatch, error or timeout. Runs unchanged on Linux TCP or under the shim.
"""
import argparse
import hashlib
import json
import os
import selectors
import socket
import sys
import time


def bulk_echo(sock, total, chunk=65536):
    """Write `total` random bytes and read as many back, concurrently (no deadlock on full buffers)."""
    data = os.urandom(total)
    sent = 0
    got = bytearray()
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    deadline = time.monotonic() + args.timeout
    while len(got) < total:
        if time.monotonic() > deadline:
            raise TimeoutError(f"bulk echo stalled: sent {sent}, received {len(got)} of {total}")
        events = sel.select(timeout=1.0)
        for _key, mask in events:
            if mask & selectors.EVENT_WRITE and sent < total:
                try:
                    sent += sock.send(data[sent:sent + chunk])
                except BlockingIOError:
                    pass
                if sent == total:
                    sel.modify(sock, selectors.EVENT_READ)
            if mask & selectors.EVENT_READ:
                try:
                    b = sock.recv(262144)
                except BlockingIOError:
                    continue
                if not b:
                    raise ConnectionError(f"peer closed after {len(got)} of {total} bytes")
                got += b
    sel.close()
    sock.setblocking(True)
    return hashlib.sha256(data).hexdigest(), hashlib.sha256(got).hexdigest()


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        b = sock.recv(n - len(buf))
        if not b:
            raise ConnectionError("peer closed during a round trip")
        buf += b
    return bytes(buf)


def roundtrips(sock, count, size):
    lat = []
    for i in range(count):
        msg = (i.to_bytes(4, "big") + os.urandom(size))[:size]
        t0 = time.perf_counter()
        sock.sendall(msg)
        echo = recv_exact(sock, len(msg))
        lat.append((time.perf_counter() - t0) * 1e6)
        if echo != msg:
            raise ValueError(f"round trip {i}: echo differs")
    lat.sort()
    pick = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 1)
    return {"p50_us": pick(0.5), "p99_us": pick(0.99), "max_us": round(lat[-1], 1)}


p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--host", required=True)
p.add_argument("--port", type=int, required=True)
p.add_argument("--bytes", type=int, default=0, help="bulk echo volume")
p.add_argument("--roundtrips", type=int, default=0)
p.add_argument("--size", type=int, default=64, help="round-trip message size")
p.add_argument("--timeout", type=float, default=60.0)
args = p.parse_args()

result = {"ok": False}
try:
    t0 = time.monotonic()
    sock = socket.create_connection((args.host, args.port), timeout=args.timeout)
    sock.settimeout(args.timeout)
    result["local"] = "%s:%d" % sock.getsockname()
    result["peer"] = "%s:%d" % sock.getpeername()
    if args.bytes:
        tb = time.monotonic()
        sent_hash, got_hash = bulk_echo(sock, args.bytes)
        secs = time.monotonic() - tb
        result.update(bytes=args.bytes, sent_sha256=sent_hash, echoed_sha256=got_hash,
                      bulk_seconds=round(secs, 3), bulk_mbit_s=round(args.bytes * 8 / secs / 1e6, 1))
        if sent_hash != got_hash:
            raise ValueError("echoed bytes differ from the bytes sent")
    if args.roundtrips:
        result["roundtrips"] = args.roundtrips
        result["latency"] = roundtrips(sock, args.roundtrips, args.size)
    sock.shutdown(socket.SHUT_WR)
    rest = sock.recv(1)
    if rest:
        raise ValueError("unexpected bytes after the exchange")
    sock.close()
    result["ok"] = True
    result["seconds"] = round(time.monotonic() - t0, 3)
except Exception as e:  # report, then fail
    result["error"] = f"{type(e).__name__}: {e}"
print(json.dumps(result), flush=True)
sys.exit(0 if result["ok"] else 1)
