#!/usr/bin/env bash
# A program under the shim connects out (active open, ARP) to a Linux kernel TCP echo server in a
# peer namespace and moves 10 MiB each way, verified by checksum; then the bundled echo client.
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon

vt_spawn_peer "$VT_TMP/server.out" python3 "$VT_PEERS/echo_server.py" --port 9000
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"

"$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/stream_client.py" --host "$VT_PEER_IP" --port 9000 \
  --bytes $((10 * 1024 * 1024)) --roundtrips 200 --timeout 120 >"$VT_TMP/client.out" 2>&1 ||
  vt_fail "shim client: $(cat "$VT_TMP/client.out")"
vt_check_client_result "$VT_TMP/client.out"
grep -q "\"local\": \"$VT_IP:" "$VT_TMP/client.out" || vt_fail "the client did not use the stack's address"

"$VT_BIN/virtuoso-run" -- "$VT_BIN/echo-client" --host "$VT_PEER_IP" --port 9000 --connections 4 \
  --size 256 --requests 500 --verify --quiet >"$VT_TMP/echo-client.out" 2>&1 ||
  vt_fail "echo-client under the shim: $(tail -5 "$VT_TMP/echo-client.out")"

# Nothing listens on this port in the peer: the connect is refused.
if "$VT_BIN/virtuoso-run" -- python3 -c "
import socket, sys
s = socket.socket(); s.settimeout(10)
try:
    s.connect(('$VT_PEER_IP', 9001))
except ConnectionRefusedError:
    sys.exit(0)
sys.exit('expected ECONNREFUSED')
"; then :; else vt_fail "refused connect"; fi

vt_pass "shim client -> kernel server"
