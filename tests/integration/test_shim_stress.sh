#!/usr/bin/env bash
# Stress of the shim itself: shim-stress under the shim against its own echo server on Linux in
# the peer namespace: 64 threads x 64 connections (blocking and epoll, level and edge, every
# echoed byte checked), fork during the traffic (each child serves a connection the parent opened
# and closed, and drops an inherited one unused; the parent's copy still echoes afterwards), close
# of sockets other threads are blocked in, SA_RESTART and EINTR. VT_STRESS_THREADS / VT_STRESS_CONNS scale it. VT_STRESS_BIN: the bin/ of another
# build (e.g. -DVIRTUOSO_SANITIZE=address or thread) whose shim-stress and libtas_shim.so to run.
source "$(dirname "$0")/lib.sh"
vt_init
THREADS=${VT_STRESS_THREADS:-64}
CONNS=${VT_STRESS_CONNS:-64}
STRESS_BIN=${VT_STRESS_BIN:-$VT_BIN}
SHIM=$(cd "$STRESS_BIN/../lib" && pwd)/libtas_shim.so
# ASan must be the first library loaded: in front of the shim in LD_PRELOAD (TSan comes in as the
# shim's own dependency, and crashes when preloaded itself).
PRELOAD=$SHIM
asan=$(ldd "$STRESS_BIN/shim-stress" | awk '$1 ~ /^libasan/ {print $3}')
if [ -n "$asan" ]; then PRELOAD="$asan:$SHIM"; fi
# Any sanitizer report fails the run (UBSan only warns by default).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}
# 4096 connections plus the checks in one app: enough slots, smaller rings.
VT_EXTRA_CONFIG="[apps]
slots_per_context = 8192
rx_buffer = 16384
tx_buffer = 16384"
vt_start_daemon

vt_spawn_peer "$VT_TMP/server.out" "$VT_BIN/shim-stress" --serve 7100
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"

timeout 240 env LD_PRELOAD="$PRELOAD" "$STRESS_BIN/shim-stress" --connect "$VT_PEER_IP:7100" \
  --threads "$THREADS" --conns "$CONNS" --rounds 4 --forks 4 >"$VT_TMP/client.out" 2>"$VT_TMP/client.err" ||
  vt_fail "shim-stress: $(tail -n 20 "$VT_TMP/client.err") $(cat "$VT_TMP/client.out")"
grep -q '"ok": true' "$VT_TMP/client.out" || vt_fail "shim-stress: $(cat "$VT_TMP/client.out")"
grep -q '"forks": [1-9]' "$VT_TMP/client.out" || vt_fail "shim-stress forked no child during the traffic: $(cat "$VT_TMP/client.out")"
vt_log "shim-stress: $(cat "$VT_TMP/client.out")"
vt_pass "shim stress: $THREADS threads x $CONNS connections, fork during traffic, close while blocked, signals"
