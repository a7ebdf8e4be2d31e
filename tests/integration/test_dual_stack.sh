#!/usr/bin/env bash
# Servers that listen on [::] (AF_INET6, IPV6_V6ONLY off, Linux's default) run on the stack: a
# Linux IPv4 client in the peer namespace reaches them at the stack's address, and they see it as
# ::ffff:a.b.c.d, as on Linux. Checked with a Python dual-stack echo server (sha256 both ways),
# nginx with `listen [::]:8080 ipv6only=off`, a dual-stack client connecting out to a v4-mapped
# address, and redis with `bind * -::*`, whose IPV6_V6ONLY socket goes to the kernel with one line
# saying so while its IPv4 socket serves through the stack.
source "$(dirname "$0")/lib.sh"
for prog in nginx curl redis-server redis-cli; do
  command -v "$prog" >/dev/null || { echo "$prog not installed (scripts/install-deps.sh)" >&2; exit 77; }
done
vt_init
vt_start_daemon
peer() { ip netns exec "$VT_NS" timeout 120 "$@"; }
opens() { vt_status_field slowpath.passive_opens; }

# A dual-stack echo server: reports each client's address as accept() and getpeername() give it.
cat >"$VT_TMP/echo6.py" <<'PY'
import socket, sys, threading
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
assert s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 0
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 9000))
s.listen(16)
print("listening", s.getsockname()[0], flush=True)
def serve(c, addr):
    print("client", addr[0], c.getpeername()[0], c.getsockname()[0], c.family == socket.AF_INET6, flush=True)
    while True:
        b = c.recv(65536)
        if not b:
            break
        c.sendall(b)
    c.close()
while True:
    c, addr = s.accept()
    threading.Thread(target=serve, args=(c, addr), daemon=True).start()
PY
vt_spawn_shim "$VT_TMP/echo6.out" python3 "$VT_TMP/echo6.py"
vt_wait_line "$VT_TMP/echo6.out" "listening ::" 20 "$VT_LAST_PID"
before=$(opens)
peer python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port 9000 --bytes $((8 * 1024 * 1024)) \
  --roundtrips 100 --timeout 100 >"$VT_TMP/client.out" 2>&1 || vt_fail "IPv4 client of [::]:9000: $(cat "$VT_TMP/client.out")"
vt_check_client_result "$VT_TMP/client.out"
[ "$(opens)" -gt "$before" ] || vt_fail "the connection did not go through the stack"
vt_wait_line "$VT_TMP/echo6.out" "client ::ffff:$VT_PEER_IP ::ffff:$VT_PEER_IP ::ffff:$VT_IP True" 10

# nginx on [::]:8080 with ipv6only=off.
mkdir -p "$VT_TMP/www" "$VT_TMP/nginx"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$VT_TMP/www/file.bin"
cat >"$VT_TMP/nginx.conf" <<CONF
worker_processes 2;
user root;
daemon off;
master_process on;
pid $VT_TMP/nginx/nginx.pid;
error_log $VT_TMP/nginx/error.log info;
events { worker_connections 128; }
http {
  sendfile on;
$(vt_nginx_temp_paths)
  server {
    listen [::]:8080 ipv6only=off;
    root $VT_TMP/www;
    access_log off;
  }
}
CONF
vt_start_nginx "$VT_TMP/nginx.conf" 2
before=$(opens)
deadline=$((SECONDS + 30))
until peer curl -sS --fail --max-time 20 -o "$VT_TMP/got.bin" "http://$VT_IP:8080/file.bin" 2>/dev/null; do
  [ $SECONDS -ge $deadline ] && vt_fail "curl of nginx on [::]:8080 did not answer"
  sleep 0.1
done
[ "$(sha256sum <"$VT_TMP/got.bin")" = "$(sha256sum <"$VT_TMP/www/file.bin")" ] || vt_fail "nginx's file arrived changed"
[ "$(opens)" -gt "$before" ] || vt_fail "nginx's connection did not go through the stack"

# A dual-stack client: connect() to a v4-mapped address goes through the stack.
vt_spawn_peer "$VT_TMP/kserver.out" python3 "$VT_PEERS/echo_server.py" --port 9100
vt_wait_line "$VT_TMP/kserver.out" "listening" 20 "$VT_LAST_PID"
"$VT_BIN/virtuoso-run" -- python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(('::ffff:$VT_PEER_IP', 9100))
s.sendall(b'mapped')
assert s.recv(10) == b'mapped'
peer, local = s.getpeername()[0], s.getsockname()[0]
if peer != '::ffff:$VT_PEER_IP' or local != '::ffff:$VT_IP':
    sys.exit(f'addresses {local} -> {peer}')
try:
    socket.socket(socket.AF_INET6).connect(('2001:db8::1', 80))
except OSError as e:
    import errno
    sys.exit(0 if e.errno == errno.ENETUNREACH else f'connect to an IPv6 address: {e}')
sys.exit('connect to an IPv6 address succeeded')
" >"$VT_TMP/client6.out" 2>&1 || vt_fail "dual-stack client: $(cat "$VT_TMP/client6.out")"

# redis 'bind * -::*': IPv4 through the stack; its IPV6_V6ONLY socket is the kernel's, said once.
vt_spawn_shim "$VT_TMP/redis.out" redis-server --port 6379 --bind '* -::*' --protected-mode no \
  --save '' --appendonly no --daemonize no --dir "$VT_TMP"
vt_wait_line "$VT_TMP/redis.out" "Ready to accept connections" 30 "$VT_LAST_PID"
grep -q "IPV6_V6ONLY.*handed to the kernel" "$VT_TMP/redis.out" || vt_fail "no line about redis's IPv6-only socket"
before=$(opens)
[ "$(peer redis-cli -h "$VT_IP" set k dual)" = OK ] || vt_fail "redis-cli set over IPv4"
[ "$(peer redis-cli -h "$VT_IP" get k)" = dual ] || vt_fail "redis-cli get over IPv4"
[ "$(opens)" -gt "$before" ] || vt_fail "redis's IPv4 connections did not go through the stack"

vt_pass "dual-stack servers and clients on the stack"
