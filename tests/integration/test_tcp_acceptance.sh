#!/usr/bin/env bash
# Segment acceptance exactly as RFC 9293 3.10.7.4 says (with RFC 5961's challenge ACKs and RFC
# 7323's PAWS), checked from a packet-level peer in the peer namespace: scapy builds and reads
# every segment (tools/tcp_acceptance.py says which). The listener reads only when told, so the
# peer can fill the window and keep it shut; a 16 KiB receive ring keeps the window unscaled and
# small, and a challenge ACK limit of 20 a second makes the limit show in a flood of 300 RSTs.
source "$(dirname "$0")/lib.sh"
vt_init
VT_EXTRA_CONFIG='
[tcp]
challenge_ack_limit = 20

[apps]
rx_buffer = 16384'
vt_start_daemon

mkfifo "$VT_TMP/go"
vt_spawn_shim "$VT_TMP/server.out" python3 "$VT_PEERS/held_reader.py" --port 9000 --go "$VT_TMP/go" --connections 2
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"
before_limited=$(vt_status_field slowpath.challenge_acks_limited)
# /usr/bin/python3: the interpreter Debian's python3-scapy is installed for.
ip netns exec "$VT_NS" timeout 120 /usr/bin/python3 "$VT_TOOLS/tcp_acceptance.py" --iface "$VT_TAP" \
  --src "10.77.$VT_ID.6" --dst "$VT_IP" --dst-mac "$(vt_status_field mac)" --port 9000 \
  --server-log "$VT_TMP/server.out" --go "$VT_TMP/go" --rst-flood 300 --max-challenges 60 \
  >"$VT_TMP/acceptance.out" 2>&1 || vt_fail "segment acceptance: $(cat "$VT_TMP/acceptance.out")"
cat "$VT_TMP/acceptance.out" >&2
limited=$(( $(vt_status_field slowpath.challenge_acks_limited) - before_limited ))
(( limited >= 200 )) || vt_fail "only $limited challenge ACKs held back by the limit for a flood of 300 RSTs"
(( $(vt_status_field fastpath.drop_bad_ack) >= 1 )) || vt_fail "the segment with an ACK of bytes never sent was not counted"
(( $(vt_status_field fastpath.paws_dropped) >= 1 )) || vt_fail "the PAWS drop was not counted"
vt_pass "segments accepted, trimmed and answered as RFC 9293, 5961 and 7323 say, from a scapy peer"
