#!/usr/bin/env bash
# Storms of what concerns no connection, during a verified transfer: ARP requests for the stack's
# address from 40000 ever new senders, and 40000 ACKs to a closed port. Every ARP request is
# answered, but the slow path hears of at most 1000 a second (bursts of 100) and its ARP cache
# stays within its bound of 1024 entries; resets for the ACKs go out at most rst_limit a second
# (here 200, bursts of 50), the rest counted. The transfer's bytes arrive intact, and a new
# connection works afterwards.
source "$(dirname "$0")/lib.sh"
vt_init
VT_EXTRA_CONFIG='
[tcp]
rst_limit = 200'
vt_start_daemon

vt_spawn_shim "$VT_TMP/server.out" python3 "$VT_PEERS/echo_server.py" --port 9000
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"
count=40000
start=$SECONDS
ip netns exec "$VT_NS" python3 "$VT_TOOLS/storm.py" --iface "$VT_TAP" --dst-mac "$(vt_status_field mac)" \
  --dst "$VT_IP" --src "$VT_PEER_IP" --closed-port 9999 --count $count >"$VT_TMP/storm.out" 2>&1 &
storm=$!
VT_PIDS+=("$storm")
vt_wait_status "fastpath['arp_replies'] >= 1000" 20  # the storm is on
ip netns exec "$VT_NS" timeout 120 python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port 9000 \
  --bytes $((16 * 1024 * 1024)) --roundtrips 1000 --timeout 100 >"$VT_TMP/client.out" 2>&1 ||
  vt_fail "the transfer during the storms: $(cat "$VT_TMP/client.out")"
vt_check_client_result "$VT_TMP/client.out"
vt_log "the transfer began after 1000 ARP requests of the storm, ended after $(vt_status_field fastpath.arp_replies)"
wait "$storm" || vt_fail "storm: $(cat "$VT_TMP/storm.out")"
elapsed=$((SECONDS - start + 1))
# The stack has handled every frame once the counters add up (the port may have dropped a few).
vt_wait_status "fastpath['arp_replies'] >= $count * 0.95" 20
entries=$(vt_status_field arp_entries)
replies=$(vt_status_field fastpath.arp_replies)
arp_limited=$(vt_status_field fastpath.arp_limited)
rsts=$(vt_status_field slowpath.rsts_sent)
rsts_limited=$(vt_status_field slowpath.rsts_limited)
cache_full=$(vt_status_field slowpath.arp_cache_full)
vt_log "storm of ${count}+${count} frames in ~${elapsed}s: $replies ARP replies, $arp_limited ARP frames not punted," \
  "$entries ARP entries ($cache_full refused), $rsts resets sent, $rsts_limited not"
(( entries <= 1024 )) || vt_fail "$entries ARP cache entries, bound 1024"
(( arp_limited > 0 )) || vt_fail "no ARP frame was held back from the slow path"
(( rsts <= 50 + 200 * elapsed + 20 )) || vt_fail "$rsts resets in ${elapsed}s, limit 200/s (bursts of 50)"
(( rsts_limited > 0 )) || vt_fail "no reset was held back"
(( $(vt_status_field half_open) == 0 )) || vt_fail "the ACKs left half-open connections"
ip netns exec "$VT_NS" timeout 60 python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port 9000 \
  --bytes $((1024 * 1024)) --roundtrips 20 --timeout 50 >"$VT_TMP/client2.out" 2>&1 ||
  vt_fail "a new connection after the storms: $(cat "$VT_TMP/client2.out")"
vt_check_client_result "$VT_TMP/client2.out"
vt_pass "ARP and closed-port storms: bounded cache, punts and resets, every one counted; the transfer intact"
