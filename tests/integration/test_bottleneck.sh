#!/usr/bin/env bash
# Four long flows from apps under the shim to a Linux kernel receiver through the port's emulated
# bottleneck (a rate limit in front of a FIFO that marks ECN-capable frames CE above a threshold):
# every flow arrives intact (SHA-256 of both ends), the flows share the link fairly (Jain's index
# over the second half, a late starter included), the link is used, and with DCTCP the queue stays
# near the marking threshold, far below its limit, without drops.
# VT_CONGESTION picks the algorithm (dctcp, the default here, or cubic: RFC 3168 ECN); CTest runs both.
source "$(dirname "$0")/lib.sh"
vt_init

ALGO=${VT_CONGESTION:-dctcp}
RATE_MBPS=${VT_BOTTLENECK_MBPS:-500}
QUEUE_BYTES=1000000   # 16 ms at 500 Mbit/s
MARK_BYTES=60000      # K: about 1 ms
SECONDS_EACH=8
FLOWS=4
VT_EXTRA_CONFIG="[apps]
rx_buffer = 1048576
tx_buffer = 1048576
[faults.tx]
rate_mbps = $RATE_MBPS
queue_bytes = $QUEUE_BYTES
mark_bytes = $MARK_BYTES
[tcp]
congestion_control = \"$ALGO\""
vt_start_daemon
[ "$(vt_status_field faults.injector)" = True ] || vt_fail "the fast path runs without the bottleneck"

vt_spawn_peer "$VT_TMP/sink.out" python3 "$VT_PEERS/shared_link.py" sink --port 7201 --flows "$FLOWS" --timeout 30
sink=$VT_LAST_PID
vt_wait_line "$VT_TMP/sink.out" listening 20 "$sink"
# Three flows at once; the fourth starts two seconds later and runs as long, so the second half
# of the time all four send begins well after it joined.
sources=()
for id in 1 2 3 4; do
  [ "$id" = 4 ] && sleep 2  # a late start, by design: not a wait for anything
  vt_spawn_shim "$VT_TMP/source$id.out" python3 "$VT_PEERS/shared_link.py" source --host "$VT_PEER_IP" \
    --port 7201 --id "$id" --seconds "$SECONDS_EACH" --timeout 30
  sources+=("$VT_LAST_PID")
done
# The queue's peak from the second half on (the start, slow start included, is another matter):
# setting a value again restarts the peak.
sleep 3  # into the second half of the time all four send, by design
"$VT_BIN/virtuosoctl" faults set "tx.mark_bytes=$MARK_BYTES" >/dev/null || vt_fail "faults set"
for pid in "${sources[@]}"; do vt_wait_pid "$pid" 60 || vt_fail "a source did not finish"; done
vt_wait_pid "$sink" 30 || vt_fail "the sink did not finish"
status_json=$("$VT_BIN/virtuosoctl" status --json)

python3 - "$VT_TMP" "$ALGO" "$QUEUE_BYTES" "$MARK_BYTES" "$RATE_MBPS" "$status_json" <<'PY' || vt_fail "bottleneck checks"
import json, sys
tmp, algo, limit, mark, rate, status = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), json.loads(sys.argv[6])
def last(path):
    return json.loads(open(path).read().strip().splitlines()[-1])
sink = last(f"{tmp}/sink.out")
assert sink.get("ok"), sink
got = {f["id"]: f for f in sink["flows"]}
for i in (1, 2, 3, 4):
    s = last(f"{tmp}/source{i}.out")
    assert s.get("ok"), s
    r = got[i]
    assert r["bytes"] == s["bytes"] and r["sha256"] == s["sha256"], f"flow {i}: sent {s}, received {r['bytes']} {r['sha256']}"
q = status["faults"]["tx"]["queue"]
shares = [got[i]["mbit_s_second_half"] for i in (1, 2, 3, 4)]
print(f"{algo}: second half {sink['second_half_s']} s: {shares} Mbit/s, Jain {sink['jain']}, "
      f"link {sink['mbit_s']} of {rate} Mbit/s; queue: peak {q['peak_bytes']} B (mark above {mark}, "
      f"limit {limit}), {q['ce_marked']} marked, {q['dropped']} dropped of {q['queued']}")
assert sink["second_half_s"] >= 2, "the flows overlapped too briefly to judge"
assert sink["jain"] >= 0.95, f"unfair share: Jain's index {sink['jain']} < 0.95"
# Not a speed figure (bench/bottleneck has those): the flows use the link at all, also on a
# loaded machine, where a paced sender that misses its time loses some of its rate.
assert sink["mbit_s"] >= 0.3 * rate, f"the link is idle: {sink['mbit_s']} of {rate} Mbit/s"
assert q["ce_marked"] > 0, "nothing was marked: no ECN-capable data reached the queue"
if algo == "dctcp":
    assert q["dropped"] == 0, f"DCTCP let the queue overflow: {q['dropped']} drops"
    # Windows follow marks within a round trip or a millisecond: near K, far from the limit.
    assert q["peak_bytes"] < limit / 4, f"DCTCP's queue peaked at {q['peak_bytes']} of {limit} bytes"
PY
vt_pass "$FLOWS flows through a $RATE_MBPS Mbit/s bottleneck with $ALGO: intact, fair, queue bounded"
