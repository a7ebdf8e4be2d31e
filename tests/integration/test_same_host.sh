#!/usr/bin/env bash
# Same host: a client under the shim talks to the echo server under the shim through the stack's
# own address. The bytes are delivered inside the daemon: the port's counters do not move with them.
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon

vt_spawn_shim "$VT_TMP/server.out" "$VT_BIN/echo-server" --port 7007
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"

tx_before=$(vt_status_field fastpath.tx_bytes)
local_before=$(vt_status_field fastpath.local_delivered)

"$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port 7007 \
  --bytes $((10 * 1024 * 1024)) --roundtrips 1000 --timeout 120 >"$VT_TMP/client.out" 2>&1 ||
  vt_fail "shim client: $(cat "$VT_TMP/client.out")"
vt_check_client_result "$VT_TMP/client.out"

"$VT_BIN/virtuoso-run" -- "$VT_BIN/echo-client" --host "$VT_IP" --port 7007 --connections 8 \
  --size 64 --requests 1000 --verify --quiet >"$VT_TMP/echo-client.out" 2>&1 ||
  vt_fail "echo-client under the shim: $(tail -5 "$VT_TMP/echo-client.out")"

tx_after=$(vt_status_field fastpath.tx_bytes)
local_after=$(vt_status_field fastpath.local_delivered)
moved=$((tx_after - tx_before))
delivered=$((local_after - local_before))
vt_log "port tx bytes during the run: $moved; frames delivered inside the daemon: $delivered"
# 20 MiB crossed the stack; stray kernel chatter on the tap (ARP, IPv6) is far below 1 MiB.
[ "$moved" -lt 1048576 ] || vt_fail "the port transmitted $moved bytes: traffic left the daemon"
[ "$delivered" -gt 1000 ] || vt_fail "only $delivered frames were delivered locally"

vt_pass "same-host shim <-> shim"
