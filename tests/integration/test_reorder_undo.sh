#!/usr/bin/env bash
# Reordering without loss, the stack sending to Linux kernel TCP (peer namespace): segments held back
# on the stack's tx look lost to duplicate ACKs, so recoveries start and resend them; the Linux
# receiver then reports each resent range as a duplicate (D-SACK, RFC 2883), which shows those
# recoveries needless, and the slow path makes no cut for them or takes it back (RFC 3708). The
# D-SACKs also show the flow reordering, so RACK's reordering window (RFC 8985 6.2) holds later
# holes back a while before resending them. Checked: every byte arrives (SHA-256 of both ends),
# recoveries happened, most were found needless and left the window alone, and the reordering
# window engaged.
source "$(dirname "$0")/lib.sh"
vt_init

BYTES=$((32 * 1024 * 1024))
BOUND_S=60
VT_EXTRA_CONFIG="[apps]
rx_buffer = 1048576
tx_buffer = 1048576
[faults]
seed = 77
[faults.tx]
reorder = 0.02
reorder_delay_us = 300"
vt_start_daemon

vt_spawn_peer "$VT_TMP/recv.out" python3 "$VT_PEERS/oneway.py" recv --port 7501 --timeout "$BOUND_S"
recv=$VT_LAST_PID
vt_wait_line "$VT_TMP/recv.out" listening 20 "$recv"
timeout "$BOUND_S" "$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/oneway.py" send --host "$VT_PEER_IP" \
  --port 7501 --bytes "$BYTES" --timeout "$BOUND_S" >"$VT_TMP/send.out" ||
  vt_fail "stack -> Linux: the sender failed: $(tail -1 "$VT_TMP/send.out")"
vt_wait_pid "$recv" 20 || vt_fail "the receiver did not finish"
python3 - "$VT_TMP/recv.out" "$VT_TMP/send.out" "$BYTES" <<'PY' || vt_fail "the transfer was not intact"
import json, sys
last = lambda p: json.loads(open(p).read().strip().splitlines()[-1])
r, s, want = last(sys.argv[1]), last(sys.argv[2]), int(sys.argv[3])
if not (r.get("ok") and s.get("ok") and r["bytes"] == s["bytes"] == want and r["sha256"] == s["sha256"]):
    sys.exit(f"receiver {r} sender {s}")
PY

"$VT_BIN/virtuosoctl" status --json >"$VT_TMP/status.json"
python3 - "$VT_TMP/status.json" <<'PY' || vt_fail "reordering was not told from loss"
import json, sys
j = json.load(open(sys.argv[1]))
fp, sp, tx = j["fastpath"], j["slowpath"], j["faults"]["tx"]
print(f"reordered {tx['reordered']} lost {tx['lost']}, recoveries {fp['fast_retransmits']}, "
      f"D-SACKs {fp['dsacks_received']}, needless {fp['spurious_recoveries']}, "
      f"cuts {sp['congestion_cuts']}, undone {sp['congestion_undos']}, "
      f"reordering seen {fp['reordering_seen']}, holes that waited RACK's window {fp['rack_waits']}")
assert tx["reordered"] > 0 and tx["lost"] == 0, tx
assert fp["fast_retransmits"] > 0, "no recovery: the reordering never looked like loss"
assert fp["dsacks_received"] > 0, "the Linux receiver's D-SACKs were not recognised"
assert 0 < fp["spurious_recoveries"] <= fp["fast_retransmits"], fp
# Found in the tick that counted the recovery, its cut is never made; found later, undone.
assert sp["congestion_undos"] <= fp["spurious_recoveries"], (sp, fp)
assert sp["congestion_cuts"] - sp["congestion_undos"] < fp["fast_retransmits"] / 2, \
    "most recoveries were needless, yet most of them still cost the window a cut"
assert fp["reordering_seen"] == 1 and fp["rack_waits"] > 0, "RACK's reordering window never engaged"

PY
vt_pass "reordering: needless recoveries found by D-SACK cost no cut, RACK's window engaged, $BYTES bytes intact"
