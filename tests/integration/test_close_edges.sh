#!/usr/bin/env bash
# Closing against Linux: half-close both ways (shutdown(SHUT_WR), then keep reading until the
# peer's FIN: 2 MiB come back after our FIN), and SO_LINGER 0 on a stack socket, which Linux must
# see as a reset (ECONNRESET), with nothing left in the stack's tables afterwards.
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon

BYTES=$((2 * 1024 * 1024))

# Echoes everything, and only after the client's FIN sends the echo's tail and its own FIN.
ECHO='
import socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", int(sys.argv[1])))
ls.listen(4)
print("listening", flush=True)
c, _ = ls.accept()
buf = bytearray()
while True:
    b = c.recv(1 << 16)
    if not b:
        break
    buf += b
c.sendall(buf)  # all of it after the peer half-closed
c.shutdown(socket.SHUT_WR)
c.close()
print("served", len(buf), flush=True)
'
# Sends BYTES, half-closes at once, then reads the echo until EOF and checks it.
CLIENT='
import hashlib, random, socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = random.Random(5).randbytes(n)
s = socket.create_connection((host, port), timeout=60)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
h, got = hashlib.sha256(), 0
while True:
    b = s.recv(1 << 16)
    if not b:
        break
    h.update(b)
    got += len(b)
s.close()
if got != n or h.hexdigest() != hashlib.sha256(data).hexdigest():
    sys.exit("half-close: %d of %d bytes came back, or they differ" % (got, n))
print("ok", got, flush=True)
'

# Our stack half-closes: FIN_WAIT_2 while 2 MiB still arrive.
vt_spawn_peer "$VT_TMP/echo1.out" python3 -c "$ECHO" 9400
vt_wait_line "$VT_TMP/echo1.out" listening 20 "$VT_LAST_PID"
"$VT_BIN/virtuoso-run" -- python3 -c "$CLIENT" "$VT_PEER_IP" 9400 $BYTES >"$VT_TMP/client1.out" 2>&1 ||
  vt_fail "shim client half-close: $(tail -3 "$VT_TMP/client1.out")"

# Linux half-closes: the stack's side is in CLOSE_WAIT while it sends the 2 MiB.
vt_spawn_shim "$VT_TMP/echo2.out" python3 -c "$ECHO" 9401
echo2=$VT_LAST_PID
vt_wait_line "$VT_TMP/echo2.out" listening 20 "$echo2"
ip netns exec "$VT_NS" python3 -c "$CLIENT" "$VT_IP" 9401 $BYTES >"$VT_TMP/client2.out" 2>&1 ||
  vt_fail "Linux client half-close: $(tail -3 "$VT_TMP/client2.out")"
vt_wait_line "$VT_TMP/echo2.out" "served $BYTES" 20 "$echo2"
vt_log "half-close: $BYTES bytes after the FIN, both ways"

# SO_LINGER 0 under the shim: Linux sees a reset.
vt_spawn_peer "$VT_TMP/linger.out" python3 -c "
import socket, sys
ls = socket.socket()
ls.bind(('0.0.0.0', 9402))
ls.listen(1)
print('listening', flush=True)
c, _ = ls.accept()
c.settimeout(30)
try:
    b = c.recv(10)
    b += c.recv(10)  # the abort comes after the first bytes
    print('no reset, got', b, flush=True)
except ConnectionResetError:
    print('reset', flush=True)
"
linger_peer=$VT_LAST_PID
vt_wait_line "$VT_TMP/linger.out" listening 20 "$linger_peer"
"$VT_BIN/virtuoso-run" -- python3 -c "
import socket, struct
s = socket.create_connection(('$VT_PEER_IP', 9402), timeout=30)
s.sendall(b'hello')
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
s.close()
" >"$VT_TMP/linger-app.out" 2>&1 || vt_fail "linger app: $(cat "$VT_TMP/linger-app.out")"
vt_wait_pid "$linger_peer" 30 || vt_fail "the Linux peer never saw the connection end"
grep -q "^reset" "$VT_TMP/linger.out" || vt_fail "SO_LINGER 0: Linux saw $(cat "$VT_TMP/linger.out")"
[ "$(vt_status_field slowpath.aborts_app)" -ge 1 ] || vt_fail "aborts_app not counted"
vt_log "SO_LINGER 0: the Linux peer saw a reset"

# Nothing left: the flows and slots of all three went away (TIME_WAIT aside).
vt_wait_status 'flows == 0 and slots_in_use == 0' 5
vt_pass "half-close both ways, SO_LINGER 0 seen by Linux as a reset"
