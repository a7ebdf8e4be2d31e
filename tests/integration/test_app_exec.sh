#!/usr/bin/env bash
# Stack sockets that survive exec(), with Debian's socat and Python under the shim and Linux peers:
# an inetd-style echo server (accept, fork, dup2 the connection onto 0 and 1, exec cat) answers 4
# concurrent and 10 sequential Linux clients, every stream checked; the same through chains of
# programs (sh -c exec'ing nice exec'ing cat; sh forking nice); a listener handed to an exec'd
# program accepts there; and a handler exec'd with VIRTUOSO_HOLD_FD removed from its environment
# fails with the shim's one-line reason instead of ENOTCONN. Afterwards the daemon holds no
# connection, reference or hold link beyond the listening sockets.
source "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || { echo "socat not installed (scripts/install-deps.sh)" >&2; exit 77; }
vt_init
vt_start_daemon
peer() { ip netns exec "$VT_NS" timeout 120 "$@"; }
client() {  # port, output file, stream_client.py options
  local port=$1 out=$2
  shift 2
  peer python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port "$port" "$@" >"$out" 2>&1
}

# 1. socat's child execs cat with the connection as its descriptors 0 and 1: no socket pair, no
#    socat process between the connection and cat.
vt_spawn_shim "$VT_TMP/socat-exec.out" socat -d TCP-LISTEN:7200,fork,reuseaddr EXEC:cat,nofork
SERVER=$VT_LAST_PID
vt_wait_status 'ports_listening == 1' 20
moved0=$(vt_status_field slowpath.flows_moved)
vt_peer_stream_clients 7200 4 10
kill -0 "$SERVER" || vt_fail "the socat server exited"
grep -q 'libtas_shim:' "$VT_TMP/socat-exec.out" && vt_fail "the shim complained: $(grep libtas_shim: "$VT_TMP/socat-exec.out")"
moved=$(($(vt_status_field slowpath.flows_moved) - moved0))
[ "$moved" -ge 14 ] || vt_fail "only $moved connections moved into the exec'd cats (14 served)"
vt_wait_status 'flows == 0 and held_refs == 0 and hold_links == 0 and ports_listening == 1' 20
vt_log "exec: 14 connections served by cat exec'd from socat's children, $moved moved"

# 2. Programs between the server and the handler: socat's child execs sh -c, which execs nice,
#    which execs cat; then sh forking nice (not its last command), which execs cat. A program
#    that has not used the sockets passes the hold on, by exec or by fork.
vt_spawn_shim "$VT_TMP/socat-chain.out" socat -d TCP-LISTEN:7201,fork,reuseaddr \
  SYSTEM:'exec nice -n 1 cat',nofork
vt_spawn_shim "$VT_TMP/socat-shfork.out" socat -d TCP-LISTEN:7202,fork,reuseaddr \
  SYSTEM:'nice -n 1 cat; true',nofork
vt_wait_status 'ports_listening == 3' 20
for port in 7201 7202; do
  for i in $(seq 3); do
    client $port "$VT_TMP/chain.out" --bytes $((256 * 1024)) --roundtrips 10 ||
      vt_fail "client $i on port $port: $(tail -n 3 "$VT_TMP/chain.out")"
    vt_check_client_result "$VT_TMP/chain.out" >/dev/null || vt_fail "client $i on port $port"
  done
done
vt_wait_status 'flows == 0 and held_refs == 0 and hold_links == 0 and ports_listening == 3' 20
vt_log "exec chains: 6 connections served through sh -c, nice and cat"

# 3. A listener handed to an exec'd program (descriptor 3) accepts there: it joins the listener
#    by its id. The parent closed its copy; the port closes when the exec'd program exits.
timeout 60 "$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/exec_listener.py" --port 7203 --clients 3 \
  >"$VT_TMP/exec-listener.out" 2>&1 &
LISTENER=$!
VT_PIDS+=("$LISTENER")
vt_wait_line "$VT_TMP/exec-listener.out" '^listening' 20 "$LISTENER"
for i in $(seq 3); do
  peer python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
s.sendall(b"abc%d" % int(sys.argv[3]))
got = s.recv(100)
sys.exit(0 if got == b"ABC%d" % int(sys.argv[3]) else f"got {got!r}")' "$VT_IP" 7203 "$i" ||
    vt_fail "exec'd listener client $i"
done
wait "$LISTENER" || vt_fail "exec'd listener: $(tail -n 5 "$VT_TMP/exec-listener.out")"
grep -qx ok "$VT_TMP/exec-listener.out" || vt_fail "exec'd listener did not serve its clients"
vt_wait_status 'flows == 0 and held_refs == 0 and hold_links == 0 and ports_listening == 3' 20
vt_log "exec'd listener: 3 connections accepted by the program it was handed to"

# 4. The handler's environment lost VIRTUOSO_HOLD_FD: cat cannot use the connection; it says why
#    once and gets EBADF, and the connection ends when cat exits.
vt_spawn_shim "$VT_TMP/socat-noenv.out" socat -d TCP-LISTEN:7204,fork,reuseaddr \
  SYSTEM:'exec env -u VIRTUOSO_HOLD_FD cat',nofork
vt_wait_status 'ports_listening == 4' 20
peer python3 - "$VT_IP" 7204 >"$VT_TMP/noenv-client.out" 2>&1 <<'PY' || vt_fail "cleared environment: $(cat "$VT_TMP/noenv-client.out")"
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=20)
s.sendall(b"hello\n")
try:
    data = s.recv(100)
except ConnectionResetError:
    data = b""
sys.exit(0 if data == b"" else f"expected the connection to end, got {data!r}")
PY
vt_wait_line "$VT_TMP/socat-noenv.out" 'passed through exec without its hold link' 20
grep -q 'cat: -: Bad file descriptor' "$VT_TMP/socat-noenv.out" ||
  vt_fail "cat did not see EBADF: $(cat "$VT_TMP/socat-noenv.out")"
vt_wait_status 'flows == 0 and held_refs == 0 and hold_links == 0 and ports_listening == 4' 20
vt_pass "exec(): socat EXEC:cat,nofork served 14 clients, exec chains 6, an exec'd listener 3; a cleared environment said why"
