#!/usr/bin/env bash
# A 30% loss burst for 2 s, set at run time with virtuosoctl, in the middle of a paced transfer each
# way between Linux kernel TCP and an app under the shim: the transfer recovers and completes intact.
source "$(dirname "$0")/lib.sh"
vt_init

BYTES=$((48 * 1024 * 1024))
RATE_MIB=8                        # paced: at least 6 s per transfer, so the burst lands mid-way
BURST_AT=$((12 * 1024 * 1024))    # bytes received before the burst starts
BOUND_S=${VT_FAULTS_BOUND_S:-80}  # per transfer
VT_EXTRA_CONFIG=$'[apps]\nrx_buffer = 1048576\ntx_buffer = 1048576\nslots_per_context = 256\n[faults]\nenabled = true\nseed = 99'
vt_start_daemon
[ "$(vt_status_field faults.injector)" = True ] || vt_fail "the fast path runs without the fault injector"

lost() {
  echo $(($(vt_status_field faults.rx.lost) + $(vt_status_field faults.tx.lost)))
}

# burst RECV_OUT SENDER_PID LABEL: waits for BURST_AT bytes, then 30% loss both ways for 2 s.
burst() {
  vt_wait_line "$1" "progress" "$BOUND_S" "$2"
  local before
  before=$(lost)
  "$VT_BIN/virtuosoctl" faults set loss=0.3 >/dev/null || vt_fail "$3: faults set failed"
  vt_log "$3: 30% loss on (after $BURST_AT bytes)"
  sleep 2  # the burst's length, not a synchronisation: faults set returned once it was applied
  "$VT_BIN/virtuosoctl" faults clear >/dev/null || vt_fail "$3: faults clear failed"
  kill -0 "$2" 2>/dev/null || vt_fail "$3: the transfer ended before the burst did: the burst hit no data"
  local during=$(($(lost) - before))
  vt_log "$3: 30% loss off; $during frames lost during the burst"
  [ "$during" -ge 10 ] || vt_fail "$3: only $during frames lost during the burst: was it applied?"
  [ "$(vt_status_field faults.settings)" = "seed=99" ] || vt_fail "$3: faults clear left $(vt_status_field faults.settings)"
}

check_transfer() {
  python3 - "$1" "$2" "$3" "$BYTES" <<'PY'
import json, sys
def last(path):
    return json.loads(open(path).read().strip().splitlines()[-1])
r, s, label, want = last(sys.argv[1]), last(sys.argv[2]), sys.argv[3], int(sys.argv[4])
if not r.get("ok") or not s.get("ok"):
    sys.exit(f"{label}: receiver {r} sender {s}")
if r["bytes"] != want or s["bytes"] != want or r["sha256"] != s["sha256"]:
    sys.exit(f"{label}: sent {s['bytes']} ({s['sha256']}), received {r['bytes']} ({r['sha256']})")
print(f"{label}: {want} bytes intact in {s['seconds']} s")
PY
}

# Linux kernel TCP -> app under the shim.
vt_spawn_shim "$VT_TMP/recv1.out" python3 "$VT_PEERS/oneway.py" recv --port 7201 --progress "$BURST_AT" \
  --timeout "$BOUND_S"
recv1=$VT_LAST_PID
vt_wait_line "$VT_TMP/recv1.out" listening 20 "$recv1"
vt_spawn_peer "$VT_TMP/send1.out" timeout "$BOUND_S" python3 "$VT_PEERS/oneway.py" send --host "$VT_IP" \
  --port 7201 --bytes "$BYTES" --rate-mib "$RATE_MIB" --timeout "$BOUND_S"
send1=$VT_LAST_PID
start=$SECONDS
burst "$VT_TMP/recv1.out" "$send1" "Linux -> stack"
vt_wait_pid "$send1" "$BOUND_S" || vt_fail "Linux -> stack: no completion within $BOUND_S s"
vt_wait_pid "$recv1" 20 || vt_fail "Linux -> stack: the receiver did not finish"
vt_log "Linux -> stack: done $((SECONDS - start)) s after the start"
check_transfer "$VT_TMP/recv1.out" "$VT_TMP/send1.out" "Linux -> stack" || vt_fail "Linux -> stack"

# App under the shim -> Linux kernel TCP.
vt_spawn_peer "$VT_TMP/recv2.out" python3 "$VT_PEERS/oneway.py" recv --port 7202 --progress "$BURST_AT" \
  --timeout "$BOUND_S"
recv2=$VT_LAST_PID
vt_wait_line "$VT_TMP/recv2.out" listening 20 "$recv2"
vt_spawn_shim "$VT_TMP/send2.out" timeout "$BOUND_S" python3 "$VT_PEERS/oneway.py" send \
  --host "$VT_PEER_IP" --port 7202 --bytes "$BYTES" --rate-mib "$RATE_MIB" --timeout "$BOUND_S"
send2=$VT_LAST_PID
start=$SECONDS
burst "$VT_TMP/recv2.out" "$send2" "stack -> Linux"
vt_wait_pid "$send2" "$BOUND_S" || vt_fail "stack -> Linux: no completion within $BOUND_S s"
vt_wait_pid "$recv2" 20 || vt_fail "stack -> Linux: the receiver did not finish"
vt_log "stack -> Linux: done $((SECONDS - start)) s after the start"
check_transfer "$VT_TMP/recv2.out" "$VT_TMP/send2.out" "stack -> Linux" || vt_fail "stack -> Linux"

vt_pass "transfers recover from a 2 s 30% loss burst set at run time"
