#!/usr/bin/env bash
# A Linux kernel TCP client in a peer namespace against the bundled echo server under the shim:
# 10 MiB of random bytes echoed intact, then 1000 small round trips; Linux's ping is answered.
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon

vt_spawn_shim "$VT_TMP/server.out" "$VT_BIN/echo-server" --port 7007
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"

"$VT_BIN/virtuosoctl" status --json >"$VT_TMP/status-before.json"
ip netns exec "$VT_NS" python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port 7007 \
  --bytes $((10 * 1024 * 1024)) --roundtrips 1000 --size 64 --timeout 120 >"$VT_TMP/client.out" ||
  vt_fail "kernel client: $(cat "$VT_TMP/client.out")"
vt_check_client_result "$VT_TMP/client.out"
"$VT_BIN/virtuosoctl" status --json >"$VT_TMP/status-after.json"

# The fast path's cycle accounting saw the transfer: 10 MiB each way takes at least 10 MiB / 1460
# (the largest MSS on this 1500-byte link) segments in and data segments out, and its receive
# phase took cycles.
python3 - "$VT_TMP/status-before.json" "$VT_TMP/status-after.json" $((10 * 1024 * 1024 / 1460)) <<'PY' ||
import json, sys
a, b = (json.load(open(f))["fastpath"] for f in sys.argv[1:3])
least = int(sys.argv[3])
rx = b["rx_segments"] - a["rx_segments"]
tx = b["tx_data_segments"] - a["tx_data_segments"]
cycles = b["cycles"]["rx"] - a["cycles"]["rx"]
print(f"fast path: {rx} segments in, {tx} data segments out, {cycles} rx cycles, "
      f"{b['cycles_per_rx_segment']} cycles per rx segment, tsc_hz {b['tsc_hz']}")
if rx < least or tx < least or cycles <= 0 or b["tsc_hz"] <= 0:
    sys.exit(f"expected at least {least} segments each way and rx cycles")
# The server's shim counted its calls: each of the 1000 round trips is at least one recv and one
# send, and every call took cycles.
a, b = (json.load(open(f))["shim"] for f in sys.argv[1:3])
sends, recvs = b["sends"] - a["sends"], b["recvs"] - a["recvs"]
print(f"shim: {sends} sends at {b['cycles_per_send']} cycles, {recvs} recvs at {b['cycles_per_recv']} cycles")
if sends < 1000 or recvs < 1000 or b["send_cycles"] <= a["send_cycles"] or b["recv_cycles"] <= a["recv_cycles"]:
    sys.exit("expected at least 1000 counted sends and recvs, with cycles")
PY
  vt_fail "fast-path and shim cycle counters"

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

# Linux's ping of the stack's address is answered by the fast path, small and full-sized.
ip netns exec "$VT_NS" ping -c 3 -i 0.2 -W 5 "$VT_IP" >"$VT_TMP/ping.out" ||
  vt_fail "ping: $(cat "$VT_TMP/ping.out")"
ip netns exec "$VT_NS" ping -c 2 -i 0.2 -W 5 -s 1472 -M do "$VT_IP" >"$VT_TMP/ping-big.out" ||
  vt_fail "ping -s 1472: $(cat "$VT_TMP/ping-big.out")"
replies=$(vt_status_field fastpath.icmp_echo_replies)
[[ "$replies" -ge 5 ]] || vt_fail "fastpath.icmp_echo_replies is $replies after 5 answered pings"

vt_pass "kernel client <-> shim echo server"
