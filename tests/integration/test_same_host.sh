#!/usr/bin/env bash
# Same host: clients under the shim talk to servers under the shim through the stack's own address.
# The connections are circuits: bytes go from one app's ring to the other's inside the daemon, so
# neither the port's counters nor the frames delivered inside the daemon move with them. Echo and
# bulk data arrive intact, close with unread data resets, and many short connections leak nothing.
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon

vt_spawn_shim "$VT_TMP/server.out" "$VT_BIN/echo-server" --port 7007
server=$VT_LAST_PID
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$server"

tx_before=$(vt_status_field fastpath.tx_bytes)
local_before=$(vt_status_field fastpath.local_delivered)
circuit_before=$(vt_status_field fastpath.circuit_bytes)

"$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port 7007 \
  --bytes $((10 * 1024 * 1024)) --roundtrips 1000 --timeout 120 >"$VT_TMP/client.out" 2>&1 ||
  vt_fail "shim client: $(cat "$VT_TMP/client.out")"
vt_check_client_result "$VT_TMP/client.out"

"$VT_BIN/virtuoso-run" -- "$VT_BIN/echo-client" --host "$VT_IP" --port 7007 --connections 8 \
  --size 64 --requests 1000 --verify --quiet >"$VT_TMP/echo-client.out" 2>&1 ||
  vt_fail "echo-client under the shim: $(tail -5 "$VT_TMP/echo-client.out")"

# 100 MiB one way, SHA-256 on both ends.
vt_spawn_shim "$VT_TMP/recv.out" python3 "$VT_PEERS/oneway.py" recv --port 7100 --timeout 120
receiver=$VT_LAST_PID
vt_wait_line "$VT_TMP/recv.out" "listening" 20 "$receiver"
"$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/oneway.py" send --host "$VT_IP" --port 7100 \
  --bytes $((100 * 1024 * 1024)) --timeout 120 >"$VT_TMP/send.out" 2>&1 ||
  vt_fail "100 MiB sender: $(tail -3 "$VT_TMP/send.out")"
vt_wait_pid "$receiver" 30 || vt_fail "the receiver did not finish"
python3 - "$VT_TMP/send.out" "$VT_TMP/recv.out" <<'PY' || vt_fail "100 MiB transfer: digests differ"
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
r = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
assert s["bytes"] == r["bytes"] == 100 * 1024 * 1024, (s, r)
assert s["sha256"] == r["sha256"], (s, r)
PY

tx_after=$(vt_status_field fastpath.tx_bytes)
local_after=$(vt_status_field fastpath.local_delivered)
circuit_after=$(vt_status_field fastpath.circuit_bytes)
moved=$((tx_after - tx_before))
delivered=$((local_after - local_before))
through_circuits=$((circuit_after - circuit_before))
vt_log "port tx bytes: $moved; frames delivered inside the daemon: $delivered; bytes through circuits: $through_circuits"
# 120 MiB crossed the stack; stray kernel chatter on the tap (ARP, IPv6) is far below 1 MiB.
[ "$moved" -lt 1048576 ] || vt_fail "the port transmitted $moved bytes: traffic left the daemon"
# A connection whose first bytes went as frames before the other end was installed joins its
# circuit once they are acknowledged: all but those first bytes take the circuit.
[ "$through_circuits" -ge $((115 * 1024 * 1024)) ] || vt_fail "only $through_circuits bytes went through circuits"

# A server that closes with bytes unread resets the connection (RFC 9293 3.6.1), as Linux does:
# the client's next read fails with ECONNRESET.
"$VT_BIN/virtuoso-run" -- python3 - "$VT_IP" >"$VT_TMP/unread.out" 2>&1 <<'PY' || vt_fail "close with unread data: $(cat "$VT_TMP/unread.out")"
import select, socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("0.0.0.0", 7200))
srv.listen(1)
cli = socket.create_connection((sys.argv[1], 7200), timeout=20)
conn, _ = srv.accept()
cli.sendall(b"x" * 1000)
assert select.select([conn], [], [], 20)[0], "the bytes never arrived"
conn.close()  # 1000 bytes unread
cli.settimeout(20)
try:
    data = cli.recv(10)
    sys.exit(f"read after the peer's close with unread data: {data!r}, want ECONNRESET")
except ConnectionResetError:
    print("reset", flush=True)
PY
grep -q reset "$VT_TMP/unread.out" || vt_fail "close with unread data: $(cat "$VT_TMP/unread.out")"

# 500 connections of one request each: every one served, nothing left behind once closed.
"$VT_BIN/virtuoso-run" -- "$VT_BIN/echo-client" --host "$VT_IP" --port 7007 --connections 4 \
  --connect-per-request --size 64 --requests 125 --verify --quiet >"$VT_TMP/short.out" 2>&1 ||
  vt_fail "short connections: $(tail -5 "$VT_TMP/short.out")"
kill -TERM "$server"
vt_wait_pid "$server" 10 || vt_fail "echo-server did not stop on SIGTERM"
vt_wait_status 'flows == 0 and slots_in_use == 0 and orphans == 0' 30

vt_pass "same-host shim <-> shim through circuits: echo, 100 MiB intact, reset on unread close, no leak"
