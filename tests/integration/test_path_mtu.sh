#!/usr/bin/env bash
# ICMP from a real Linux router between the stack and a far host: "fragmentation needed" makes a
# running transfer continue in smaller segments, intact (path MTU discovery); an unreachable
# network fails a connect at once with Linux's errno; the far host's ping is answered.
#
#   stack 10.77.N.1 --1500-- [peer ns: router 10.77.N.2 | 10.78.N.1] --1200-- far ns 10.78.N.2
#
# The far host advertises MSS 1460 (advmss), as a host on a 1500-byte LAN behind a narrower
# tunnel would, so only the router's ICMP tells the stack that 1500-byte packets do not pass.
source "$(dirname "$0")/lib.sh"
vt_init
vt_far_names
VT_EXTRA_CONFIG="gateway = \"$VT_PEER_IP\""
vt_start_daemon
vt_far_host 1200
ip -n "$FAR_NS" route replace default via "$ROUTER_FAR_IP" advmss 1460
# Nothing lives behind 10.79.N.0/24: the router answers "host unreachable" for it.
ip -n "$VT_NS" route add unreachable 10.79.${VT_ID}.0/24

vt_spawn_peer "$VT_TMP/server.out" ip netns exec "$FAR_NS" python3 "$VT_PEERS/echo_server.py" --port 9000
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"

# 8 MiB each way: the stack's first full-sized segments are dropped by the router, which says so.
vt_transfer_lowers_path_mtu "$FAR_IP" "transfer across the narrow link"
# A new connection on the same path remembers it (a per-destination path MTU, as Linux keeps).
vt_transfer_remembers_path_mtu "$FAR_IP" "a second transfer on the same path"

# Host unreachable from the router: connect() fails with EHOSTUNREACH, as on Linux, instead of
# retrying the SYN until ETIMEDOUT.
"$VT_BIN/virtuoso-run" -- python3 -c "
import errno, socket, sys
s = socket.socket(); s.settimeout(30)
try:
    s.connect(('10.79.${VT_ID}.9', 9000))
except OSError as e:
    if e.errno == errno.EHOSTUNREACH:
        sys.exit(0)
    sys.exit(f'connect: {e!r}, expected EHOSTUNREACH')
sys.exit('connect to an unreachable host succeeded')
" >"$VT_TMP/unreach.out" 2>&1 || vt_fail "unreachable host: $(cat "$VT_TMP/unreach.out")"

# The far host's ping crosses the router both ways.
ip netns exec "$FAR_NS" ping -c 2 -i 0.2 -W 5 "$VT_IP" >"$VT_TMP/ping.out" ||
  vt_fail "ping through the router: $(cat "$VT_TMP/ping.out")"

vt_pass "path MTU discovery and ICMP errors through a Linux router"
