#!/usr/bin/env bash
# Runs real programs under the shim against shim-loopback-daemon (no DPDK, no network: the
# daemon pairs its own apps' connections), or against a running virtuosod.
#   run.sh BUILD_DIR                     with bin/ and lib/ in it; starts the loopback daemon
#   run.sh BUILD_DIR RUN_DIR STACK_IP    uses the daemon of RUN_DIR (skips the daemon-exit check)
set -uo pipefail
BUILD=${1:?usage: run.sh BUILD_DIR [RUN_DIR STACK_IP]}
EXTERNAL_RUN_DIR=${2:-}
export SHIM_CHECK_HOST=${3:-127.0.0.1}
HOST=$SHIM_CHECK_HOST
BIN=$(cd "$BUILD/bin" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d /tmp/shim-checks-XXXXXX)
RUN_DIR=${EXTERNAL_RUN_DIR:-$DIR}
DAEMON_PID=""
PIDS=()  # programs started in the background, killed by id at the end
cleanup() {
  for pid in "${PIDS[@]}" $DAEMON_PID; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  rm -rf "$DIR"
}
trap cleanup EXIT
start_daemon() {
  [ -n "$EXTERNAL_RUN_DIR" ] && return 0
  "$BIN/shim-loopback-daemon" --run-dir "$DIR" >"$DIR/daemon.log" 2>&1 &
  DAEMON_PID=$!
  for _ in $(seq 50); do [ -S "$DIR/app.sock" ] && return 0; sleep 0.1; done
  echo "shim-loopback-daemon did not start"; cat "$DIR/daemon.log"; exit 1
}
RUN=("$BIN/virtuoso-run" --run-dir "$RUN_DIR" --)
failures=0
check() {  # check NAME EXPECTED-OUTPUT-REGEX COMMAND...
  local name=$1 want=$2; shift 2
  local out
  out=$(timeout 30 "$@" 2>&1)
  if grep -Eq "$want" <<<"$out"; then echo "PASS $name"; else
    echo "FAIL $name"; sed 's/^/     /' <<<"$out"; failures=$((failures + 1)); fi
}

start_daemon
check "pass-through: ls, AF_UNIX and UDP untouched" "^unix ok udp ok$" \
  "${RUN[@]}" python3 -c '
import socket
a, b = socket.socketpair(); a.send(b"x"); u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0)); u.sendto(b"y", u.getsockname())
print("unix ok" if b.recv(1) == b"x" else "unix bad", "udp ok" if u.recv(1) == b"y" else "udp bad")'
check "threaded echo, 1 MB through 64 KiB rings" "^echoed ok$" "${RUN[@]}" python3 "$HERE/threaded_echo.py"
check "fork: child closes inherited listener, parent keeps it" "parent still listens: b'again'" \
  "${RUN[@]}" python3 "$HERE/fork_listener.py"
head -c 300000 /dev/urandom >"$DIR/rnd.bin"
"${RUN[@]}" nc -l 0.0.0.0 29100 >"$DIR/nc.out" 2>&1 &
PIDS+=($!)
sleep 0.5
"${RUN[@]}" nc -N "$HOST" 29100 <"$DIR/rnd.bin"
sleep 0.5
check "netcat: 300 kB across processes, EOF by shutdown" "^same$" \
  sh -c "cmp -s '$DIR/rnd.bin' '$DIR/nc.out' && echo same || echo different"
echo "hello from the shim" >"$DIR/index.html"
"${RUN[@]}" python3 -m http.server 28000 --bind 0.0.0.0 --directory "$DIR" >"$DIR/http.log" 2>&1 &
PIDS+=($!)
sleep 1
if command -v curl >/dev/null; then
  check "curl -> python http.server" "hello from the shim" "${RUN[@]}" curl -sS "http://$HOST:28000/index.html"
fi
if command -v memcached >/dev/null; then
  "${RUN[@]}" memcached -u root -l 0.0.0.0 -p 21211 -t 2 >"$DIR/mc.log" 2>&1 &
  PIDS+=($!)
  sleep 0.5
  check "memcached (libevent, epoll, 2 threads): set/get 500 kB" "^ok$" "${RUN[@]}" python3 -c '
import socket, os
s = socket.create_connection((os.environ["SHIM_CHECK_HOST"], 21211), timeout=5)
big = b"v" * 500000
s.sendall(b"set big 0 0 %d\r\n" % len(big) + big + b"\r\n"); assert s.recv(100) == b"STORED\r\n"
s.sendall(b"get big\r\n"); got = b""
while not got.endswith(b"END\r\n"): got += s.recv(1 << 20)
print("ok" if big in got else "bad")'
fi
if [ -z "$EXTERNAL_RUN_DIR" ]; then
  "${RUN[@]}" python3 "$HERE/daemon_dies.py" >"$DIR/dies.out" 2>&1 &
  PIDS+=($!)
  sleep 1
  kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=""
  sleep 1
  check "daemon exit: blocked recv fails, new socket refused" "Address family not supported" \
    cat "$DIR/dies.out"
fi
RUN=("$BIN/virtuoso-run" --run-dir "$DIR/none" --)
check "no daemon: one clear line, EAFNOSUPPORT" "no Virtuoso daemon at $DIR/none/app.sock" \
  "${RUN[@]}" python3 -c 'import socket
try: socket.socket()
except OSError as e: print(e)'
check "virtuoso-run: missing command exits 127" "^127$" \
  sh -c "'$BIN/virtuoso-run' -- no-such-command-xyz 2>/dev/null; echo \$?"
[ "$failures" -eq 0 ] && echo "all shim checks passed" || { echo "$failures shim check(s) failed"; exit 1; }
