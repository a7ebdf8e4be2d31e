#!/usr/bin/env bash
# Debian's redis-server under the shim, Debian's redis-benchmark and redis-cli from the Linux peer:
# SET/GET/LPUSH/LPOP load from 20 connections, then a 1 MiB random value stored and read back intact.
source "$(dirname "$0")/lib.sh"
for prog in redis-server redis-benchmark redis-cli; do
  command -v "$prog" >/dev/null || { echo "$prog not installed (scripts/install-deps.sh)" >&2; exit 77; }
done
vt_init
vt_start_daemon

vt_spawn_shim "$VT_TMP/redis.out" redis-server --port 6379 --bind 0.0.0.0 --protected-mode no \
  --save '' --appendonly no --daemonize no --dir "$VT_TMP"
REDIS=$VT_LAST_PID
vt_wait_line "$VT_TMP/redis.out" "Ready to accept connections" 30 "$REDIS"
peer() { ip netns exec "$VT_NS" timeout 120 "$@"; }

[ "$(peer redis-cli -h "$VT_IP" ping)" = PONG ] || vt_fail "redis-cli ping did not answer PONG"

peer redis-benchmark -h "$VT_IP" -p 6379 -n 20000 -c 20 -t set,get,lpush,lpop --csv \
  >"$VT_TMP/bench.csv" 2>"$VT_TMP/bench.err" || vt_fail "redis-benchmark: $(tail -n 3 "$VT_TMP/bench.err")"
python3 - "$VT_TMP/bench.csv" <<'PY' || vt_fail "redis-benchmark results: $(cat "$VT_TMP/bench.csv")"
import csv, sys
rows = {r[0]: float(r[1]) for r in csv.reader(open(sys.argv[1])) if r and r[0] != "test"}
want = {"SET", "GET", "LPUSH", "LPOP"}
missing = want - {k.split()[0] for k in rows}
if missing or any(v <= 0 for v in rows.values()):
    sys.exit(f"missing tests {sorted(missing)} or a zero rate: {rows}")
print("redis-benchmark:", ", ".join(f"{k} {v:.0f}/s" for k, v in rows.items()))
PY

# The 1 MiB value: random bytes through redis-cli -x (stdin as the last argument) and back.
head -c $((1024 * 1024)) /dev/urandom >"$VT_TMP/value.bin"
[ "$(peer redis-cli -h "$VT_IP" -x set big <"$VT_TMP/value.bin")" = OK ] || vt_fail "SET of 1 MiB failed"
[ "$(peer redis-cli -h "$VT_IP" strlen big)" = 1048576 ] || vt_fail "STRLEN is not 1048576"
peer redis-cli -h "$VT_IP" --raw get big >"$VT_TMP/got.bin" || vt_fail "GET of 1 MiB failed"
# --raw ends the value with a newline of its own.
head -c $((1024 * 1024)) "$VT_TMP/got.bin" >"$VT_TMP/got.trim"
[ "$(stat -c %s "$VT_TMP/got.bin")" = $((1024 * 1024 + 1)) ] || vt_fail "GET returned $(stat -c %s "$VT_TMP/got.bin") bytes"
[ "$(sha256sum <"$VT_TMP/got.trim")" = "$(sha256sum <"$VT_TMP/value.bin")" ] || vt_fail "the 1 MiB value came back changed"

kill -0 "$REDIS" || vt_fail "redis-server exited"
vt_pass "redis-server under the shim: redis-benchmark and a 1 MiB value intact"
