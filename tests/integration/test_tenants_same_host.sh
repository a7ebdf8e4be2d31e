#!/usr/bin/env bash
# Tenants' apps on one host: tenant a may reach tenant c (reach = ["c"]), not tenant d. a's client
# moves 8 MiB through c's echo server, sha256-verified, and a's own server is reached from a's
# client by its own address, both through circuits (ring to ring); a connect to d's address is
# refused with ECONNREFUSED; nothing leaves through the port. Tenant limits: e may listen on one port (ENOBUFS for a second) and its apps
# have no shared memory to spare (an app of it gets ENOMEM from socket()).
source "$(dirname "$0")/lib.sh"
vt_init
VT_EXTRA_CONFIG="$(vt_tenant_config a 100 10.201.0.1/32 'reach = ["c"]')$(vt_tenant_config c 300 10.203.0.1/32)$(vt_tenant_config d 400 10.204.0.1/32)$(vt_tenant_config e 500 10.205.0.1/32 "" $'[tenant.limits]\nmax_listen_ports = 1')$(vt_tenant_config f 600 10.206.0.1/32 "" $'[tenant.limits]\nmax_shm_mb = 1')"
vt_start_daemon

for t in a c d; do
  VIRTUOSO_RUN_DIR=$VT_TMP/run/tenants/$t vt_spawn_shim "$VT_TMP/echo-$t.out" python3 "$VT_PEERS/echo_server.py" --port 9000
  vt_wait_line "$VT_TMP/echo-$t.out" "listening" 20 "$VT_LAST_PID"
done
tx_before=$(vt_status_field fastpath.tx_frames)

a_client() {  # host -> the stream client's JSON line in $VT_TMP/a-$1.out
  VIRTUOSO_RUN_DIR=$VT_TMP/run/tenants/a "$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/stream_client.py" \
    --host "$1" --port 9000 --bytes $((8 * 1024 * 1024)) --roundtrips 100 --timeout 100 >"$VT_TMP/a-$1.out" 2>&1 ||
    vt_fail "tenant a's client to $1: $(tail -n 3 "$VT_TMP/a-$1.out")"
  vt_check_client_result "$VT_TMP/a-$1.out"
}
a_client 10.203.0.1  # tenant c, which a may reach
a_client 10.201.0.1  # a's own address
# Those connections are circuits, ring to ring inside the daemon: tenant a sent 24 MiB (8 to c, 8
# to itself and 8 as its own server's echo), c 8 MiB. A connection whose first bytes went as frames
# before its other end was installed joins later, so less than all of it is required.
"$VT_BIN/virtuosoctl" status --json | python3 -c "
import json, sys
s = json.load(sys.stdin)
got = {t['name']: t['traffic']['circuit_bytes'] for t in s['tenants']}
print('circuit bytes per tenant:', got)
if got['a'] < 8 * 1024 * 1024 or got['c'] < 2 * 1024 * 1024:
    sys.exit('same-host tenant connections did not go through circuits')
" || vt_fail "tenant circuits"

VIRTUOSO_RUN_DIR=$VT_TMP/run/tenants/a "$VT_BIN/virtuoso-run" -- python3 -c "
import errno, socket, sys
s = socket.socket(); s.settimeout(10)
try:
    s.connect(('10.204.0.1', 9000))
except OSError as e:
    sys.exit(0 if e.errno == errno.ECONNREFUSED else 'connect: %s, expected ECONNREFUSED' % e)
sys.exit('tenant a reached tenant d')" || vt_fail "tenant a's connect to tenant d"

# Limits: one listening port for e, and less shared memory for f than one app region takes.
VIRTUOSO_RUN_DIR=$VT_TMP/run/tenants/e "$VT_BIN/virtuoso-run" -- python3 -c "
import errno, socket, sys
a = socket.socket(); a.bind(('10.205.0.1', 9000)); a.listen(8)
b = socket.socket()
try:
    b.bind(('10.205.0.1', 9001)); b.listen(8)
except OSError as e:
    sys.exit(0 if e.errno == errno.ENOBUFS else 'listen: %s, expected ENOBUFS' % e)
sys.exit('tenant e listened on a second port')" || vt_fail "tenant e's listen limit"
VIRTUOSO_RUN_DIR=$VT_TMP/run/tenants/f "$VT_BIN/virtuoso-run" -- python3 -c "
import errno, socket, sys
try:
    socket.socket()
except OSError as e:
    sys.exit(0 if e.errno == errno.ENOMEM else 'socket(): %s, expected ENOMEM' % e)
sys.exit('an app of tenant f got a socket beyond its shared memory')" 2>"$VT_TMP/f.err" ||
  vt_fail "tenant f's shared-memory limit: $(cat "$VT_TMP/f.err")"
[ "$(vt_status_field slowpath.tenant_limit_refusals)" -ge 2 ] || vt_fail "limit refusals not counted"

tx_after=$(vt_status_field fastpath.tx_frames)
[ "$tx_after" = "$tx_before" ] || vt_fail "same-host tenant traffic left through the port ($tx_before -> $tx_after frames)"
# Every connection ends: nothing is left in any tenant once the clients are done.
vt_wait_status 'all(t["flows"] == 0 for t in tenants) and half_open == 0' 30
vt_pass "tenants on one host"
