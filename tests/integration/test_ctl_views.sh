#!/usr/bin/env bash
# virtuosoctl's views against known traffic. A Linux client (peer namespace) holds a connection to
# an echo server under the shim and echoes 64 KiB each way whenever the test asks. `flows` lists the
# connection with its tenant (host), state, congestion control and window, and the bytes sent and
# acknowledged; the filters keep or drop it. `stats` counts exactly the payload that went each way
# (plus retransmissions, if the counters show any) and as many segments as the port counted.
# `watch` run across a second exchange reports rates that add up to that exchange's bytes.
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon

vt_spawn_shim "$VT_TMP/server.out" python3 "$VT_PEERS/echo_server.py" --port 9000
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"

# The client echoes 64 KiB for each line the test writes to the FIFO, and closes at its end.
mkfifo "$VT_TMP/hold"
vt_spawn_peer "$VT_TMP/client.out" bash -c "exec python3 -c '
import socket, sys
s = socket.create_connection((\"$VT_IP\", 9000), timeout=20)
data = bytes(range(256)) * 256
for n, _ in enumerate(sys.stdin, 1):
    s.sendall(data)
    got = b\"\"
    while len(got) < len(data):
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(\"closed early\")
        got += chunk
    assert got == data, \"echo differs\"
    print(\"echoed\", n, flush=True)
s.close()
' <'$VT_TMP/hold'"
CLIENT=$VT_LAST_PID
exec 3>"$VT_TMP/hold"
echo go >&3
vt_wait_line "$VT_TMP/client.out" "echoed 1" 20 "$CLIENT"

# The client has its echo; the stack counts a byte acknowledged once the client's ACK for it came
# (Linux may delay it): ask until it has, at most 5 s.
flows_ok() {
  "$VT_BIN/virtuosoctl" flows --port 9000 --state ESTABLISHED --json >"$VT_TMP/flows.json" ||
    vt_fail "virtuosoctl flows failed"
  python3 - "$VT_TMP/flows.json" <<'PY'
import json, sys
flows = json.load(open(sys.argv[1]))
assert len(flows) == 1, f"{len(flows)} connections listed, want 1"
f = flows[0]
assert f["tenant"] == "host", f["tenant"]
assert f["local"].endswith(":9000"), f["local"]
assert f["congestion_control"] == "cubic", f["congestion_control"]
assert f["cwnd"] > 0, f["cwnd"]
assert f["acked_bytes"] >= 65536, f["acked_bytes"]
assert f["segs_in"] > 0 and f["segs_out"] > 0
assert f["retransmits"] >= 0 and f["core"] == 0
print("flow", f["flow"], f["state"], f["local"], f["remote"], f["congestion_control"], "cwnd", f["cwnd"])
PY
}
deadline=$((SECONDS + 5))
until flows_ok >"$VT_TMP/flows.check" 2>&1; do
  [ $SECONDS -ge $deadline ] && vt_fail "flows: $(cat "$VT_TMP/flows.check" "$VT_TMP/flows.json")"
  sleep 0.05
done
cat "$VT_TMP/flows.check" >&2
table=$("$VT_BIN/virtuosoctl" flows --port 9000)
[[ $(wc -l <<<"$table") -eq 2 && "$table" == *ESTABLISHED*cubic* ]] || vt_fail "flows table: $table"
[[ $("$VT_BIN/virtuosoctl" flows --tenant nobody --json) == "[]" ]] || vt_fail "the tenant filter kept a connection"
[[ $("$VT_BIN/virtuosoctl" flows --state SYN_SENT --json) == "[]" ]] || vt_fail "the state filter kept a connection"

# stats: the host account (every flow in plain mode) received and sent the 64 KiB, exactly unless
# something was sent twice; the port saw at least as many frames as TCP segments.
"$VT_BIN/virtuosoctl" stats --json >"$VT_TMP/stats.json" || vt_fail "virtuosoctl stats failed"
python3 - "$VT_TMP/stats.json" <<'PY' || vt_fail "stats: $(cat "$VT_TMP/stats.json")"
import json, sys
s = json.load(open(sys.argv[1]))
host = next(a for a in s["tenants"] if a["name"] == "host")
tcp = s["tcp"]["fastpath"]
resent = sum(tcp[k] for k in ("fast_retransmits", "sack_retransmits", "lost_retransmits", "rto_retransmits", "tail_probes"))
want = 65536
if tcp["dup_segments"] == 0:
    assert host["rx_bytes"] == want, f"received {host['rx_bytes']} payload bytes, the client sent {want}"
else:
    assert host["rx_bytes"] >= want, host
if resent == 0:
    assert host["tx_bytes"] == want, f"sent {host['tx_bytes']} payload bytes, the server echoed {want}"
else:
    assert host["tx_bytes"] >= want, host
core = s["cores"][0]
assert host["rx_segments"] == core["rx_segments"], (host, core)
assert s["port"]["rx_frames"] >= core["rx_segments"] and s["port"]["tx_frames"] >= host["tx_segments"], s["port"]
assert host["cycles"] > 0 and 0 < host["share"] <= 1, host
assert all(isinstance(v, int) for where in s["drops"].values() for v in where.values()), s["drops"]
assert s["flows"] == 1 and s["ready"] is True
print("stats: rx", host["rx_bytes"], "tx", host["tx_bytes"], "segments", core["rx_segments"], "resent", resent)
PY
table=$("$VT_BIN/virtuosoctl" stats)
[[ "$table" == *"drops by reason"*host* ]] || vt_fail "stats table: $table"

# watch across a second exchange: wait for its first line (its first sample is taken), let the
# client echo again, then for two more lines (a sample taken after the echo ended).
"$VT_BIN/virtuosoctl" watch --interval 0.2 --json >"$VT_TMP/watch.jsonl" 2>"$VT_TMP/watch.err" &
WATCH=$!
VT_PIDS+=("$WATCH")
vt_wait_lines "$VT_TMP/watch.jsonl" 1 20 "$WATCH"
echo go >&3
vt_wait_line "$VT_TMP/client.out" "echoed 2" 20 "$CLIENT"
vt_wait_lines "$VT_TMP/watch.jsonl" $(( $(wc -l <"$VT_TMP/watch.jsonl") + 2 )) 20 "$WATCH"
kill "$WATCH"
python3 - "$VT_TMP/watch.jsonl" "$VT_TMP/stats.json" <<'PY' || vt_fail "watch: $(cat "$VT_TMP/watch.jsonl" "$VT_TMP/watch.err")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
before = json.load(open(sys.argv[2]))
got = round(sum(next(a for a in r["accounts"] if a["name"] == "host")["rx_bits_per_s"] * r["seconds"] / 8 for r in rows))
tcp = before["tcp"]["fastpath"]
assert got >= 65536, f"watch's rates add up to {got} bytes received, the client sent 65536"
if tcp["dup_segments"] == 0:
    assert got <= 65536 + 1460 * 4, f"watch's rates add up to {got} bytes received, the client sent 65536"
for r in rows:
    assert 0.15 < r["seconds"] < 5 and 0 <= r["fastpath_busy"] <= 1 and r["flows"] == 1, r
print("watch:", len(rows), "intervals,", got, "bytes received")
PY

exec 3>&-  # the client reads the end of its input and closes
vt_wait_pid "$CLIENT" 20 || vt_fail "the client did not finish"
vt_wait_status 'flows == 0' 20
vt_pass "virtuosoctl flows, stats and watch agree with the traffic a Linux client exchanged"
