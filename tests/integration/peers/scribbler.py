#!/usr/bin/env python3
"""An app that scribbles over its own shared-memory region (run under the shim): connects to
HOST:PORT, echoes a first message, then for SECONDS writes random bytes at random places of the
region the daemon gave it (found in /proc/self/maps, written through /proc/self/mem), sending on
its socket between writes so the stack keeps reading its queues. Prints "scribbling" when it
starts, then one JSON line: how many writes, and the first errno its socket gave (null if none)."""
import argparse
import json
import os
import random
import socket
import time

ap = argparse.ArgumentParser()
ap.add_argument("--host", required=True)
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--seconds", type=float, default=2.0)
args = ap.parse_args()

s = socket.create_connection((args.host, args.port), timeout=10)
s.sendall(b"hello")
assert s.recv(5) == b"hello"
spans = []
for line in open("/proc/self/maps"):
    if "memfd:virtuoso-app" in line and "rw" in line.split()[1]:
        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
        spans.append((lo, hi))
assert spans, "no region mapping found"
mem = os.open("/proc/self/mem", os.O_RDWR)
rng = random.Random(11)
writes, error = 0, None
deadline = time.monotonic() + args.seconds
s.settimeout(0.2)
print("scribbling", flush=True)
while time.monotonic() < deadline:
    lo, hi = spans[rng.randrange(len(spans))]
    # The first 64 KiB (header, queues) half the time: they are where the protocol lives.
    span = min(hi - lo, 65536) if rng.random() < 0.5 else hi - lo
    os.pwrite(mem, os.urandom(rng.randrange(1, 256)), lo + rng.randrange(span - 256))
    writes += 1
    try:
        s.send(b"x" * 64)
    except socket.timeout:
        pass
    except OSError as e:
        error = error or e.errno  # the first; it keeps scribbling until the end
print(json.dumps({"writes": writes, "errno": error}), flush=True)
