#!/usr/bin/env bash
# Multi-threaded servers under the shim: a thread per connection with blocking calls, and worker
# threads sharing one epoll set. Every thread waits in its own socket call at the same time (the
# shim holds no process-wide lock across a wait), and every echoed byte is checked, from a Linux
# client in the peer namespace and from a client under the shim, with all connections busy at once.
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon
B=$VT_BIN
CONNS=12

# serve MODE PORT MIN_WAITING ARGS...: the server under the shim, two clients, then its report on
# stop, which must show at least MIN_WAITING threads inside socket calls at one time.
serve() {
  local mode=$1 port=$2 min_waiting=$3
  shift 3
  vt_spawn_shim "$VT_TMP/$mode.out" "$B/echo-server" --port "$port" "$@"
  local pid=$VT_LAST_PID
  vt_wait_line "$VT_TMP/$mode.out" listening 20 "$pid"
  # Rounds over CONNS open connections in a new order each round: while one is served, the
  # threads of the others wait in their calls.
  ip netns exec "$VT_NS" timeout 120 python3 "$VT_PEERS/rounds_client.py" "$VT_IP" "$port" "$CONNS" 30 \
    >"$VT_TMP/$mode.rounds" 2>&1 || vt_fail "$mode: rounds client: $(tail -3 "$VT_TMP/$mode.rounds")"
  # All connections busy at once: closed-loop load on 16 connections from a client under the shim.
  timeout 120 "$B/virtuoso-run" -- "$B/echo-client" --host "$VT_IP" --port "$port" --connections 16 \
    --threads 2 --size 700 --requests 400 --verify --quiet --json "$VT_TMP/$mode.json" \
    >"$VT_TMP/$mode.client" 2>&1 || vt_fail "$mode: echo-client --verify: $(tail -3 "$VT_TMP/$mode.client")"
  python3 - "$VT_TMP/$mode.json" <<'PY' || vt_fail "$mode: client results"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["errors"]["total"] == 0 and r["requests"] == 16 * 400, r
PY
  kill -TERM "$pid"
  vt_wait_pid "$pid" 20 || vt_fail "$mode: the server did not stop on SIGTERM"
  grep -q "stopped: $((CONNS + 16)) connections" "$VT_TMP/$mode.out" ||
    vt_fail "$mode: not every connection was served: $(tail -2 "$VT_TMP/$mode.out")"
  local most
  most=$(sed -n 's/.*at most \([0-9]*\) threads in socket calls at once.*/\1/p' "$VT_TMP/$mode.out")
  [ -n "$most" ] && [ "$most" -ge "$min_waiting" ] ||
    vt_fail "$mode: at most '${most}' threads were in socket calls at once, want $min_waiting or more"
  vt_log "$mode: $(cat "$VT_TMP/$mode.rounds"); up to $most threads in socket calls at once"
}

# A thread per connection: the threads of the idle connections all block in recv at once.
serve blocking 7101 $((CONNS - 1)) --blocking
# Eight workers on one epoll set: all of them wait in epoll_wait at once when nothing is ready.
serve shared-epoll 7102 7 --shared-epoll --threads 8
vt_pass "multi-threaded servers under the shim"
