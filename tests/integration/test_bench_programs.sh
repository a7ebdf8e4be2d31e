#!/usr/bin/env bash
# The bundled benchmark programs are correct on both stacks: every echoed byte checked, every kv value
# read back equal to what was set; on Linux TCP over loopback and through Virtuoso (apps under the shim).
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon
B=$VT_BIN

check_all() {  # check_all LABEL HOST ECHO_PORT KV_PORT WRAPPER...
  local label=$1 host=$2 eport=$3 kport=$4
  shift 4
  local w=("$@")
  "${w[@]}" "$B/echo-client" --host "$host" --port "$eport" --connections 16 --pipeline 4 --size 300 \
    --requests 500 --verify --quiet --json "$VT_TMP/echo.$label.json" >"$VT_TMP/echo.$label.out" 2>&1 ||
    vt_fail "$label echo --verify: $(tail -3 "$VT_TMP/echo.$label.out")"
  "${w[@]}" "$B/echo-client" --host "$host" --port "$eport" --connections 4 --bulk 20000000 --quiet \
    >"$VT_TMP/bulk.$label.out" 2>&1 || vt_fail "$label echo --bulk: $(tail -3 "$VT_TMP/bulk.$label.out")"
  "${w[@]}" "$B/echo-client" --host "$host" --port "$eport" --connections 4 --connect-per-request \
    --requests 100 --verify --quiet >"$VT_TMP/cpr.$label.out" 2>&1 ||
    vt_fail "$label connect-per-request: $(tail -3 "$VT_TMP/cpr.$label.out")"
  "${w[@]}" "$B/kv-client" --host "$host" --port "$kport" --connections 8 --keys 2000 --size 1000 \
    --get-ratio 0.7 --preload --verify --requests 500 --pipeline 4 --quiet \
    --json "$VT_TMP/kv.$label.json" >"$VT_TMP/kv.$label.out" 2>&1 ||
    vt_fail "$label kv --verify: $(tail -3 "$VT_TMP/kv.$label.out")"
  python3 - "$VT_TMP/echo.$label.json" "$VT_TMP/kv.$label.json" <<'PY' || vt_fail "$label: results"
import json, sys
e, k = (json.load(open(f)) for f in sys.argv[1:3])
assert e["errors"]["total"] == 0 and e["requests"] == 16 * 500, e
assert k["errors"] == 0 and k["requests"] == 8 * 500, k
PY
  vt_log "$label: echo, bulk, connect-per-request and kv verified"
}

"$B/echo-server" --port 7201 >"$VT_TMP/linux-echo.out" 2>&1 &
VT_PIDS+=($!)
vt_wait_line "$VT_TMP/linux-echo.out" listening 20 $!
"$B/kv-server" --port 11301 >"$VT_TMP/linux-kv.out" 2>&1 &
VT_PIDS+=($!)
vt_wait_line "$VT_TMP/linux-kv.out" listening 20 $!
check_all linux 127.0.0.1 7201 11301 env

vt_spawn_shim "$VT_TMP/shim-echo.out" "$B/echo-server" --port 7007 --threads 2
vt_wait_line "$VT_TMP/shim-echo.out" listening 20 "$VT_LAST_PID"
vt_spawn_shim "$VT_TMP/shim-kv.out" "$B/kv-server" --port 11211 --threads 2
vt_wait_line "$VT_TMP/shim-kv.out" listening 20 "$VT_LAST_PID"
check_all virtuoso "$VT_IP" 7007 11211 "$B/virtuoso-run" --

# A Linux kernel client in the peer namespace against the kv-server under the shim.
ip netns exec "$VT_NS" "$B/kv-client" --host "$VT_IP" --port 11211 --connections 4 --keys 500 \
  --preload --verify --requests 300 --quiet >"$VT_TMP/kv.peer.out" 2>&1 ||
  vt_fail "kernel kv-client: $(tail -3 "$VT_TMP/kv.peer.out")"
vt_pass "benchmark programs on both stacks"
