#!/usr/bin/env bash
# A SYN flood against a listener with a backlog of 8 (raw SYNs from an address nobody answers for,
# random ports): its half-open table stays within the backlog, and a Linux client that connects
# during the flood gets a SYN cookie, completes the handshake with it and echoes 2 MiB intact.
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon

vt_spawn_shim "$VT_TMP/server.out" python3 "$VT_PEERS/echo_server.py" --port 9000 --backlog 8
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"
FLOOD_SRC=10.77.$VT_ID.3  # nobody's: the SYN-ACKs go unanswered and the half-open entries stay
flood() {  # COUNT
  ip netns exec "$VT_NS" python3 "$VT_TOOLS/syn_flood.py" --iface "$VT_TAP" --dst-mac "$(vt_status_field mac)" \
    --src "$FLOOD_SRC" --dst "$VT_IP" --port 9000 --count "$1" >>"$VT_TMP/flood.out" 2>&1 ||
    vt_fail "syn flood: $(cat "$VT_TMP/flood.out")"
}

flood 2000
vt_wait_status "slowpath['syn_received'] >= 2000" 20
[ "$(vt_status_field half_open)" -le 8 ] || vt_fail "half-open connections: $(vt_status_field half_open), backlog 8"
sent=$(vt_status_field slowpath.syn_cookies_sent)
(( sent >= 1900 )) || vt_fail "only $sent SYN cookies for 2000 SYNs beyond a backlog of 8"

ip netns exec "$VT_NS" python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port 9000 \
  --bytes $((2 * 1024 * 1024)) --roundtrips 50 --timeout 60 >"$VT_TMP/client.out" 2>&1 ||
  vt_fail "client during the flood: $(cat "$VT_TMP/client.out")"
vt_check_client_result "$VT_TMP/client.out"
accepted=$(vt_status_field slowpath.syn_cookies_accepted)
[ "$accepted" -ge 1 ] || vt_fail "the client's connection was not made with a cookie"
[ "$(vt_status_field half_open)" -le 8 ] || vt_fail "half-open connections grew past the backlog"
vt_log "flood: $(vt_status_field slowpath.syn_received) SYNs, $sent cookies sent, $accepted accepted, half-open $(vt_status_field half_open)"
vt_pass "a SYN flood: the half-open table stays within the backlog, a client connects through a SYN cookie"
