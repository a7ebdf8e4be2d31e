#!/usr/bin/env bash
# Many concurrent bulk downloads from servers under the shim that send with sendfile(2) and wait
# for writability in epoll, with both cores loaded: Debian's nginx (4 workers, edge-triggered)
# and a Python asyncio server (level-triggered). Every download must arrive intact and no
# connection may stall: an EPOLLOUT edge the shim lost left nginx waiting until send_timeout.
source "$(dirname "$0")/lib.sh"
for prog in nginx curl; do
  command -v "$prog" >/dev/null || { echo "$prog not installed (scripts/install-deps.sh)" >&2; exit 77; }
done
vt_init
vt_start_daemon

WORKERS=4
ROUNDS=${VT_ROUNDS:-8}
NGINX_CLIENTS=12
PY_CLIENTS=4
SIZE=$((12 * 1024 * 1024))
mkdir -p "$VT_TMP/www" "$VT_TMP/nginx"
head -c "$SIZE" /dev/urandom >"$VT_TMP/www/big.bin"
WANT=$(sha256sum <"$VT_TMP/www/big.bin")
# A stalled connection fails its download after send_timeout: well inside the clients' bound.
cat >"$VT_TMP/nginx.conf" <<CONF
worker_processes $WORKERS;
user root;
daemon off;
master_process on;
pid $VT_TMP/nginx/nginx.pid;
error_log $VT_TMP/nginx/error.log info;
events { worker_connections 512; }
http {
  sendfile on;
  send_timeout 10s;
$(vt_nginx_temp_paths)
  server { listen 8080; root $VT_TMP/www; access_log off; }
}
CONF
vt_start_nginx "$VT_TMP/nginx.conf" "$WORKERS"
vt_spawn_shim "$VT_TMP/pyserver.out" python3 "$VT_PEERS/sendfile_server.py" "$VT_TMP/www" 8081
vt_wait_line "$VT_TMP/pyserver.out" listening 30 "$VT_LAST_PID"

peer() { ip netns exec "$VT_NS" "$@"; }
deadline=$((SECONDS + 30))
until [ "$(peer curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://$VT_IP:8080/big.bin" 2>/dev/null)" = 200 ]; do
  [ $SECONDS -ge $deadline ] && vt_fail "nginx did not answer"
  sleep 0.1
done

# Both cores busy at the lowest priority: the stack, the servers and the clients all get
# preempted at odd moments, as on a loaded host.
for cpu in 0 1; do
  nice -n 19 taskset -c "$cpu" sh -c 'while :; do :; done' &
  VT_PIDS+=($!)
done

# Downloads $2 files at once with command $3..., each into $1.N; prints the first error or change
# and returns 1 (it may run in the background: vt_fail is the caller's to call).
download_all() {
  local tag=$1 n=$2 i rc=0 pids=() deadline=$((SECONDS + 90)) left
  shift 2
  for i in $(seq "$n"); do
    "$@" "$VT_TMP/$tag.$i" 2>"$VT_TMP/$tag.err.$i" &
    pids+=($!)
  done
  for i in $(seq "$n"); do
    # Each download is bounded (timeout 60); a wait past that is a hang to diagnose, not to sit
    # out until CTest kills the test (and its cleanup with it).
    left=$((deadline - SECONDS))
    if ! vt_wait_pid "${pids[$((i - 1))]}" $((left > 1 ? left : 1)); then
      [ $rc = 0 ] && echo "download $i of $n still running 90 s after the start: $(vt_process_dump)"
      rc=1
    elif [ "$VT_WAIT_STATUS" != 0 ]; then
      [ $rc = 0 ] && echo "download $i of $n: $(cat "$VT_TMP/$tag.err.$i")"
      rc=1
    elif [ "$(sha256sum <"$VT_TMP/$tag.$i")" != "$WANT" ]; then
      [ $rc = 0 ] && echo "download $i arrived changed ($(stat -c %s "$VT_TMP/$tag.$i") of $SIZE bytes)"
      rc=1
    fi
    rm -f "$VT_TMP/$tag.$i"
  done
  return $rc
}
from_nginx() { peer timeout 60 curl -sS --fail --max-time 50 -o "$1" "http://$VT_IP:8080/big.bin"; }
from_python() {
  peer timeout 60 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 8081), timeout=50)
s.sendall(b"GET big.bin\n")
with open(sys.argv[2], "wb") as f:
    while chunk := s.recv(1 << 20):
        f.write(chunk)' "$VT_IP" "$1"
}

for round in $(seq "$ROUNDS"); do
  download_all nginx "$NGINX_CLIENTS" from_nginx >"$VT_TMP/nginx.result" &
  nginx_round=$!
  download_all python "$PY_CLIENTS" from_python >"$VT_TMP/python.result" ||
    vt_fail "round $round, asyncio sendfile server: $(cat "$VT_TMP/python.result")"
  wait "$nginx_round" || vt_fail "round $round, nginx: $(cat "$VT_TMP/nginx.result")"
  vt_log "round $round: $NGINX_CLIENTS downloads from nginx and $PY_CLIENTS from the asyncio server intact"
done
grep -q "timed out" "$VT_TMP/nginx/error.log" && vt_fail "nginx: $(grep "timed out" "$VT_TMP/nginx/error.log" | head -n 3)"
vt_pass "$ROUNDS rounds of $((NGINX_CLIENTS + PY_CLIENTS)) concurrent 12 MiB downloads under load, all intact"
