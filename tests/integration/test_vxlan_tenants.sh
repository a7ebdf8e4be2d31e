#!/usr/bin/env bash
# Tenants behind VXLAN, with the Linux kernel's own vxlan driver as the far end: tenants A and B
# use the same inner subnet on VNIs 100 and 200; each has a kernel peer namespace behind a kernel
# vxlan device of its VNI. Data moves both ways (shim server <- kernel client, shim client ->
# kernel server), sha256-verified; each peer reaches only its own tenant's server and pings its
# address; a peer on an unknown VNI gets nothing; an app outside every tenant, or naming another
# tenant's address, is refused with a clear errno; switch entries change at run time.
source "$(dirname "$0")/lib.sh"
vt_init

INNER_NET=10.200.0
SERVER_IP=$INNER_NET.1   # both tenants' app address (overlapping on purpose)
PEER_INNER=$INNER_NET.2  # both kernel peers' inner address
VT_EXTRA_CONFIG="$(vt_two_tenants_config "$INNER_NET")"
vt_start_daemon

# One namespace per kernel peer (vt_kernel_vxlan_peer).
vt_kernel_vxlan_peer a 100 "$PEER_INNER"
vt_kernel_vxlan_peer b 200 "$PEER_INNER"
vt_kernel_vxlan_peer c 300 "$PEER_INNER"  # a VNI no tenant has

# A tenant's app: the shim attached through the tenant's own socket.
tenant_run() {  # tenant command...
  local t=$1
  shift
  VIRTUOSO_RUN_DIR=$VT_TMP/run/tenants/$t "$VT_BIN/virtuoso-run" -- "$@"
}

# Per tenant: an echo server and a server that answers with the tenant's name, under the shim.
for t in a b; do
  VIRTUOSO_RUN_DIR=$VT_TMP/run/tenants/$t vt_spawn_shim "$VT_TMP/echo-$t.out" \
    python3 "$VT_PEERS/echo_server.py" --port 9000
  vt_wait_line "$VT_TMP/echo-$t.out" "listening" 20 "$VT_LAST_PID"
  VIRTUOSO_RUN_DIR=$VT_TMP/run/tenants/$t vt_spawn_shim "$VT_TMP/hello-$t.out" \
    python3 "$VT_PEERS/hello.py" serve --port 9001 --text "tenant-$t"
  vt_wait_line "$VT_TMP/hello-$t.out" "listening" 20 "$VT_LAST_PID"
done

hello_from() {  # namespace -> what the server at SERVER_IP:9001 said
  ip netns exec "$1" timeout 20 python3 "$VT_PEERS/hello.py" ask --host "$SERVER_IP" --port 9001
}

for t in a b; do
  got=$(hello_from "vt${VT_ID}$t") || vt_fail "peer $t could not reach its tenant's server"
  [ "$got" = "tenant-$t" ] || vt_fail "peer $t reached '$got', not tenant-$t"
  vt_log "peer $t reached $got"

  # Kernel client -> shim server inside the tenant: 8 MiB echoed, sha256 both ways.
  ip netns exec "vt${VT_ID}$t" timeout 120 python3 "$VT_PEERS/stream_client.py" --host "$SERVER_IP" --port 9000 \
    --bytes $((8 * 1024 * 1024)) --roundtrips 100 --timeout 100 >"$VT_TMP/in-$t.out" 2>&1 ||
    vt_fail "kernel client of tenant $t: $(tail -n 3 "$VT_TMP/in-$t.out")"
  vt_check_client_result "$VT_TMP/in-$t.out"

  # Shim client inside the tenant -> kernel server behind the tunnel (inner ARP, active open).
  vt_spawn_peer "$VT_TMP/kserver-$t.out" ip netns exec "vt${VT_ID}$t" python3 "$VT_PEERS/echo_server.py" --port 9100
  vt_wait_line "$VT_TMP/kserver-$t.out" "listening" 20 "$VT_LAST_PID"
  tenant_run "$t" python3 "$VT_PEERS/stream_client.py" --host "$PEER_INNER" --port 9100 \
    --bytes $((8 * 1024 * 1024)) --roundtrips 100 --timeout 100 >"$VT_TMP/out-$t.out" 2>&1 ||
    vt_fail "shim client of tenant $t: $(tail -n 3 "$VT_TMP/out-$t.out")"
  vt_check_client_result "$VT_TMP/out-$t.out"
  grep -q "\"local\": \"$SERVER_IP:" "$VT_TMP/out-$t.out" || vt_fail "tenant $t's client did not send from $SERVER_IP"
done

# Each tenant's own counters saw its 8 MiB each way in and out (16 MiB received: the kernel client's
# bytes and the kernel server's echo), and the host account none of it.
"$VT_BIN/virtuosoctl" status --json | python3 -c "
import json, sys
s = json.load(sys.stdin)
least = 16 * 1024 * 1024
for t in s['tenants']:
    tr = t['traffic']
    print(t['name'], tr)
    if tr['rx_bytes'] < least or tr['tx_bytes'] < least:
        sys.exit(f\"tenant {t['name']}: rx_bytes {tr['rx_bytes']}, tx_bytes {tr['tx_bytes']}, expected at least {least} each\")
if s['host_traffic']['rx_bytes'] or s['host_traffic']['tx_bytes']:
    sys.exit(f\"host traffic {s['host_traffic']}: the tenants' bytes counted as the host's\")
" || vt_fail "per-tenant traffic counters"

# Pings of the tenants' (shared) address are answered inside each tenant's own network; the
# unknown VNI's are not.
for t in a b; do
  ip netns exec "vt${VT_ID}$t" ping -c 2 -i 0.2 -W 5 "$SERVER_IP" >"$VT_TMP/ping-$t.out" ||
    vt_fail "ping from peer $t: $(cat "$VT_TMP/ping-$t.out")"
done
ip netns exec "vt${VT_ID}c" ping -c 1 -W 1 "$SERVER_IP" >/dev/null 2>&1 && vt_fail "a ping on VNI 300 was answered"
[ "$(vt_status_field slowpath.inner_echo_replies)" -ge 4 ] || vt_fail "inner_echo_replies below 4"

# The unknown VNI: no connection, every frame dropped and counted by the fast path.
before=$(vt_status_field fastpath.drop_vxlan_vni)
if ip netns exec "vt${VT_ID}c" timeout 10 python3 -c "
import socket
socket.create_connection(('$SERVER_IP', 9001), timeout=3)" 2>/dev/null; then
  vt_fail "a peer on VNI 300 reached a tenant"
fi
after=$(vt_status_field fastpath.drop_vxlan_vni)
[ "$after" -gt "$before" ] || vt_fail "frames on VNI 300 were not counted as drop_vxlan_vni ($before -> $after)"

# Identity: an app on the shared app.sock matches no tenant, so socket() itself says EACCES; a
# tenant's app cannot take the host's address.
"$VT_BIN/virtuoso-run" -- python3 -c "
import errno, socket, sys
try:
    socket.socket()
except OSError as e:
    sys.exit(0 if e.errno == errno.EACCES else 'socket(): %s, expected EACCES' % e)
sys.exit('an app of no tenant got a socket')" 2>"$VT_TMP/refused.err" || vt_fail "unmatched app: $(cat "$VT_TMP/refused.err")"
[ "$(vt_status_field slowpath.apps_refused)" -ge 1 ] || vt_fail "the refused app was not counted"
tenant_run a python3 -c "
import errno, socket, sys
s = socket.socket()
try:
    s.bind(('$VT_IP', 0))
except OSError as e:
    sys.exit(0 if e.errno == errno.EADDRNOTAVAIL else 'bind: %s, expected EADDRNOTAVAIL' % e)
sys.exit('tenant a bound the host address')" || vt_fail "tenant a bound an address not its own"
[ "$(vt_status_field slowpath.tenant_refusals)" -ge 1 ] || vt_fail "the refused bind was not counted"

# The switch at run time. Each tenant's app holds a connection to its kernel peer's echo server;
# removing tenant a's entry ends a's connection with EHOSTUNREACH, leaves b's working, and refuses
# new traffic both ways until the entry is back.
# hold.py: connect, echo once, wait until the go file can be read, then echo again or report the error.
cat >"$VT_TMP/hold.py" <<'PY'
import errno, socket, sys
s = socket.create_connection((sys.argv[1], 9100), timeout=30)
s.sendall(b"one")
assert s.recv(10) == b"one"
print("holding", flush=True)
open(sys.argv[2]).read()
try:
    s.sendall(b"two")
    got = s.recv(10)
    print("echo", got.decode() if got else "EOF", flush=True)
except OSError as e:
    print("error", errno.errorcode.get(e.errno, e.errno), flush=True)
PY
for t in a b; do
  mkfifo "$VT_TMP/go-$t"
  VIRTUOSO_RUN_DIR=$VT_TMP/run/tenants/$t vt_spawn_shim "$VT_TMP/hold-$t.out" \
    python3 -u "$VT_TMP/hold.py" "$PEER_INNER" "$VT_TMP/go-$t"
  vt_wait_line "$VT_TMP/hold-$t.out" "holding" 20 "$VT_LAST_PID"
done
"$VT_BIN/virtuosoctl" switch remove a "$INNER_NET.0/24" >/dev/null || vt_fail "switch remove"
"$VT_BIN/virtuosoctl" switch remove a "$INNER_NET.0/24" 2>"$VT_TMP/sw.err" && vt_fail "a second remove succeeded"
grep -q "no switch entry" "$VT_TMP/sw.err" || vt_fail "second remove: $(cat "$VT_TMP/sw.err")"
echo go >"$VT_TMP/go-a"
echo go >"$VT_TMP/go-b"
vt_wait_line "$VT_TMP/hold-a.out" "error EHOSTUNREACH" 20
vt_wait_line "$VT_TMP/hold-b.out" "echo two" 20
[ "$(vt_status_field slowpath.switch_flows_ended)" = 1 ] || vt_fail "switch_flows_ended is not 1"
tenant_run a python3 -c "
import errno, socket, sys
try:
    socket.create_connection(('$PEER_INNER', 9100), timeout=10)
except OSError as e:
    sys.exit(0 if e.errno == errno.ENETUNREACH else 'connect: %s, expected ENETUNREACH' % e)
sys.exit('tenant a reached its peer without a switch entry')" || vt_fail "connect without an entry"
before=$(vt_status_field slowpath.switch_no_entry)
if ip netns exec "vt${VT_ID}a" timeout 10 python3 -c "
import socket
socket.create_connection(('$SERVER_IP', 9001), timeout=3)" 2>/dev/null; then
  vt_fail "peer a reached tenant a without a switch entry"
fi
[ "$(vt_status_field slowpath.switch_no_entry)" -gt "$before" ] || vt_fail "peer a's SYNs were not counted"
"$VT_BIN/virtuosoctl" switch add a "$INNER_NET.0/24" "$VT_PEER_IP" >/dev/null || vt_fail "switch add"
"$VT_BIN/virtuosoctl" tenants --json | grep -q "\"vtep\":\"$VT_PEER_IP\"" || vt_fail "the entry is not listed"
got=$(hello_from "vt${VT_ID}a") || vt_fail "peer a could not reach tenant a after the entry came back"
[ "$got" = "tenant-a" ] || vt_fail "peer a reached '$got' after the entry came back"

vt_log "fastpath vxlan: rx $(vt_status_field fastpath.vxlan_rx) tx $(vt_status_field fastpath.vxlan_tx)"
[ "$(vt_status_field fastpath.vxlan_tx)" -gt 1000 ] || vt_fail "segments did not leave through the fast path's VXLAN stage"
vt_pass "tenants over kernel VXLAN peers"
