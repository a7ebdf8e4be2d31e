#!/usr/bin/env bash
# A child of virtuosod killed with SIGKILL, the fast path, then the slow path: an app blocked in
# recv on a connection through the stack gets ECONNRESET within a second (not a hang), virtuosod
# starts both processes again (a new ready line, status ready), and a new app's transfer through
# the stack works. Connections do not survive (docs/robustness.md).
source "$(dirname "$0")/lib.sh"
vt_init
VT_WATCHDOG=0  # status is unanswered while the daemon restarts: nothing stalls, the stack is away
vt_start_daemon

vt_spawn_peer "$VT_TMP/peer-echo.out" python3 "$VT_PEERS/echo_server.py" --port 9100
vt_wait_listening_peer 9100

ready_lines() { grep -c "virtuosod: ready" "$VT_TMP/daemon.out" || true; }

kill_and_recover() {  # CHILD (fastpath | slowpath)
  local child=$1 pid app out=$VT_TMP/app-$1.out before
  pid=$(grep -o "${child}_pid=[0-9]*" "$VT_TMP/daemon.out" | tail -n 1 | cut -d= -f2)
  vt_spawn_shim "$out" python3 -c '
import errno, socket, sys, time
s = socket.create_connection((sys.argv[1], 9100))
s.sendall(b"x")
assert s.recv(1) == b"x"
print("blocked", flush=True)
t0 = time.monotonic()
try:
    print("returned", s.recv(10), flush=True)
except OSError as e:
    print("error", errno.errorcode.get(e.errno, e.errno), round(time.monotonic() - t0, 3), flush=True)
' "$VT_PEER_IP"
  app=$VT_LAST_PID
  vt_wait_line "$out" blocked 20 "$app"
  before=$(ready_lines)
  kill -KILL "$pid"
  vt_wait_line "$out" "^error" 5
  read -r _ err secs < <(grep "^error" "$out")
  vt_log "$child killed: the blocked recv failed with $err after $secs s"
  [ "$err" = ECONNRESET ] || vt_fail "$child killed: recv failed with $err, want ECONNRESET"
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 1.5 else 1)' "$secs" ||
    vt_fail "$child killed: the blocked recv took $secs s to fail"
  local deadline=$((SECONDS + 60))
  until [ "$(ready_lines)" -gt "$before" ]; do
    kill -0 "$VT_DAEMON" 2>/dev/null || vt_fail "virtuosod exited instead of restarting"
    [ $SECONDS -ge $deadline ] && vt_fail "no new ready line within 60 s of killing the $child"
    sleep 0.1
  done
  if [ "$(vt_port_kind)" = tap ]; then  # the new fast path made a new tap device: into the peer namespace
    ip link set "$VT_TAP" netns "$VT_NS"
    ip -n "$VT_NS" addr add "$VT_PEER_IP/24" dev "$VT_TAP"
    ip -n "$VT_NS" link set "$VT_TAP" up
  fi
  "$VT_BIN/virtuosoctl" status >/dev/null || vt_fail "not ready after the restart"
  "$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/stream_client.py" --host "$VT_PEER_IP" --port 9100 \
    --bytes $((4 * 1024 * 1024)) --roundtrips 50 --timeout 60 >"$VT_TMP/after-$child.out" 2>&1 ||
    vt_fail "a new app after the $child restarted: $(cat "$VT_TMP/after-$child.out")"
  vt_check_client_result "$VT_TMP/after-$child.out"
}

kill_and_recover fastpath
kill_and_recover slowpath
grep -q "virtuoso-fastpath was killed by signal 9" "$VT_TMP/daemon.err" ||
  vt_fail "the log does not say the fast path was killed: $(grep -i unexpectedly "$VT_TMP/daemon.err")"
vt_pass "a killed fast or slow path: blocked apps fail at once, the daemon restarts, new apps work"
