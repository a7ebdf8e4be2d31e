#!/usr/bin/env bash
# 10,000 short connections each way against Linux: an app under the shim connects to a Linux echo
# server (active open, active close, TIME_WAIT on our side), and a Linux client connects to an
# echo server under the shim (passive open, the peer closes first). Every exchange is verified and
# none may fail; afterwards, once the TIME_WAIT records have drained, `virtuosoctl status` must
# show every table back where it started: no flow, slot, port, listener or handshake left over.
source "$(dirname "$0")/lib.sh"
vt_init
VT_EXTRA_CONFIG="[tcp]
time_wait_ms = 1000"
vt_start_daemon
B=$VT_BIN
N_CONN=8
PER_CONN=1250  # 8 x 1250 = 10,000 connections each way

TABLES="contexts listeners flows half_open syn_sent time_wait slots_in_use ports_bound ports_listening
ports_in_use port_refs arp_waiting orphans"

tables() {
  "$B/virtuosoctl" status --json | python3 -c '
import json, sys
v = json.load(sys.stdin)
print(" ".join("%s=%s" % (k, v[k]) for k in sys.argv[1:]))' $TABLES
}

# Waits (bounded) until the tables equal $1: TIME_WAIT records drain after time_wait_ms.
wait_tables() {
  local now
  for _ in $(seq 300); do
    now=$(tables)
    [ "$now" = "$1" ] && return 0
    sleep 0.05
  done
  vt_fail "tables after the run: $now; before: $1"
}

# Checks an echo-client JSON: every connection's exchange done and verified, no error.
check_run() {
  python3 - "$1" "$2" $((N_CONN * PER_CONN)) <<'PY' || vt_fail "$2: $(tail -3 "${1%.json}.out")"
import json, sys
r = json.load(open(sys.argv[1]))
label, want = sys.argv[2], int(sys.argv[3])
if r["errors"]["total"] != 0 or r["requests"] != want:
    sys.exit("%s: %d of %d connections, errors %s" % (label, r["requests"], want, r["errors"]))
print("%s: %d connections in %.2f s, %.0f connections/s, p99 %.0f us" %
      (label, r["requests"], r["elapsed_s"], r["requests_per_s"], r["latency_us"]["p99"]))
PY
}

before=$(tables)
bufs_before=$(vt_status_field fastpath.port_buffers_in_use)
vt_log "before: $before"

# Our stack opens and closes first.
vt_spawn_peer "$VT_TMP/linux-echo.out" "$B/echo-server" --port 9300
vt_wait_line "$VT_TMP/linux-echo.out" listening 20 "$VT_LAST_PID"
timeout 120 "$B/virtuoso-run" -- "$B/echo-client" --host "$VT_PEER_IP" --port 9300 \
  --connections $N_CONN --connect-per-request --requests $PER_CONN --size 64 --verify --quiet \
  --json "$VT_TMP/out.json" >"$VT_TMP/out.out" 2>&1 || vt_fail "shim -> Linux: $(tail -3 "$VT_TMP/out.out")"
check_run "$VT_TMP/out.json" "shim client -> Linux server"

# The Linux client opens and closes first.
vt_spawn_shim "$VT_TMP/shim-echo.out" "$B/echo-server" --port 9301
server=$VT_LAST_PID
vt_wait_line "$VT_TMP/shim-echo.out" listening 20 "$server"
timeout 120 ip netns exec "$VT_NS" "$B/echo-client" --host "$VT_IP" --port 9301 \
  --connections $N_CONN --connect-per-request --requests $PER_CONN --size 64 --verify --quiet \
  --json "$VT_TMP/in.json" >"$VT_TMP/in.out" 2>&1 || vt_fail "Linux -> shim: $(tail -3 "$VT_TMP/in.out")"
check_run "$VT_TMP/in.json" "Linux client -> shim server"
kill -TERM "$server"
vt_wait_pid "$server" 20 || vt_fail "the echo server under the shim did not exit"

wait_tables "$before"
vt_log "after:  $(tables)"
# The fast path's packet buffers: the same number out of the pool as before the run (the gauge is
# sampled every 1024 loop iterations, so it is read until it settles, within a bound).
vt_wait_status "fastpath['port_buffers_in_use'] <= $((bufs_before + 64))" 5
bufs_after=$(vt_status_field fastpath.port_buffers_in_use)
vt_log "packet buffers in use: $bufs_before before, $bufs_after after"
[ "$(vt_status_field slowpath.active_opens)" -ge $((N_CONN * PER_CONN)) ] || vt_fail "active_opens too low"
[ "$(vt_status_field slowpath.passive_opens)" -ge $((N_CONN * PER_CONN)) ] || vt_fail "passive_opens too low"
vt_pass "20,000 short connections, nothing left behind"
