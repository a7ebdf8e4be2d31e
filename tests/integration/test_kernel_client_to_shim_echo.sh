#!/usr/bin/env bash
# A Linux kernel TCP client in a peer namespace against the bundled echo server under the shim:
# 10 MiB of random bytes echoed intact, then 1000 small round trips.
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon

vt_spawn_shim "$VT_TMP/server.out" "$VT_BIN/echo-server" --port 7007
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"

ip netns exec "$VT_NS" python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port 7007 \
  --bytes $((10 * 1024 * 1024)) --roundtrips 1000 --size 64 --timeout 120 >"$VT_TMP/client.out" ||
  vt_fail "kernel client: $(cat "$VT_TMP/client.out")"
vt_check_client_result "$VT_TMP/client.out"

# A closed port is refused by the stack (RST), as Linux does.
if ip netns exec "$VT_NS" python3 -c "
import socket, sys
s = socket.socket(); s.settimeout(10)
try:
    s.connect(('$VT_IP', 7999))
except ConnectionRefusedError:
    sys.exit(0)
sys.exit('connect to a closed port did not fail with ECONNREFUSED')
"; then :; else vt_fail "closed port"; fi

vt_pass "kernel client <-> shim echo server"
