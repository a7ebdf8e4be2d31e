#!/usr/bin/env python3
"""Watches a running daemon's connections and reports any that stop making progress.

Every --interval seconds it reads `virtuosoctl status --connections --json`. A connection is
stalled when none of its progress counters (bytes acknowledged, sent, received, written or read
by the app) moved for --after seconds while one end had bytes to move and the other room for them:

  unacknowledged   bytes in flight and no ACK for them (loss recovery or timers not working)
  unsent           bytes written by the app, the peer's window open, and nothing sent
  writer_not_woken a send found the ring full, there is room now, and the app never wrote again
  reader_not_woken a recv found nothing, bytes arrived since, and the app never read them

Each stall is reported once, on stderr and as a JSON line in --report, with the connection's whole
state and the daemon's counters, so the next stall explains itself. Exits when the daemon stops
answering, or on SIGTERM.
"""
import argparse
import json
import signal
import subprocess
import sys
import time


def snapshot(ctl, run_dir):
    try:
        out = subprocess.run([ctl, "--run-dir", run_dir, "status", "--connections", "--json"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode not in (0, 3):
            return None
        return json.loads(out.stdout)
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        return None


def progress_key(c):
    ring = c.get("ring", {})
    return (c["state"], c["acked_bytes"], c["snd_nxt"], c["rcv_nxt"], ring.get("tx_head"),
            ring.get("rx_tail"))


def stuck_reason(c):
    """Why this connection should be moving, or None."""
    ring = c.get("ring")
    if ring is None or ring["error"] != 0:
        return None
    if ring["tx_unacked"] > 0:
        return "unacknowledged"
    if ring["tx_unsent"] > 0 and c["snd_wnd"] > 0:
        return "unsent"
    used = (ring["tx_head"] - ring["tx_tail"]) % (1 << 32)
    free = ring["tx_size"] - used
    if ring["writer_waiting"] and free > 0 and free >= used // 2:
        return "writer_not_woken"
    if ring["reader_waiting"] and ring["rx_unread"] > 0:
        return "reader_not_woken"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", required=True, help="the virtuosoctl binary")
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--report", required=True, help="a file to append one JSON line per stall to")
    ap.add_argument("--after", type=float, default=5.0, help="seconds without progress")
    ap.add_argument("--interval", type=float, default=1.0)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    since = {}  # (flow, local, remote) -> (progress key, monotonic time it was first seen)
    reported = set()
    while True:
        st = snapshot(args.ctl, args.run_dir)
        if st is None:
            return
        now = time.monotonic()
        live = set()
        for c in st.get("connections", []):
            ident = (c["flow"], c["local"], c["remote"])
            live.add(ident)
            key = progress_key(c)
            reason = stuck_reason(c)
            if reason is None or ident not in since or since[ident][0] != key:
                since[ident] = (key, now)
                continue
            idle = now - since[ident][1]
            if idle < args.after or ident in reported:
                continue
            reported.add(ident)
            line = json.dumps({"reason": reason, "no_progress_s": round(idle, 1), "connection": c,
                               "fastpath": st.get("fastpath"), "slowpath": st.get("slowpath")})
            print(f"stall watchdog: {c['local']} <- {c['remote']} made no progress for "
                  f"{idle:.1f} s ({reason}): {line}", file=sys.stderr, flush=True)
            with open(args.report, "a") as f:
                f.write(line + "\n")
        for ident in list(since):
            if ident not in live:
                del since[ident]
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
