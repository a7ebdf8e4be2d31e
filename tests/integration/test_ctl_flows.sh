#!/usr/bin/env bash
# virtuosoctl flows against a live connection: a Linux client (peer namespace) holds a connection to
# an echo server under the shim after 64 KiB went each way; `flows` lists it with its tenant (host),
# state, congestion control and window, and the bytes the stack sent and had acknowledged; the
# filters keep or drop it; the JSON and the table agree.
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon

vt_spawn_shim "$VT_TMP/server.out" python3 "$VT_PEERS/echo_server.py" --port 9000
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"

# The client holds its connection until the test closes the FIFO it reads.
mkfifo "$VT_TMP/hold"
vt_spawn_peer "$VT_TMP/client.out" bash -c "exec python3 -c '
import socket, sys
s = socket.create_connection((\"$VT_IP\", 9000), timeout=20)
data = bytes(range(256)) * 256
s.sendall(data)
got = b\"\"
while len(got) < len(data):
    chunk = s.recv(65536)
    if not chunk:
        sys.exit(\"closed early\")
    got += chunk
assert got == data, \"echo differs\"
print(\"held\", flush=True)
sys.stdin.read()
s.close()
' <'$VT_TMP/hold'"
CLIENT=$VT_LAST_PID
exec 3>"$VT_TMP/hold"
vt_wait_line "$VT_TMP/client.out" "held" 20 "$CLIENT"

"$VT_BIN/virtuosoctl" flows --port 9000 --state ESTABLISHED --json >"$VT_TMP/flows.json" ||
  vt_fail "virtuosoctl flows failed"
python3 - "$VT_TMP/flows.json" <<'PY' || vt_fail "flows: $(cat "$VT_TMP/flows.json")"
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
print("flow", f["flow"], f["state"], f["local"], f["remote"], f["congestion_control"], "cwnd", f["cwnd"])
PY
table=$("$VT_BIN/virtuosoctl" flows --port 9000)
[[ $(wc -l <<<"$table") -eq 2 && "$table" == *ESTABLISHED*cubic* ]] || vt_fail "flows table: $table"
[[ $("$VT_BIN/virtuosoctl" flows --tenant nobody --json) == "[]" ]] || vt_fail "the tenant filter kept a connection"
[[ $("$VT_BIN/virtuosoctl" flows --state SYN_SENT --json) == "[]" ]] || vt_fail "the state filter kept a connection"

exec 3>&-  # the client reads its end of input and closes
vt_wait_pid "$CLIENT" 20 || vt_fail "the client did not finish"
vt_wait_status 'flows == 0' 20
vt_pass "virtuosoctl flows lists a live connection with its tenant, congestion control and bytes"
