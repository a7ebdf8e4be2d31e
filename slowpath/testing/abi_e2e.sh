#!/bin/bash
# End-to-end check of the slow path with the real fast path and Linux peers, without the shim:
# apps speak the app ABI directly (testing/abi/*.py). Needs root (tap, namespace).
# Usage: abi_e2e.sh BIN_DIR   (BIN_DIR holds virtuosod, virtuoso-slowpath, virtuoso-fastpath, virtuosoctl)
set -euo pipefail
BIN=$(cd "${1:?usage: abi_e2e.sh BIN_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")/abi" && pwd)
ID=$((($$ % 200) + 20))
T=$(mktemp -d /tmp/virtuoso-abi.XXXXXX)
NS=vabi${ID}; TAP=vabi${ID}t; IP=10.79.${ID}.1; PIP=10.79.${ID}.2
DAEMON=
cleanup() {
  local rc=$?
  set +e
  jobs -p | grep -vx "$DAEMON" | xargs -r kill 2>/dev/null
  [ $rc -ne 0 ] && "$BIN/virtuosoctl" status --run-dir "$T/run" >&2
  [ -n "$DAEMON" ] && kill -TERM "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  if [ $rc -ne 0 ]; then
    tail -n 30 "$T/daemon.err" >&2
    for f in "$T"/srv*; do [ -f "$f" ] && { echo "---- $f" >&2; cat "$f" >&2; }; done
  fi
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
app() { (cd "$HERE" && exec python3 "$@"); }

cat >"$T/v.toml" <<CONF
run_dir = "$T/run"
log_level = "debug"
[port]
devargs = "net_tap0,iface=$TAP,mac=02:00:00:79:$(printf %02x $ID):01"
[fastpath]
idle_backoff_us = 100
[network]
ip = "$IP"
prefix_len = 24
CONF
"$BIN/virtuosod" --config "$T/v.toml" >"$T/daemon.out" 2>"$T/daemon.err" &
DAEMON=$!
for _ in $(seq 300); do grep -q "virtuosod: ready" "$T/daemon.out" && break; sleep 0.1; done
grep -q "virtuosod: ready" "$T/daemon.out" || fail "daemon not ready"
ip netns add "$NS"
ip link set "$TAP" netns "$NS"
ip -n "$NS" addr add "$PIP/24" dev "$TAP"
ip -n "$NS" link set "$TAP" up
ip -n "$NS" link set lo up
ip netns exec "$NS" ethtool -K "$TAP" tso off gso off gro off >/dev/null 2>&1 || true
RUN=$T/run

# 1. Linux clients -> echo server on the stack (passive open, data both ways, orderly close).
(cd "$HERE" && exec python3 echo_server.py "$RUN" 7000 2) >"$T/srv1" 2>&1 &
sleep 0.5
ip netns exec "$NS" python3 - "$IP" <<'PY' || fail "linux client -> stack echo"
import os, socket, sys
for n in (100000, 300000):
    data = os.urandom(n)
    s = socket.create_connection((sys.argv[1], 7000), timeout=10)
    s.sendall(data); s.shutdown(socket.SHUT_WR)
    got = b"".join(iter(lambda: s.recv(65536), b""))
    assert got == data, (len(got), n)
PY
echo "ok: passive open, echo and close with a Linux client"

# 2. Stack client -> Linux echo server (active open, ARP, ECONNREFUSED, TIME_WAIT side).
ip netns exec "$NS" python3 -c '
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); l.bind(("0.0.0.0", 9000)); l.listen()
c, _ = l.accept()
for d in iter(lambda: c.recv(65536), b""): c.sendall(d)
c.close()' &
sleep 0.5
app client.py "$RUN" "$PIP" 9000 200000 || fail "stack client -> linux echo"
echo "ok: active open, connection refused, echo with a Linux server"

# 3. Both ends on the stack (local delivery through the same handshake code).
(cd "$HERE" && exec python3 echo_server.py "$RUN" 9100 1) >"$T/srv3" 2>&1 &
sleep 0.5
app client.py "$RUN" "$IP" 9100 100000 || fail "local client -> local server"
echo "ok: local connection"

# 4. Closed port from Linux -> RST; an app that dies -> its peer sees a reset.
ip netns exec "$NS" python3 - "$IP" <<'PY' || fail "closed port"
import socket, sys
try:
    socket.create_connection((sys.argv[1], 9999), timeout=3); sys.exit("connected to a closed port")
except ConnectionRefusedError:
    pass
PY
(cd "$HERE" && exec python3 echo_server.py "$RUN" 7100 1) >"$T/srv4" 2>&1 &
SRV=$!  # the python process itself: the subshell exec'd it
sleep 0.5
ip netns exec "$NS" python3 - "$IP" "$SRV" <<'PY' || fail "app death -> RST"
import os, signal, socket, sys
s = socket.create_connection((sys.argv[1], 7100), timeout=5)
s.sendall(b"x" * 100); assert len(s.recv(1000)) == 100
os.kill(int(sys.argv[2]), signal.SIGKILL)
try:
    s.recv(100); sys.exit("no reset after the app died")
except ConnectionResetError:
    pass
PY
echo "ok: RST for a closed port and for a dead app's connection"

sleep 0.5
"$BIN/virtuosoctl" status --json --run-dir "$RUN" >"$T/status.json"
python3 - "$T/status.json" <<'PY' || fail "status after the scenarios"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["ready"] and s["contexts"] == 0 and s["listeners"] == 0, s
sp = s["slowpath"]
assert sp["passive_opens"] >= 4 and sp["active_opens"] >= 2 and sp["connect_failures"] >= 2, sp
PY
echo "PASS"
