#!/usr/bin/env bash
# Path MTU discovery for a tenant's connection inside VXLAN: a Linux router between the stack and
# the far VTEP (the kernel's own vxlan driver) has a 1200-byte link, so the stack's full-sized
# VXLAN datagrams (1500 bytes, DF set) do not pass; the router's "fragmentation needed", quoting
# the outer UDP header, makes the running transfer continue with smaller inner segments, intact.
#
#   stack 10.77.N.1 --1500-- [peer ns: router 10.77.N.2 | 10.78.N.1] --1200-- far ns VTEP 10.78.N.2
#   tenant a: 10.200.0.1 (VNI 100)                                         vxlan100: 10.200.0.2
#
# The far host advertises an inner MSS of 1410 (advmss), as a VTEP whose own link is 1500 bytes
# would, so only the router's ICMP tells the stack that its datagrams are too big.
source "$(dirname "$0")/lib.sh"
vt_init
vt_far_names
INNER_NET=10.200.0
REMOTE="[[tenant.remote]]
prefix = \"$INNER_NET.0/24\"
vtep = \"$FAR_IP\""
VT_EXTRA_CONFIG="gateway = \"$VT_PEER_IP\"
$(vt_tenant_config a 100 "$INNER_NET.1/32" "" "$REMOTE")"
vt_start_daemon
vt_far_host 1200

# The far VTEP: the kernel's vxlan device for VNI 100 (MTU 1150 from its 1200-byte link), its
# inner route advertising MSS 1410.
ip -n "$FAR_NS" link add vx100 type vxlan id 100 remote "$VT_IP" local "$FAR_IP" dstport 4789 dev "$FAR_DEV"
ip -n "$FAR_NS" addr add "$INNER_NET.2/24" dev vx100
ip -n "$FAR_NS" link set vx100 up
ip -n "$FAR_NS" route replace "$INNER_NET.0/24" dev vx100 advmss 1410

vt_spawn_peer "$VT_TMP/server.out" ip netns exec "$FAR_NS" python3 "$VT_PEERS/echo_server.py" --port 9000
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"

# 8 MiB each way from an app of tenant a: its first full-sized datagrams are dropped by the
# router, which says so.
vt_transfer_lowers_path_mtu "$INNER_NET.2" "transfer through the tunnel across the narrow link" \
  VIRTUOSO_RUN_DIR="$VT_TMP/run/tenants/a"
# A new connection on the same path remembers it (a per-destination path MTU, as Linux keeps).
vt_transfer_remembers_path_mtu "$INNER_NET.2" "a second transfer on the same path" \
  VIRTUOSO_RUN_DIR="$VT_TMP/run/tenants/a"
[[ "$(vt_status_field fastpath.vxlan_tx)" -gt 0 ]] || vt_fail "nothing was sent inside VXLAN"
vt_pass "path MTU discovery inside VXLAN through a Linux router"
