#!/usr/bin/env bash
# Debian's iperf3 under the shim against a Linux iperf3 in the peer namespace, both ways round:
# the shim as server (the peer sends 64 MiB, then receives with -R) and as client (sends 64 MiB).
# Each run's JSON must show no error, all bytes sent (at most one block more: iperf3's -n) and at
# least 90% counted by the receiver before the end-of-test message (content is checked by the redis
# and nginx tests).
source "$(dirname "$0")/lib.sh"
command -v iperf3 >/dev/null || { echo "iperf3 not installed (scripts/install-deps.sh)" >&2; exit 77; }
vt_init
vt_start_daemon
BYTES=$((64 * 1024 * 1024))

# Checks one iperf3 client's JSON: no error, BYTES sent and received at both ends, prints the rate.
check_run() {
  python3 - "$1" "$2" "$BYTES" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
if "error" in r:
    sys.exit(f"{sys.argv[2]}: iperf3 error: {r['error']}")
end = r["end"]
sent, recv = end["sum_sent"]["bytes"], end["sum_received"]["bytes"]
want = int(sys.argv[3])
# iperf3 -n checks its count between write bursts, so a sender may write one block (blksize) past
# it. The receiver stops counting when the sender's end-of-test message arrives, so the last bytes
# in flight are not in its figure (Linux to Linux as well); iperf3 does not look at the content.
block = r["start"]["test_start"]["blksize"]
if not want <= sent <= want + block or not 0.9 * want <= recv <= sent:
    sys.exit(f"{sys.argv[2]}: sent {sent}, received {recv}, wanted {want}")
print(f"{sys.argv[2]}: sent {sent}, counted {recv}, {end['sum_received']['bits_per_second'] / 1e9:.2f} Gbit/s")
PY
}

# 1. iperf3 server under the shim, Linux client sending, then receiving (-R).
for mode in send reverse; do
  port=$((5201 + ${#mode}))
  vt_spawn_shim "$VT_TMP/server-$mode.out" iperf3 -s -p "$port" -1 --forceflush  # [::], dual stack
  srv=$VT_LAST_PID
  vt_wait_line "$VT_TMP/server-$mode.out" "Server listening" 30 "$srv"
  flag=()
  [ "$mode" = reverse ] && flag=(-R)
  ip netns exec "$VT_NS" timeout 120 iperf3 -c "$VT_IP" -p "$port" -n "$BYTES" -J "${flag[@]}" \
    >"$VT_TMP/client-$mode.json" || vt_fail "Linux iperf3 client ($mode): $(tail -c 400 "$VT_TMP/client-$mode.json")"
  check_run "$VT_TMP/client-$mode.json" "shim server, Linux client ($mode)" || vt_fail "byte counts ($mode)"
  vt_wait_pid "$srv" 30 || vt_fail "iperf3 -1 server under the shim did not exit after its test"
done

# 2. iperf3 client under the shim against a Linux server.
vt_spawn_peer "$VT_TMP/peer-server.out" iperf3 -s -4 -p 5301 -1 --forceflush
peer_srv=$VT_LAST_PID
vt_wait_line "$VT_TMP/peer-server.out" "Server listening" 30 "$peer_srv"
timeout 120 "$VT_BIN/virtuoso-run" -- iperf3 -c "$VT_PEER_IP" -p 5301 -n "$BYTES" -J -C cubic \
  >"$VT_TMP/shim-client.json" 2>"$VT_TMP/shim-client.err" ||
  vt_fail "iperf3 client under the shim: $(tail -c 400 "$VT_TMP/shim-client.json") $(cat "$VT_TMP/shim-client.err")"
check_run "$VT_TMP/shim-client.json" "shim client, Linux server" || vt_fail "byte counts (shim client)"
# TCP_INFO: iperf3 reads it for its per-interval figures; the shim answers instead of ENOPROTOOPT.
grep -q "getsockopt" "$VT_TMP/shim-client.err" && vt_fail "iperf3 reported: $(cat "$VT_TMP/shim-client.err")"
# -C cubic is the daemon's algorithm (the default): set and read back with TCP_CONGESTION, and the
# congestion window in TCP_INFO (iperf3's snd_cwnd, bytes) is the one the slow path computed.
python3 - "$VT_TMP/shim-client.json" <<'PY' || vt_fail "congestion control as iperf3 sees it"
import json, sys
r = json.load(open(sys.argv[1]))
cc = r["end"].get("sender_tcp_congestion")
cwnds = [s["snd_cwnd"] for i in r["intervals"] for s in i["streams"]]
print(f"sender_tcp_congestion {cc}, snd_cwnd per interval {cwnds}")
assert cc == "cubic", cc
assert cwnds and all(c > 0 for c in cwnds), cwnds
PY
# Another algorithm is the daemon's to choose, not the app's: refused (EPERM), as Linux refuses an
# unprivileged process an algorithm it does not allow.
vt_spawn_peer "$VT_TMP/peer-server2.out" iperf3 -s -4 -p 5302 -1 --forceflush
peer_srv2=$VT_LAST_PID
vt_wait_line "$VT_TMP/peer-server2.out" "Server listening" 30 "$peer_srv2"
if timeout 60 "$VT_BIN/virtuoso-run" -- iperf3 -c "$VT_PEER_IP" -p 5302 -n 1M -C reno >"$VT_TMP/reno.out" 2>&1; then
  vt_fail "iperf3 -C reno under the shim ran; the daemon gives cubic: $(tail -3 "$VT_TMP/reno.out")"
fi
grep -q -i "TCP_CONGESTION\|not permitted" "$VT_TMP/reno.out" || vt_fail "iperf3 -C reno failed otherwise: $(cat "$VT_TMP/reno.out")"
kill -TERM "$peer_srv2" 2>/dev/null || true

vt_pass "iperf3 under the shim as server (both directions) and as client against Linux iperf3"
