#!/usr/bin/env bash
# Debian's nginx under the shim with a master and 4 pre-forked workers sharing the listener;
# curl and wrk from the Linux peer: a 100 MiB static file downloaded intact, many small requests,
# and the connections spread over more than one worker.
source "$(dirname "$0")/lib.sh"
for prog in nginx wrk curl; do
  command -v "$prog" >/dev/null || { echo "$prog not installed (scripts/install-deps.sh)" >&2; exit 77; }
done
vt_init
vt_start_daemon

WORKERS=4
mkdir -p "$VT_TMP/www" "$VT_TMP/nginx"
head -c $((100 * 1024 * 1024)) /dev/urandom >"$VT_TMP/www/big.bin"
echo "virtuoso" >"$VT_TMP/www/index.html"
# Workers stay root: they attach to the daemon's app.sock, which only root may reach here.
cat >"$VT_TMP/nginx.conf" <<CONF
worker_processes $WORKERS;
user root;
daemon off;
master_process on;
pid $VT_TMP/nginx/nginx.pid;
error_log $VT_TMP/nginx/error.log info;
events { worker_connections 512; }
http {
  log_format plain '\$pid \$status \$body_bytes_sent';
  sendfile on;
  keepalive_requests 100000;
$(vt_nginx_temp_paths)
  server {
    listen 8080;
    root $VT_TMP/www;
    access_log $VT_TMP/nginx/access.log plain;
  }
}
CONF
vt_start_nginx "$VT_TMP/nginx.conf" "$WORKERS"
MASTER=$VT_NGINX_MASTER

peer() { ip netns exec "$VT_NS" timeout 120 "$@"; }
# The first request also waits until a worker has joined the listener.
deadline=$((SECONDS + 30))
until [ "$(peer curl -sS --max-time 5 "http://$VT_IP:8080/index.html" 2>/dev/null)" = virtuoso ]; do
  [ $SECONDS -ge $deadline ] && vt_fail "curl of index.html did not answer"
  sleep 0.1
done

peer curl -sS --fail --max-time 120 -o "$VT_TMP/got.bin" "http://$VT_IP:8080/big.bin" ||
  vt_fail "curl of the 100 MiB file failed"
[ "$(sha256sum <"$VT_TMP/got.bin")" = "$(sha256sum <"$VT_TMP/www/big.bin")" ] ||
  vt_fail "the 100 MiB file arrived changed ($(stat -c %s "$VT_TMP/got.bin") bytes)"
rm -f "$VT_TMP/got.bin"

peer wrk -t 2 -c 32 -d 5s "http://$VT_IP:8080/index.html" >"$VT_TMP/wrk.out" 2>&1 || vt_fail "wrk: $(cat "$VT_TMP/wrk.out")"
grep -q "Non-2xx\|Socket errors" "$VT_TMP/wrk.out" && vt_fail "wrk saw errors: $(cat "$VT_TMP/wrk.out")"
rate=$(awk '/Requests\/sec/ {print int($2)}' "$VT_TMP/wrk.out")
[ "${rate:-0}" -gt 0 ] || vt_fail "wrk made no requests: $(cat "$VT_TMP/wrk.out")"
vt_log "wrk: $rate requests/s"

# Every request was answered 200 by a worker, and more than one worker served them.
bad=$(awk '$2 != 200' "$VT_TMP/nginx/access.log" | wc -l)
[ "$bad" = 0 ] || vt_fail "$bad requests were not answered 200"
served_by=$(awk '{print $1}' "$VT_TMP/nginx/access.log" | sort -u | wc -l)
[ "$served_by" -ge 2 ] || vt_fail "only $served_by worker served requests"
vt_log "requests served by $served_by of $WORKERS workers"
grep -q "\[alert\]\|\[emerg\]\|\[crit\]" "$VT_TMP/nginx/error.log" &&
  vt_fail "nginx reported: $(grep "\[alert\]\|\[emerg\]\|\[crit\]" "$VT_TMP/nginx/error.log" | head -n 3)"
kill -0 "$MASTER" || vt_fail "nginx exited"
vt_pass "nginx with $WORKERS workers under the shim: 100 MiB intact, wrk $rate requests/s"
