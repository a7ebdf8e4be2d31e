#!/usr/bin/env bash
# Connection churn charged to the tenant that causes it. Tenants a and b share one inner address
# on VNIs 100 and 200, each with a kernel peer behind a kernel vxlan device. b's peer opens and
# closes connections to b's server as fast as it can (four processes); meanwhile a's peer's
# loop of connect() + request + close() completes every round with the right bytes, and the slow
# path's counters show the churn's frames, app requests and time charged to b, not to a.
# (Charged only: the slow path does not yet hold back a tenant's work for want of budget.)
source "$(dirname "$0")/lib.sh"
vt_init

INNER_NET=10.200.0
SERVER_IP=$INNER_NET.1
PEER_INNER=$INNER_NET.2
VT_EXTRA_CONFIG="$(vt_two_tenants_config "$INNER_NET")"
vt_start_daemon
vt_kernel_vxlan_peer a 100 "$PEER_INNER"
vt_kernel_vxlan_peer b 200 "$PEER_INNER"

for t in a b; do
  VIRTUOSO_RUN_DIR=$VT_TMP/run/tenants/$t vt_spawn_shim "$VT_TMP/echo-$t.out" \
    python3 "$VT_PEERS/echo_server.py" --port 9000
  vt_wait_line "$VT_TMP/echo-$t.out" "listening" 20 "$VT_LAST_PID"
done

stop=$VT_TMP/stop-churn
churners=()
for i in 1 2 3 4; do
  ip netns exec "vt${VT_ID}b" python3 "$VT_PEERS/churn.py" "$SERVER_IP" 9000 "$stop" >"$VT_TMP/churn-$i.out" 2>&1 &
  churners+=($!)
  VT_PIDS+=($!)
done
for i in 1 2 3 4; do vt_wait_line "$VT_TMP/churn-$i.out" "churned [1-9]" 30 "${churners[$((i - 1))]}"; done

ip netns exec "vt${VT_ID}a" timeout 120 python3 "$VT_PEERS/connect_rounds.py" "$SERVER_IP" 9000 200 \
  >"$VT_TMP/rounds.out" 2>&1 || vt_fail "tenant a's connect rounds under churn: $(tail -n 3 "$VT_TMP/rounds.out")"
grep -qx "ok 200" "$VT_TMP/rounds.out" || vt_fail "tenant a's rounds: $(cat "$VT_TMP/rounds.out")"
# Churn on until b has made five times a's connections, so that the charges cannot be close.
churn_total() {
  local i total=0
  for i in 1 2 3 4; do total=$((total + $(grep -o '[0-9]*' "$VT_TMP/churn-$i.out" | tail -n 1))); done
  echo $total
}
deadline=$((SECONDS + 60))
until [ "$(churn_total)" -ge 1000 ]; do
  [ $SECONDS -ge $deadline ] && vt_fail "the churners made only $(churn_total) connections in 60 s"
  sleep 0.1
done
touch "$stop"
for pid in "${churners[@]}"; do vt_wait_pid "$pid" 30 || vt_fail "a churner did not stop"; done
churned=0
for i in 1 2 3 4; do churned=$((churned + $(tail -n 1 "$VT_TMP/churn-$i.out" | awk '{print $2}'))); done
vt_log "tenant a: 200 connect rounds done while b churned $churned connections"

"$VT_BIN/virtuosoctl" status --json | python3 -c "
import json, sys
s = json.load(sys.stdin)
a, b = (t['slowpath'] for t in s['tenants'])
print('slow path work: a', a, 'b', b, 'host', s['host_slowpath'], file=sys.stderr)
if b['frames'] < 2 * a['frames'] or b['ns'] < 2 * a['ns']:
    sys.exit('the churn was not charged to b: a %s, b %s' % (a, b))
if b['ticks'] == 0:
    sys.exit('no timer tick was charged to b while its connections churned: %s' % b)
if a['requests'] < 200 or a['frames'] < 400:
    sys.exit('tenant a\\'s own connections were not charged to it: %s' % a)
" || vt_fail "slow-path work per tenant"
vt_pass
