#!/usr/bin/env bash
# Two hosts, each a daemon with tenants a and b (the same inner addresses in both tenants), joined
# by a veth pair as their underlay: host A's daemon in this namespace, host B's in its own. Within
# each tenant, apps on the two hosts exchange sha256-verified data both ways and each reaches only
# its own tenant's servers; a tenant that exists only on host A reaches nothing on host B (its VNI
# is dropped there and counted).
source "$(dirname "$0")/lib.sh"
vt_init
[ "$(vt_port_kind)" = af_xdp ] || { echo "needs DPDK's net_af_xdp (two daemons on one veth pair)"; exit 77; }

NS_B=vt${VT_ID}hostb
IF_A=vt${VT_ID}ha
IF_B=vt${VT_ID}hb
IP_A=10.77.${VT_ID}.1
IP_B=10.77.${VT_ID}.2
INNER_A=10.210.0.1  # both tenants' address on host A
INNER_B=10.210.0.2  # and on host B
VT_EXTRA_NS+=("$NS_B")

ip netns add "$NS_B"
ip link add "$IF_A" type veth peer name "$IF_B" netns "$NS_B"
ethtool -K "$IF_A" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$NS_B" ethtool -K "$IF_B" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
ip link set "$IF_A" up
ip -n "$NS_B" link set "$IF_B" up
ip -n "$NS_B" link set lo up

host_config() {  # run_dir iface underlay_ip inner_ip other_underlay_ip [extra tenants]
  local remote="[[tenant.remote]]
prefix = \"10.210.0.0/24\"
vtep = \"$5\""
  cat <<CONF
run_dir = "$1"
log_level = "info"

[port]
devargs = "net_af_xdp0,iface=$2,start_queue=0,queue_count=1"

[fastpath]
lcore = 1
idle_backoff_us = 100
delayed_ack_us = 200
hugepages = "auto"

[network]
ip = "$3"
prefix_len = 24
$(vt_tenant_config a 100 "$4/32" "" "$remote")
$(vt_tenant_config b 200 "$4/32" "" "$remote")
${6:-}
CONF
}
host_config "$VT_TMP/run" "$IF_A" "$IP_A" "$INNER_A" "$IP_B" \
  "$(vt_tenant_config c 300 "$INNER_A/32" "" "[[tenant.remote]]
prefix = \"10.210.0.0/24\"
vtep = \"$IP_B\"")" >"$VT_TMP/host-a.toml"
host_config "$VT_TMP/run-b" "$IF_B" "$IP_B" "$INNER_B" "$IP_A" >"$VT_TMP/host-b.toml"

"$VT_BIN/virtuosod" --config "$VT_TMP/host-a.toml" >"$VT_TMP/daemon.out" 2>"$VT_TMP/daemon.err" &
VT_DAEMON=$!
ip netns exec "$NS_B" "$VT_BIN/virtuosod" --config "$VT_TMP/host-b.toml" >"$VT_TMP/daemon-b.out" 2>"$VT_TMP/daemon-b.err" &
VT_PIDS+=($!)
DAEMON_B=$!
vt_wait_line "$VT_TMP/daemon.out" "virtuosod: ready" 60 "$VT_DAEMON"
vt_wait_line "$VT_TMP/daemon-b.out" "virtuosod: ready" 60 "$DAEMON_B"
vt_start_watchdog
status_b() { "$VT_BIN/virtuosoctl" --run-dir "$VT_TMP/run-b" status --json; }

on_host() {  # a|b tenant command...: an app of the tenant on that host (the shim through its socket)
  local run=$VT_TMP/run
  [ "$1" = b ] && run=$VT_TMP/run-b
  VIRTUOSO_RUN_DIR=$run/tenants/$2 "${@:3}"
}

# Servers on both hosts, per tenant: echo on 9000 and one that answers with host and tenant on 9001.
for host in a b; do
  for t in a b; do
    on_host "$host" "$t" vt_spawn_shim "$VT_TMP/echo-$host$t.out" python3 "$VT_PEERS/echo_server.py" --port 9000
    vt_wait_line "$VT_TMP/echo-$host$t.out" "listening" 20 "$VT_LAST_PID"
    on_host "$host" "$t" vt_spawn_shim "$VT_TMP/hello-$host$t.out" \
      python3 "$VT_PEERS/hello.py" serve --port 9001 --text "host-$host tenant-$t"
    vt_wait_line "$VT_TMP/hello-$host$t.out" "listening" 20 "$VT_LAST_PID"
  done
done

hello() {  # from-host tenant to-address -> what the server said
  on_host "$1" "$2" "$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/hello.py" ask --host "$3" --port 9001
}

for t in a b; do
  got=$(hello a "$t" "$INNER_B") || vt_fail "tenant $t on host A could not reach host B"
  [ "$got" = "host-b tenant-$t" ] || vt_fail "tenant $t on host A reached '$got'"
  got=$(hello b "$t" "$INNER_A") || vt_fail "tenant $t on host B could not reach host A"
  [ "$got" = "host-a tenant-$t" ] || vt_fail "tenant $t on host B reached '$got'"
  vt_log "tenant $t: both hosts reach only their own tenant's servers"
  for from in a b; do
    to=$INNER_B
    [ "$from" = b ] && to=$INNER_A
    on_host "$from" "$t" "$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/stream_client.py" --host "$to" --port 9000 \
      --bytes $((8 * 1024 * 1024)) --roundtrips 100 --timeout 100 >"$VT_TMP/stream-$from$t.out" 2>&1 ||
      vt_fail "tenant $t, host $from -> $to: $(tail -n 3 "$VT_TMP/stream-$from$t.out")"
    vt_check_client_result "$VT_TMP/stream-$from$t.out"
  done
done

# Tenant c exists on host A only: host B drops its VNI and counts it; the connect fails.
before=$(status_b | python3 -c 'import json,sys; print(json.load(sys.stdin)["fastpath"]["drop_vxlan_vni"])')
if on_host a c "$VT_BIN/virtuoso-run" -- python3 -c "
import socket
socket.create_connection(('$INNER_B', 9001), timeout=3)" 2>/dev/null; then
  vt_fail "tenant c reached a server on host B"
fi
after=$(status_b | python3 -c 'import json,sys; print(json.load(sys.stdin)["fastpath"]["drop_vxlan_vni"])')
[ "$after" -gt "$before" ] || vt_fail "host B did not count tenant c's frames as drop_vxlan_vni ($before -> $after)"

# The traffic went through each host's VXLAN stages, counted per tenant on both.
for who in a b; do
  if [ "$who" = a ]; then "$VT_BIN/virtuosoctl" status --json; else status_b; fi | python3 -c "
import json, sys
s = json.load(sys.stdin)
least = 16 * 1024 * 1024
for t in s['tenants']:
    if t['name'] == 'c':
        continue
    tr = t['traffic']
    if tr['rx_bytes'] < least or tr['tx_bytes'] < least:
        sys.exit(f\"host $who tenant {t['name']}: {tr}\")
print('host $who: vxlan rx', s['fastpath']['vxlan_rx'], 'tx', s['fastpath']['vxlan_tx'])
" || vt_fail "per-tenant counters on host $who"
done
vt_pass "two hosts, two tenants each, over VXLAN"
