#!/usr/bin/env bash
# Pacing, end to end with Linux kernel receivers: an app under the shim that sets
# SO_MAX_PACING_RATE sends no faster than its cap (it sends once TCP_INFO shows the cap applied;
# the rate is judged after the first MiB), intact; TCP_INFO and the daemon's status report the cap as the flow's
# pacing rate and count segments that waited for their time. A second flow without a cap runs
# under congestion control and is paced at its window per round trip: a rate well above the cap.
# Then a capped flow alone: between its segments the fast path sleeps (idle back-off) until the
# next one is due, instead of polling while the flow waits for its time.
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon

CAP=2097152            # bytes a second (2 MiB/s, 16.8 Mbit/s)
CAPPED_BYTES=6291456   # 6 MiB: 3 s at the cap
FREE_BYTES=67108864    # 64 MiB without a cap
MARK=1048576           # the steady rate is judged after the first MiB

vt_spawn_peer "$VT_TMP/recv1.out" python3 "$VT_PEERS/oneway.py" recv --port 7301 --mark "$MARK" \
  --progress "$MARK" --timeout 60
recv1=$VT_LAST_PID
vt_spawn_peer "$VT_TMP/recv2.out" python3 "$VT_PEERS/oneway.py" recv --port 7302 --timeout 60
recv2=$VT_LAST_PID
vt_wait_line "$VT_TMP/recv1.out" listening 20 "$recv1"
vt_wait_line "$VT_TMP/recv2.out" listening 20 "$recv2"

vt_spawn_shim "$VT_TMP/send1.out" python3 "$VT_PEERS/oneway.py" send --host "$VT_PEER_IP" --port 7301 \
  --bytes "$CAPPED_BYTES" --max-pacing-rate "$CAP" --await-pacing --timeout 60
send1=$VT_LAST_PID
# While the capped flow moves (its receiver has its first MiB), the status of both flows.
vt_wait_line "$VT_TMP/recv1.out" progress 30 "$recv1"
vt_spawn_shim "$VT_TMP/send2.out" python3 "$VT_PEERS/oneway.py" send --host "$VT_PEER_IP" --port 7302 \
  --bytes "$FREE_BYTES" --timeout 60
send2=$VT_LAST_PID
status_json=""
for _ in $(seq 1 100); do  # until the uncapped flow has a round trip measured and a rate (bounded)
  status_json=$("$VT_BIN/virtuosoctl" status --connections --json)
  python3 - "$status_json" <<'PY' && break
import json, sys
conns = json.loads(sys.argv[1])["connections"]
sys.exit(0 if any(c["remote"].endswith(":7302") and c.get("pacing_rate", 0) > 0 for c in conns) else 1)
PY
  kill -0 "$send2" 2>/dev/null || break
  sleep 0.05
done
for pid in "$send1" "$send2"; do vt_wait_pid "$pid" 90 || vt_fail "a sender did not finish"; done
for pid in "$recv1" "$recv2"; do vt_wait_pid "$pid" 30 || vt_fail "a receiver did not finish"; done
final_json=$("$VT_BIN/virtuosoctl" status --json)

python3 - "$VT_TMP" "$CAP" "$status_json" "$final_json" <<'PY' || vt_fail "pacing checks"
import json, sys
tmp, cap, status, final = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
def last(path):
    return json.loads(open(path).read().strip().splitlines()[-1])
for i in (1, 2):
    s, r = last(f"{tmp}/send{i}.out"), last(f"{tmp}/recv{i}.out")
    assert s.get("ok") and r.get("ok"), (s, r)
    assert s["bytes"] == r["bytes"] and s["sha256"] == r["sha256"], f"flow {i}: sent {s}, received {r}"
capped, free = last(f"{tmp}/send1.out"), last(f"{tmp}/send2.out")
steady = last(f"{tmp}/recv1.out")
rate = steady["bytes_after_mark"] / steady["seconds_after_mark"]
print(f"capped flow: {rate / 1048576:.2f} MiB/s after its first MiB (cap {cap / 1048576:.2f}); "
      f"TCP_INFO pacing {capped['pacing_rate']} max {capped['max_pacing_rate']}; "
      f"uncapped flow: {free['mib_per_s']} MiB/s, TCP_INFO pacing {free['pacing_rate']}")
# A burst of two segments' worth at most beyond the rate: 2% over the cap is already generous.
assert rate <= cap * 1.02, f"the capped flow ran at {rate:.0f} B/s, above its cap {cap}"
assert rate >= cap * 0.25, f"the capped flow crawled: {rate:.0f} B/s of {cap}"
assert capped["max_pacing_rate"] == cap and capped["pacing_rate"] == cap, capped
assert free["max_pacing_rate"] == 2**64 - 1, free  # none set: Linux's ~0
assert free["pacing_rate"] > cap, f"the uncapped flow's pacing rate {free['pacing_rate']} is not its window's"
conns = {c["remote"].rsplit(":", 1)[1]: c for c in status["connections"]}
assert "7302" in conns, "the uncapped flow never showed a pacing rate in status"
if "7301" in conns:  # the capped flow was still there when status was read
    assert conns["7301"]["pacing_rate"] == cap and conns["7301"]["paced_waits"] > 0, conns["7301"]
assert final["fastpath"]["paced_waits"] > 0, "no segment ever waited for its pacing time"
PY
# A capped flow alone: 512 KiB at 512 KiB/s, a 1448-byte segment every 2.8 ms. The loop has
# nothing else to do, so it sleeps in each gap but its last millisecond (idle_sleeps counts the
# sleeps).
SLOW_CAP=524288
read -r sleeps0 segs0 < <("$VT_BIN/virtuosoctl" status --json | python3 -c '
import json, sys; f = json.load(sys.stdin)["fastpath"]; print(f["idle_sleeps"], f["tx_data_segments"])')
vt_spawn_peer "$VT_TMP/recv3.out" python3 "$VT_PEERS/oneway.py" recv --port 7303 --timeout 60
recv3=$VT_LAST_PID
vt_wait_line "$VT_TMP/recv3.out" listening 20 "$recv3"
vt_spawn_shim "$VT_TMP/send3.out" python3 "$VT_PEERS/oneway.py" send --host "$VT_PEER_IP" --port 7303 \
  --bytes "$SLOW_CAP" --max-pacing-rate "$SLOW_CAP" --await-pacing --timeout 60
send3=$VT_LAST_PID
vt_wait_pid "$send3" 60 || vt_fail "the slow capped sender did not finish"
vt_wait_pid "$recv3" 30 || vt_fail "the slow capped receiver did not finish"
read -r sleeps1 segs1 < <("$VT_BIN/virtuosoctl" status --json | python3 -c '
import json, sys; f = json.load(sys.stdin)["fastpath"]; print(f["idle_sleeps"], f["tx_data_segments"])')
python3 - "$VT_TMP" "$((sleeps1 - sleeps0))" "$((segs1 - segs0))" <<'PY' || vt_fail "sleeping while paced"
import json, sys
tmp, sleeps, segs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = json.loads(open(f"{tmp}/send3.out").read().strip().splitlines()[-1])
r = json.loads(open(f"{tmp}/recv3.out").read().strip().splitlines()[-1])
assert s.get("ok") and r.get("ok") and s["sha256"] == r["sha256"] and r["bytes"] == 524288, (s, r)
print(f"capped flow alone: {segs} segments sent, the fast path slept {sleeps} times meanwhile")
# Busy polling through every wait would give about none; a sleep per gap about one per segment.
assert sleeps >= segs // 4, f"the fast path slept {sleeps} times for {segs} paced segments"
PY
vt_pass "a capped flow kept to SO_MAX_PACING_RATE, an uncapped one paced by its window, both intact; the fast path sleeps between a lone paced flow's segments"
