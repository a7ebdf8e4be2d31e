#!/usr/bin/env bash
# Tenants' apps on one host: tenant a may reach tenant c (reach = ["c"]), not tenant d. a's client
# moves 8 MiB through c's echo server, sha256-verified, and a's own server is reached from a's
# client by its own address; a connect to d's address is refused with ECONNREFUSED; nothing leaves
# through the port.
source "$(dirname "$0")/lib.sh"
vt_init
VT_EXTRA_CONFIG="$(vt_tenant_config a 100 10.201.0.1/32 'reach = ["c"]')$(vt_tenant_config c 300 10.203.0.1/32)$(vt_tenant_config d 400 10.204.0.1/32)"
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

VIRTUOSO_RUN_DIR=$VT_TMP/run/tenants/a "$VT_BIN/virtuoso-run" -- python3 -c "
import errno, socket, sys
s = socket.socket(); s.settimeout(10)
try:
    s.connect(('10.204.0.1', 9000))
except OSError as e:
    sys.exit(0 if e.errno == errno.ECONNREFUSED else 'connect: %s, expected ECONNREFUSED' % e)
sys.exit('tenant a reached tenant d')" || vt_fail "tenant a's connect to tenant d"

tx_after=$(vt_status_field fastpath.tx_frames)
[ "$tx_after" = "$tx_before" ] || vt_fail "same-host tenant traffic left through the port ($tx_before -> $tx_after frames)"
# Every connection ends: nothing is left in any tenant once the clients are done.
vt_wait_status 'all(t["flows"] == 0 for t in tenants) and half_open == 0' 30
vt_pass "tenants on one host"
