#!/usr/bin/env bash
# A long path through the port's delay line ([faults.rx] and [faults.tx] delay_us = 5000): a
# Linux ping sees at least the 10 ms round trip, and an app under the shim sends 16 MiB to a Linux
# receiver and receives 16 MiB from a Linux sender across it intact, the flow's measured round
# trip (status srtt_us, TCP_INFO) being the path's, not the veth's.
#
# On the tap port: through net_af_xdp on a veth pair, frames leaving this delay line were taken by
# the PMD's transmit ring (no drop counted, `fastpath.drop_port_tx` 0) but about one in ten never
# reached the peer's veth, and after a loss the flow's resends were lost too until it timed out;
# the tap port carries the same traffic intact. docs/robustness.md has what is known.
export VT_PORT=${VT_PORT:-tap}
source "$(dirname "$0")/lib.sh"
vt_init

DELAY_US=5000
BYTES=16777216
VT_EXTRA_CONFIG="[apps]
rx_buffer = 1048576
tx_buffer = 1048576
[faults.rx]
delay_us = $DELAY_US
[faults.tx]
delay_us = $DELAY_US"
vt_start_daemon
[ "$(vt_status_field faults.injector)" = True ] || vt_fail "the fast path runs without the delay line"

ping_out=$(ip netns exec "$VT_NS" ping -c 3 -i 0.2 -W 2 "$VT_IP") || vt_fail "ping across the delay failed: $ping_out"
min_ms=$(echo "$ping_out" | sed -n 's|.*= \([0-9.]*\)/.*|\1|p')
# The delay line keeps time with the fast path's TSC clock, whose rate is corrected against the
# kernel's at each 100 ms re-anchor (uncorrected, a ping once measured 9.937 ms): what is left of
# the error is microseconds; 0.5% is the tolerance, a delay missing shows far below.
python3 -c "import sys; sys.exit(0 if float('$min_ms') >= 0.995 * 2 * $DELAY_US / 1000 else 1)" ||
  vt_fail "ping's shortest round trip $min_ms ms is under the path's $((2 * DELAY_US / 1000)) ms"

vt_spawn_peer "$VT_TMP/recv.out" python3 "$VT_PEERS/oneway.py" recv --port 7501 --progress 4194304 --timeout 60
recv=$VT_LAST_PID
vt_wait_line "$VT_TMP/recv.out" listening 20 "$recv"
vt_spawn_shim "$VT_TMP/send.out" python3 "$VT_PEERS/oneway.py" send --host "$VT_PEER_IP" --port 7501 \
  --bytes "$BYTES" --timeout 60
send=$VT_LAST_PID
vt_wait_line "$VT_TMP/recv.out" progress 60 "$recv"
status_json=$("$VT_BIN/virtuosoctl" status --connections --json)
vt_wait_pid "$send" 90 || vt_fail "the sender did not finish"
vt_wait_pid "$recv" 30 || vt_fail "the receiver did not finish"

vt_spawn_shim "$VT_TMP/recv2.out" python3 "$VT_PEERS/oneway.py" recv --port 7502 --timeout 60
recv2=$VT_LAST_PID
vt_wait_line "$VT_TMP/recv2.out" listening 20 "$recv2"
vt_spawn_peer "$VT_TMP/send2.out" python3 "$VT_PEERS/oneway.py" send --host "$VT_IP" --port 7502 \
  --bytes "$BYTES" --timeout 60
send2=$VT_LAST_PID
vt_wait_pid "$send2" 90 || vt_fail "the Linux sender did not finish"
vt_wait_pid "$recv2" 30 || vt_fail "the receiver under the shim did not finish"

python3 - "$VT_TMP" "$DELAY_US" "$status_json" <<'PY' || vt_fail "long path checks"
import json, sys
tmp, delay_us, status = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
def last(path):
    return json.loads(open(path).read().strip().splitlines()[-1])
for s, r in (("send", "recv"), ("send2", "recv2")):
    a, b = last(f"{tmp}/{s}.out"), last(f"{tmp}/{r}.out")
    assert a.get("ok") and b.get("ok"), (a, b)
    assert a["bytes"] == b["bytes"] and a["sha256"] == b["sha256"], f"{s}: sent {a}, received {b}"
flow = [c for c in status["connections"] if c["remote"].endswith(":7501")]
assert flow, "the sending flow was not in status mid-transfer"
srtt = flow[0]["srtt_us"]
print(f"ping and flow across {2 * delay_us} us of delay: srtt {srtt} us; "
      f"{last(tmp + '/send.out')['mib_per_s']} MiB/s out, {last(tmp + '/send2.out')['mib_per_s']} MiB/s in")
assert srtt >= 0.995 * 2 * delay_us, f"the flow's round trip {srtt} us is shorter than the path's {2 * delay_us}"
PY
vt_pass "16 MiB each way intact across a 10 ms round trip, measured as such"
