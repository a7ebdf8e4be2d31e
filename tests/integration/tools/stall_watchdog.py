#!/usr/bin/env python3
"""Watches a running daemon's connections and reports any that stop making progress.

Every --interval seconds it reads `virtuosoctl status --connections --json`. A connection is
stalled when, for --after seconds, none of its progress counters moved (bytes acknowledged,
bytes received, bytes the app wrote or read) while it had work to do: bytes written by the app
and not yet acknowledged, bytes received that the app has not read, or a writer waiting for
ring space (FlowSlot::tx_nospace). Each stall is reported
once, to stderr and to --report, with the connection's whole state, so the next stall explains
itself. Exits when the daemon stops answering or on SIGTERM.
"""
import argparse
import json
import signal
import subprocess
import sys
import time


def snapshot(ctl, run_dir):
    out = subprocess.run([ctl, "--run-dir", run_dir, "status", "--connections", "--json"],
                         capture_output=True, text=True, timeout=10)
    if out.returncode not in (0, 3):
        return None
    return json.loads(out.stdout)


def progress_key(c):
    ring = c.get("ring", {})
    return (c["acked_bytes"], c["rcv_nxt"], ring.get("tx_head"), ring.get("rx_tail"), c["state"])


def has_work(c):
    ring = c.get("ring")
    if ring is None:
        return False
    # tx_nospace: a writer found the ring full and waits to hear of freed space.
    return ring["tx_head"] != ring["tx_tail"] or ring["rx_unread"] != 0 or ring["tx_nospace"] != 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--after", type=float, default=5.0)
    ap.add_argument("--interval", type=float, default=0.5)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    seen = {}  # (flow, local, remote) -> (progress key, since)
    reported = set()
    while True:
        try:
            st = snapshot(args.ctl, args.run_dir)
        except (subprocess.TimeoutExpired, json.JSONDecodeError):
            st = None
        if st is None:
            return
        now = time.monotonic()
        live = set()
        for c in st.get("connections", []):
            ident = (c["flow"], c["local"], c["remote"])
            live.add(ident)
            key = progress_key(c)
            if ident not in seen or seen[ident][0] != key or not has_work(c):
                seen[ident] = (key, now)
                continue
            if now - seen[ident][1] >= args.after and ident not in reported:
                reported.add(ident)
                line = json.dumps({"stalled_for_s": round(now - seen[ident][1], 1), "connection": c,
                                   "fastpath": st.get("fastpath"), "slowpath": st.get("slowpath")})
                print(f"stall watchdog: connection {c['local']} <- {c['remote']} made no progress "
                      f"for {args.after:g} s with work to do: {line}", file=sys.stderr, flush=True)
                with open(args.report, "a") as f:
                    f.write(line + "\n")
        for ident in list(seen):
            if ident not in live:
                del seen[ident]
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
