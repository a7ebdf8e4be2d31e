#!/usr/bin/env bash
# Connections that cross fork(), with Debian's socat and Python under the shim and Linux peers:
# a socat fork-per-connection echo server (accept, fork, the child serves) answers 8 concurrent
# and 20 sequential Linux clients, every stream checked; Python clients under the shim hand their
# connections to forked children (fresh, mid-stream, with unread bytes, a silent child, a
# grandchild, a parent that keeps its copy and waits, parent and child taking turns) against a
# Linux socat echo server. Afterwards the daemon holds no connection, reference or hold link
# beyond the listening socket.
source "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || { echo "socat not installed (scripts/install-deps.sh)" >&2; exit 77; }
vt_init
vt_start_daemon

# 1. The server under the shim: socat's parent accepts and forks; each child runs `cat` behind a
#    socket pair and shuttles bytes between it and the inherited connection.
vt_spawn_shim "$VT_TMP/socat-server.out" socat -d TCP-LISTEN:7000,fork,reuseaddr EXEC:cat
SERVER=$VT_LAST_PID
vt_wait_status 'ports_listening == 1' 20
vt_peer_stream_clients 7000 8 20
kill -0 "$SERVER" || vt_fail "the socat server exited"
moved=$(vt_status_field slowpath.flows_moved)
[ "$moved" -ge 28 ] || vt_fail "only $moved connections moved into socat's children (28 served)"
vt_wait_status 'flows == 0 and held_refs == 0 and hold_links == 0 and ports_listening == 1' 20
vt_log "socat fork server: 28 connections served by forked children, $moved moved"

# 2. Clients under the shim that fork with a live connection; a Linux socat echo server.
vt_spawn_peer "$VT_TMP/linux-socat.out" socat TCP-LISTEN:7100,fork,reuseaddr EXEC:cat
vt_wait_listening_peer 7100
aborts0=$(vt_status_field slowpath.aborts_app)
taken0=$(vt_status_field slowpath.flows_taken)
timeout 120 "$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/fork_client.py" --host "$VT_PEER_IP" --port 7100 \
  >"$VT_TMP/fork-client.out" 2>&1 || vt_fail "fork client: $(tail -n 5 "$VT_TMP/fork-client.out")"
for c in fresh midway unread silent grand keep turns; do
  grep -qx "ok $c" "$VT_TMP/fork-client.out" || vt_fail "fork client case $c did not pass"
done
# Every connection ended with a FIN, the silent child's too (the daemon's, on the last close):
# none was reset.
vt_wait_status 'flows == 0 and held_refs == 0 and hold_links == 0' 20
[ "$(vt_status_field slowpath.aborts_app)" = "$aborts0" ] || vt_fail "a forked connection was reset, not closed"
# "keep" and "turns" work only if connections are taken from a process that still holds them.
taken=$(($(vt_status_field slowpath.flows_taken) - taken0))
[ "$taken" -ge 4 ] || vt_fail "only $taken connections taken from a holding process (keep and turns need 4 or more)"
vt_log "forking clients: $taken connections taken from a process still holding them"
vt_pass "fork(): socat's fork-per-connection server and forking Python clients, every byte checked"
