#!/usr/bin/env bash
# virtuosod's life cycle and bad input: clear one-line errors, non-zero exits, nothing left behind;
# readiness, status, a refused second daemon, a clean stop, and an app killed mid-connection.
source "$(dirname "$0")/lib.sh"
# The refusals below start daemons before vt_start_daemon would make a veth: a tap is made by the
# daemon itself, so the 'packet buffers' refusal is reached with a port that exists.
VT_PORT=tap
vt_init

# Runs virtuosod with arguments, expects exit code $1 and stderr matching $2; nothing may remain.
expect_refusal() {
  local want_rc=$1 want_msg=$2
  shift 2
  local rc=0 before
  before=$(pgrep -f "$VT_TMP" | sort || true)
  timeout 60 "$VT_BIN/virtuosod" "$@" >"$VT_TMP/refusal.out" 2>"$VT_TMP/refusal.err" || rc=$?
  [ "$rc" = "$want_rc" ] || vt_fail "virtuosod $*: exit $rc, want $want_rc; stderr: $(tail -3 "$VT_TMP/refusal.err")"
  grep -q -- "$want_msg" "$VT_TMP/refusal.err" ||
    vt_fail "virtuosod $*: stderr lacks '$want_msg': $(tail -3 "$VT_TMP/refusal.err")"
  [ "$(pgrep -f "$VT_TMP" | sort || true)" = "$before" ] || vt_fail "processes left behind: $(pgrep -af "$VT_TMP")"
  if [ -z "$before" ] && ls "$VT_TMP"/run/*.sock >/dev/null 2>&1; then vt_fail "sockets left behind: $(ls "$VT_TMP"/run)"; fi
  vt_log "refused as expected: $(grep -- "$want_msg" "$VT_TMP/refusal.err" | head -1)"
}

vt_write_config
good=$VT_TMP/virtuoso.toml
expect_refusal 2 "cannot open" --config "$VT_TMP/missing.toml"
expect_refusal 2 "not expected: --bogus" --config "$good" --bogus
sed 's/^ip = .*/ip = "10.77.1.300"/' "$good" >"$VT_TMP/bad-ip.toml"
expect_refusal 2 "network.ip" --config "$VT_TMP/bad-ip.toml"
cat "$good" | sed '/^\[fastpath\]/a lcores = 3' >"$VT_TMP/bad-key.toml"
expect_refusal 2 "fastpath.lcores" --config "$VT_TMP/bad-key.toml"
sed 's/^devargs = .*/devargs = "net_nosuchdriver0"/' "$good" >"$VT_TMP/bad-port.toml"
expect_refusal 1 "virtuoso-fastpath failed to start" --config "$VT_TMP/bad-port.toml"
sed 's/^hugepages = .*/hugepages = "off"\nmemory_mb = 64\nmbufs = 400000/' "$good" >"$VT_TMP/small-mem.toml"
expect_refusal 1 "packet buffers" --config "$VT_TMP/small-mem.toml"

# `virtuosoctl config check` judges the same files without starting anything: 0 for the good
# one and the shipped example, 2 naming the field for the bad ones.
"$VT_BIN/virtuosoctl" config check "$good" >/dev/null || vt_fail "config check refused the good config"
"$VT_BIN/virtuosoctl" config check "$(dirname "$0")/../../docs/virtuoso.example.toml" >/dev/null ||
  vt_fail "config check refused docs/virtuoso.example.toml"
for bad in bad-ip:network.ip bad-key:fastpath.lcores; do
  rc=0
  "$VT_BIN/virtuosoctl" config check "$VT_TMP/${bad%%:*}.toml" 2>"$VT_TMP/check.err" || rc=$?
  [[ $rc == 2 ]] && grep -q "${bad#*:}" "$VT_TMP/check.err" ||
    vt_fail "config check ${bad%%:*}: exit $rc, $(cat "$VT_TMP/check.err")"
done

# No daemon yet: virtuosoctl says so and fails.
rc=0
"$VT_BIN/virtuosoctl" status >/dev/null 2>"$VT_TMP/ctl.err" || rc=$?
[ $rc = 1 ] || vt_fail "virtuosoctl without a daemon: exit $rc"
grep -q "no daemon" "$VT_TMP/ctl.err" || vt_fail "virtuosoctl without a daemon: $(cat "$VT_TMP/ctl.err")"

vt_start_daemon
"$VT_BIN/virtuosoctl" status >"$VT_TMP/status.txt" || vt_fail "status not ready"
[ "$(vt_status_field ready)" = True ] || vt_fail "status says not ready"
[ "$(vt_status_field ip)" = "$VT_IP" ] || vt_fail "status reports ip $(vt_status_field ip)"

# The slow path's log level changes at run time and shows in status; a wrong name is refused.
[ "$(vt_status_field log_level)" = info ] || vt_fail "status log_level $(vt_status_field log_level)"
"$VT_BIN/virtuosoctl" log-level debug >/dev/null || vt_fail "log-level debug refused"
[ "$(vt_status_field log_level)" = debug ] || vt_fail "log level not changed: $(vt_status_field log_level)"
rc=0
"$VT_BIN/virtuosoctl" log-level loud >/dev/null 2>"$VT_TMP/level.err" || rc=$?
[[ $rc == 1 ]] && grep -q "not a log level" "$VT_TMP/level.err" || vt_fail "log-level loud: exit $rc, $(cat "$VT_TMP/level.err")"
"$VT_BIN/virtuosoctl" log-level info >/dev/null || vt_fail "log-level info refused"
# A request in bytes that are not UTF-8 gets an error answer; the slow path carries on.
python3 - "$VIRTUOSO_RUN_DIR/ctl.sock" <<'PY' || vt_fail "a request that is not UTF-8 was not answered with an error"
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"tenants set \xff\xfe weight=5\n")
answer = b""
while chunk := s.recv(4096):
    answer += chunk
assert "error" in json.loads(answer), answer
PY
"$VT_BIN/virtuosoctl" status >/dev/null || vt_fail "the slow path did not survive a request that is not UTF-8"

# A second daemon on the same run directory is refused; the first one carries on.
expect_refusal 1 "another virtuosod" --config "$good"
"$VT_BIN/virtuosoctl" status >/dev/null || vt_fail "first daemon hurt by the refused second one"

# An app killed while it holds a connection: its peer sees the connection end, the daemon carries
# on, and a new app on the same port works.
vt_spawn_shim "$VT_TMP/server1.out" "$VT_BIN/echo-server" --port 7007
server1=$VT_LAST_PID
vt_wait_line "$VT_TMP/server1.out" "listening" 20 "$server1"
ip netns exec "$VT_NS" python3 - "$VT_IP" >"$VT_TMP/victim.out" 2>&1 <<'PY' &
import socket, sys
s = socket.create_connection((sys.argv[1], 7007), timeout=30)
s.sendall(b"ping")
assert s.recv(4) == b"ping"
print("connected", flush=True)
try:
    data = s.recv(1)          # blocks until the server's end goes away
    print("ended", "eof" if data == b"" else "data", flush=True)
except ConnectionResetError:
    print("ended reset", flush=True)
PY
victim=$!
VT_PIDS+=("$victim")
vt_wait_line "$VT_TMP/victim.out" "connected" 20 "$victim"
kill -KILL "$server1"
vt_wait_pid "$victim" 30 || vt_fail "the peer of a killed app never saw its connection end"
grep -q "ended" "$VT_TMP/victim.out" || vt_fail "peer: $(cat "$VT_TMP/victim.out")"
vt_log "peer of the killed app: $(cat "$VT_TMP/victim.out" | tail -1)"
"$VT_BIN/virtuosoctl" status >/dev/null || vt_fail "daemon unhealthy after an app was killed"
vt_spawn_shim "$VT_TMP/server2.out" "$VT_BIN/echo-server" --port 7007
vt_wait_line "$VT_TMP/server2.out" "listening" 20 "$VT_LAST_PID"
ip netns exec "$VT_NS" python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port 7007 \
  --bytes 100000 --roundtrips 10 >"$VT_TMP/client.out" || vt_fail "after restart: $(cat "$VT_TMP/client.out")"
kill -TERM "$VT_LAST_PID"
vt_wait_pid "$VT_LAST_PID" 10 || vt_fail "echo-server did not stop on SIGTERM"

# A clean stop: exit 0, and no process, socket, shared memory or hugepage file remains.
vt_stop_watchdog
kill -TERM "$VT_DAEMON"
vt_wait_pid "$VT_DAEMON" 30 || vt_fail "virtuosod did not stop within 30 s of SIGTERM"
wait "$VT_DAEMON" 2>/dev/null && rc=0 || rc=$?
VT_DAEMON=
if pgrep -f "$VT_TMP/" >/dev/null; then vt_fail "left behind: $(pgrep -af "$VT_TMP/")"; fi
if ls "$VT_TMP"/run/*.sock >/dev/null 2>&1; then vt_fail "sockets left: $(ls "$VT_TMP/run")"; fi
if ls /dev/hugepages/*rte* /dev/shm/*rte* >/dev/null 2>&1; then vt_fail "DPDK files left in /dev"; fi
grep -q "virtuosod: ready" "$VT_TMP/daemon.out" || vt_fail "no ready line"
vt_pass "daemon life cycle and bad input"
