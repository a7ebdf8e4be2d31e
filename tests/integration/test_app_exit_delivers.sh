#!/usr/bin/env bash
# An app under the shim that exits without close() right after writing: like Linux, the stack
# still delivers every queued byte and then a FIN (not a RST) to the kernel client in the peer
# namespace, and the app's context is released once that connection is done.
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon

bytes=$((5 * 1024 * 1024))
vt_spawn_shim "$VT_TMP/server.out" python3 -c "
import hashlib, os, random, socket, sys
data = random.Random(7).randbytes($bytes)
ls = socket.socket()
ls.bind(('0.0.0.0', 7011))
ls.listen(1)
print('listening', flush=True)
c, _ = ls.accept()
c.sendall(data)
print('sent', hashlib.sha256(data).hexdigest(), flush=True)
os._exit(0)  # no close(), no shutdown(): the process just ends
"
server=$VT_LAST_PID
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$server"

ip netns exec "$VT_NS" python3 -c "
import hashlib, socket, sys
s = socket.create_connection(('$VT_IP', 7011), timeout=60)
h = hashlib.sha256()
n = 0
try:
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        h.update(b)
        n += len(b)
except OSError as e:
    sys.exit(f'after {n} bytes: {e!r} instead of EOF')
print(n, h.hexdigest())
if n != $bytes:
    sys.exit(f'received {n} bytes, expected $bytes')
s.close()
" >"$VT_TMP/client.out" 2>&1 || vt_fail "kernel client: $(cat "$VT_TMP/client.out")"

vt_wait_pid "$server" 20 || vt_fail "the server did not exit"
sent=$(awk '/^sent/ {print $2}' "$VT_TMP/server.out")
got=$(awk '{print $2}' "$VT_TMP/client.out")
[ -n "$sent" ] && [ "$sent" = "$got" ] || vt_fail "checksums differ: sent '$sent', received '$got'"

[ "$(vt_status_field slowpath.orphans_closed)" = 1 ] || vt_fail "orphans_closed is not 1"
[ "$(vt_status_field slowpath.aborts_app)" = 0 ] || vt_fail "the exiting app's connection was aborted"
# The client's FIN ends the orphan (TIME_WAIT record): then the context goes too.
vt_wait_status 'contexts == 0' 10  # the exited app's context detaches once its orphan closed
[ "$(vt_status_field flows)" = 0 ] || vt_fail "flows left after the orphan closed"

vt_pass "app exit without close delivers queued data, then EOF"
