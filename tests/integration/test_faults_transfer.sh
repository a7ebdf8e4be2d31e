#!/usr/bin/env bash
# 100 MiB each way between Linux kernel TCP (peer namespace) and an app under the shim, with 1% loss,
# 1% reordering, 0.1% duplication and 0.1% corruption in both directions of the stack's port:
# every byte arrives (SHA-256 of both ends compared), within a time bound, and the faults happened.
# VT_CONGESTION (cubic, the default, reno, dctcp or timely) picks the stack's congestion control; CTest runs each.
source "$(dirname "$0")/lib.sh"
vt_init

BYTES=$((100 * 1024 * 1024))
BOUND_S=${VT_FAULTS_BOUND_S:-80}  # per transfer
faults=$'loss = 0.01\nreorder = 0.01\nreorder_delay_us = 1000\nduplicate = 0.001\ncorrupt = 0.001'
VT_EXTRA_CONFIG="[apps]
rx_buffer = 1048576
tx_buffer = 1048576
slots_per_context = 256
[faults]
seed = 4242
[faults.rx]
$faults
[faults.tx]
$faults
[tcp]
congestion_control = \"${VT_CONGESTION:-cubic}\""
vt_start_daemon
[ "$(vt_status_field faults.injector)" = True ] || vt_fail "the fast path runs without the fault injector"

# Runs one transfer: receiver output file, sender output file, label. Fails on a digest mismatch.
check_transfer() {
  python3 - "$1" "$2" "$3" "$BYTES" <<'PY'
import json, sys
def last(path):
    return json.loads(open(path).read().strip().splitlines()[-1])
r, s, label, want = last(sys.argv[1]), last(sys.argv[2]), sys.argv[3], int(sys.argv[4])
if not r.get("ok") or not s.get("ok"):
    sys.exit(f"{label}: receiver {r} sender {s}")
if r["bytes"] != want or s["bytes"] != want:
    sys.exit(f"{label}: {r['bytes']} bytes received, {s['bytes']} sent, {want} meant")
if r["sha256"] != s["sha256"]:
    sys.exit(f"{label}: SHA-256 differs: sent {s['sha256']}, received {r['sha256']}")
print(f"{label}: {want} bytes intact in {s['seconds']} s ({s['mib_per_s']} MiB/s)")
PY
}

# Linux kernel TCP sends, the app under the shim receives (faults on the stack's rx and tx).
vt_spawn_shim "$VT_TMP/recv1.out" python3 "$VT_PEERS/oneway.py" recv --port 7101 --timeout "$BOUND_S"
recv1=$VT_LAST_PID
vt_wait_line "$VT_TMP/recv1.out" listening 20 "$recv1"
start=$SECONDS
ip netns exec "$VT_NS" timeout "$BOUND_S" python3 "$VT_PEERS/oneway.py" send --host "$VT_IP" --port 7101 \
  --bytes "$BYTES" --timeout "$BOUND_S" >"$VT_TMP/send1.out" ||
  vt_fail "Linux -> stack: sender failed after $((SECONDS - start)) s: $(tail -1 "$VT_TMP/send1.out")"
vt_wait_pid "$recv1" 20 || vt_fail "Linux -> stack: the receiver did not finish"
check_transfer "$VT_TMP/recv1.out" "$VT_TMP/send1.out" "Linux -> stack" || vt_fail "Linux -> stack"

# The app under the shim sends, Linux kernel TCP receives.
vt_spawn_peer "$VT_TMP/recv2.out" python3 "$VT_PEERS/oneway.py" recv --port 7102 --timeout "$BOUND_S"
recv2=$VT_LAST_PID
vt_wait_line "$VT_TMP/recv2.out" listening 20 "$recv2"
start=$SECONDS
timeout "$BOUND_S" "$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/oneway.py" send --host "$VT_PEER_IP" \
  --port 7102 --bytes "$BYTES" --timeout "$BOUND_S" >"$VT_TMP/send2.out" ||
  vt_fail "stack -> Linux: sender failed after $((SECONDS - start)) s: $(tail -1 "$VT_TMP/send2.out")"
vt_wait_pid "$recv2" 20 || vt_fail "stack -> Linux: the receiver did not finish"
check_transfer "$VT_TMP/recv2.out" "$VT_TMP/send2.out" "stack -> Linux" || vt_fail "stack -> Linux"

# The faults really happened, in both directions.
for dir in rx tx; do
  for kind in lost reordered duplicated corrupted; do
    n=$(vt_status_field "faults.$dir.$kind")
    [ "$n" -gt 0 ] || vt_fail "no frames $kind on $dir: the injector did nothing"
  done
done
vt_log "faults: $("$VT_BIN/virtuosoctl" status --json | python3 -c 'import json,sys; f=json.load(sys.stdin)["faults"]; print({d: f[d] for d in ("rx","tx")})')"
vt_pass "100 MiB each way intact under loss, reordering, duplication and corruption"
