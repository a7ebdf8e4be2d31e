#!/usr/bin/env bash
# Time protection against a flooding tenant. Tenants a and b share one inner address on VNIs 100
# and 200. b's peer floods b's server with out-of-order and duplicate segments of 16 real
# connections (tcp-flood: a raw socket in the underlay namespace speaking VXLAN itself), after
# b's weight was cut at run time; meanwhile a's kernel client does rounds of echo, and every one
# completes with every byte right. The counters show b's work charged to b and parked for want
# of budget. Then b floods alone and gets most of the fast path's cycles, far beyond its weight's
# share: the budgets are work-conserving. The log says when b ran out of budget and when it was
# back within it, a line each, not one per second of the flood.
source "$(dirname "$0")/lib.sh"
vt_init

INNER_NET=10.200.0
SERVER_IP=$INNER_NET.1
PEER_INNER=$INNER_NET.2
FLOOD_INNER=$INNER_NET.9
VT_EXTRA_CONFIG="$(vt_two_tenants_config "$INNER_NET")"
vt_start_daemon

# Tenant a's kernel peer behind a kernel vxlan device of VNI 100 (its UDP socket stays in the
# underlay namespace and drops what the stack sends on VNI 200, the flood's).
vt_kernel_vxlan_peer a 100 "$PEER_INNER"
ns_a=vt${VT_ID}a

for t in a b; do
  VIRTUOSO_RUN_DIR=$VT_TMP/run/tenants/$t vt_spawn_shim "$VT_TMP/echo-$t.out" \
    python3 "$VT_PEERS/echo_server.py" --port 9000
  vt_wait_line "$VT_TMP/echo-$t.out" "listening" 20 "$VT_LAST_PID"
done

# Weights at run time: unknown names and values are refused, b's weight is cut to 5 (of 205).
"$VT_BIN/virtuosoctl" tenants set nosuch weight=5 2>"$VT_TMP/set.err" && vt_fail "a weight for no tenant was taken"
grep -q "no tenant named 'nosuch'" "$VT_TMP/set.err" || vt_fail "unknown tenant: $(cat "$VT_TMP/set.err")"
"$VT_BIN/virtuosoctl" tenants set b weight=0 2>"$VT_TMP/set.err" && vt_fail "weight 0 was taken"
grep -q "weight" "$VT_TMP/set.err" || vt_fail "bad weight: $(cat "$VT_TMP/set.err")"
"$VT_BIN/virtuosoctl" tenants set b weight=5 >"$VT_TMP/set.out" || vt_fail "tenants set: $(cat "$VT_TMP/set.out")"
[ "$(vt_status_field tenants.1.cpu_weight)" = 5 ] || vt_fail "b's weight is not 5 after the change"
[ "$(vt_status_field budgets.enforce)" = True ] || vt_fail "budgets are not enforced with tenants"

mac=$(vt_status_field mac)
flood() {  # seconds output-file first-port
  vt_spawn_peer "$2" "$VT_BIN/tcp-flood" --first-port "$3" --iface "$VT_TAP" --dst-mac "$mac" --underlay-src "$VT_PEER_IP" \
    --underlay-dst "$VT_IP" --vni 200 --inner-src "$FLOOD_INNER" --inner-dst "$SERVER_IP" --port 9000 \
    --connections 16 --seconds "$1"
  vt_wait_line "$2" "flooding" 30 "$VT_LAST_PID"
}
cpu() {  # tenant index, field
  vt_status_field "tenants.$1.cpu.$2"
}

# Under the flood: tenant a's rounds all complete, every byte checked.
flood 10 "$VT_TMP/flood1.out" 20000
flood_pid=$VT_LAST_PID
ip netns exec "$ns_a" timeout 120 python3 "$VT_PEERS/rounds_client.py" "$SERVER_IP" 9000 4 60 \
  >"$VT_TMP/rounds.out" 2>&1 || vt_fail "tenant a's rounds under the flood: $(tail -n 3 "$VT_TMP/rounds.out")"
grep -q "^ok 4 60 " "$VT_TMP/rounds.out" || vt_fail "tenant a's rounds: $(cat "$VT_TMP/rounds.out")"
vt_log "tenant a under the flood: $(cat "$VT_TMP/rounds.out")"
[ "$(cpu 1 deferred_rx)" -gt 0 ] || vt_fail "the flooder's frames were never parked"
[ "$(cpu 1 cycles)" -gt "$(cpu 0 cycles)" ] || vt_fail "the flooder was charged less than tenant a"
vt_wait_pid "$flood_pid" 30 || vt_fail "tcp-flood did not end"
grep -q '"frames"' "$VT_TMP/flood1.out" || vt_fail "tcp-flood: $(tail -n 3 "$VT_TMP/flood1.out")"
vt_log "flood: $(tail -n 1 "$VT_TMP/flood1.out")"
vt_wait_line "$VT_TMP/daemon.err" "budget: tenant=b state=over" 5 "$VT_DAEMON"
vt_wait_line "$VT_TMP/daemon.err" "budget: tenant=b state=within" 5 "$VT_DAEMON"
over_lines=$(grep -c "budget: tenant=b state=over" "$VT_TMP/daemon.err")
[ "$over_lines" -le 4 ] || vt_fail "$over_lines over-budget lines for a 10 s flood: $(grep "budget:" "$VT_TMP/daemon.err")"
vt_log "budget lines: $(grep -o "budget: tenant=.*" "$VT_TMP/daemon.err" | tr '\n' ';')"
"$VT_BIN/virtuosoctl" tenants >"$VT_TMP/tenants.out" || vt_fail "virtuosoctl tenants failed"
grep -q "fast-path CPU time" "$VT_TMP/tenants.out" || vt_fail "no CPU table in: $(cat "$VT_TMP/tenants.out")"
cat "$VT_TMP/tenants.out" >&2

# Alone: b gets most of what the fast path spends, far beyond its weight's 2.4%.
"$VT_BIN/virtuosoctl" status --json >"$VT_TMP/before.json"
flood 3 "$VT_TMP/flood2.out" 21000
vt_wait_pid "$VT_LAST_PID" 30 || vt_fail "tcp-flood did not end"
"$VT_BIN/virtuosoctl" status --json >"$VT_TMP/after.json"
python3 - "$VT_TMP/before.json" "$VT_TMP/after.json" <<'PY' || vt_fail "the flooder alone did not get the core"
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
def accounts(s):
    return [t["cpu"] for t in s["tenants"]] + [s["budgets"]["host"]]
d = [a["cycles"] - b["cycles"] for a, b in zip(accounts(after), accounts(before))]
spare = after["tenants"][1]["cpu"]["spare_cycles"] - before["tenants"][1]["cpu"]["spare_cycles"]
share = d[1] / sum(d)
print(f"alone: flooder {share:.1%} of {sum(d)} charged cycles, {spare} on spare time", file=sys.stderr)
if share < 0.75 or spare <= 0:
    sys.exit(f"flooder's share {share:.1%} (spare {spare}): expected at least 75% and spare time")
PY
vt_pass
