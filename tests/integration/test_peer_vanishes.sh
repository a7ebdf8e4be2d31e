#!/usr/bin/env bash
# A Linux peer that goes away under an app's connection: (a) its address disappears while the
# app has data in flight -> ETIMEDOUT within the retry bound, and the flow is released; (b) the
# peer process is killed with SO_LINGER 0, so Linux sends a RST -> ECONNRESET at once; (c) an
# idle connection with SO_KEEPALIVE and small TCP_KEEP* values whose peer disappears -> the
# probes find out, ETIMEDOUT within idle + count * interval.
source "$(dirname "$0")/lib.sh"
vt_init
# Small retry settings: RTO from 100 ms doubling to 400 ms, 5 retries -> given up in about 2 s.
VT_EXTRA_CONFIG="[tcp]
initial_rto_ms = 200
min_rto_ms = 100
max_rto_ms = 400
max_retries = 5"
vt_start_daemon

RETRY_BOUND_S=10     # 100+200+400+400+400+400 ms of back-off, with a wide margin
KEEPALIVE_BOUND_S=9  # idle 1 s + 3 probes * 1 s, plus the last probe ACK's age, with a margin

# A Linux sink in the peer namespace: reads every connection until it ends.
vt_spawn_peer "$VT_TMP/sink.out" python3 -c "
import socket, threading
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('0.0.0.0', 9200))
ls.listen(16)
print('listening', flush=True)
def drain(c):
    try:
        while c.recv(1 << 16):
            pass
    except OSError:
        pass
while True:
    c, _ = ls.accept()
    threading.Thread(target=drain, args=(c,), daemon=True).start()
"
vt_wait_line "$VT_TMP/sink.out" "listening" 20 "$VT_LAST_PID"

# The app under the shim: connects, says hello, waits for "go" on a FIFO, then either sends
# until the stack fails the connection (inflight) or waits in recv() (idle); prints
# "result ERRNO SECONDS" and keeps the socket open until "exit", so status can be read meanwhile.
APP='
import errno, socket, sys, time
mode, host, port, fifo = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.create_connection((host, port), timeout=30)
s.settimeout(None)
if mode == "keepalive":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
s.sendall(b"hello")
print("connected", flush=True)
ctl = open(fifo)
ctl.readline()
t0 = time.monotonic()
try:
    if mode == "inflight":
        while True:
            s.send(b"x" * 65536)
    while True:
        if not s.recv(65536):
            print("result EOF %.3f" % (time.monotonic() - t0), flush=True)
            break
except OSError as e:
    print("result %s %.3f" % (errno.errorcode.get(e.errno, e.errno), time.monotonic() - t0), flush=True)
ctl.readline()
'

# Starts the app in mode $1 against port $2; sets APP_PID and opens CTL (the FIFO's write end).
start_app() {
  rm -f "$VT_TMP/ctl.fifo"
  mkfifo "$VT_TMP/ctl.fifo"
  vt_spawn_shim "$VT_TMP/app-$1.out" python3 -c "$APP" "$1" "$VT_PEER_IP" "$2" "$VT_TMP/ctl.fifo"
  APP_PID=$VT_LAST_PID
  vt_wait_line "$VT_TMP/app-$1.out" "connected" 20 "$APP_PID"
  exec {CTL}<>"$VT_TMP/ctl.fifo"  # read-write: never blocks, even if the app died before opening it
}

# Waits for the app's result line (bounded) and checks its errno and that it came within $2 s.
expect_result() {
  local out=$VT_TMP/app-$1.out
  vt_wait_line "$out" "^result" "$(($2 + 10))" "$APP_PID"
  read -r _ err secs < <(grep "^result" "$out")
  [ "$err" = "$3" ] || vt_fail "$1: the app saw $err, expected $3"
  python3 -c "import sys; sys.exit(0 if $secs <= $2 else 1)" || vt_fail "$1: $3 after $secs s, bound $2 s"
  vt_log "$1: $err after $secs s (bound $2 s)"
}

# Releases the app (it closes its socket and exits) and waits for it.
finish_app() {
  echo exit >&"$CTL"
  exec {CTL}>&-
  vt_wait_pid "$APP_PID" 20 || vt_fail "the app did not exit"
}

vanish() { ip -n "$VT_NS" addr del "$VT_PEER_IP/24" dev "$VT_TAP"; }
reappear() { ip -n "$VT_NS" addr add "$VT_PEER_IP/24" dev "$VT_TAP"; }

# (a) Data in flight, then nothing answers.
start_app inflight 9200
[ "$(vt_status_field flows)" = 1 ] || vt_fail "(a) expected one flow while connected"
vanish
echo go >&"$CTL"
expect_result inflight "$RETRY_BOUND_S" ETIMEDOUT
vt_wait_status 'flows == 0' 10  # released while the app still holds its socket
[ "$(vt_status_field slowpath.aborts_timeout)" -ge 1 ] || vt_fail "(a) aborts_timeout not counted"
finish_app
reappear
vt_wait_status 'slots_in_use == 0' 10

# (b) The peer process dies with SO_LINGER 0: Linux resets the connection.
vt_spawn_peer "$VT_TMP/rst.out" python3 -c "
import socket, struct, time
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('0.0.0.0', 9201))
ls.listen(1)
print('listening', flush=True)
c, _ = ls.accept()
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
c.recv(5)
print('accepted', flush=True)
time.sleep(3600)
"
rst_peer=$VT_LAST_PID
vt_wait_line "$VT_TMP/rst.out" "listening" 20 "$rst_peer"
start_app idle 9201
vt_wait_line "$VT_TMP/rst.out" "accepted" 20 "$rst_peer"
echo go >&"$CTL"
{ kill -KILL "$rst_peer" && wait "$rst_peer"; } 2>/dev/null || true  # quiet: the death is the point
expect_result idle 2 ECONNRESET
vt_wait_status 'flows == 0' 10
[ "$(vt_status_field slowpath.rsts_received)" -ge 1 ] || vt_fail "(b) rsts_received not counted"
finish_app

# (c) Keepalive on an idle connection: probes answered while the peer is there...
start_app keepalive 9200
vt_wait_status 'slowpath["keepalive_probes"] >= 2' 5  # (c) probes while idle
[ "$(vt_status_field flows)" = 1 ] || vt_fail "(c) answered probes did not keep the connection"
# ... then not any more.
vanish
echo go >&"$CTL"
expect_result keepalive "$KEEPALIVE_BOUND_S" ETIMEDOUT
[ "$(vt_status_field slowpath.keepalive_timeouts)" = 1 ] || vt_fail "(c) keepalive_timeouts is not 1"
vt_wait_status 'flows == 0' 10
finish_app
reappear

vt_wait_status 'slots_in_use == 0' 10
vt_wait_status 'ports_in_use == 0' 10
vt_pass "vanished peers: ETIMEDOUT by retransmission and by keepalive, ECONNRESET by RST; flows released"
