#!/usr/bin/env bash
# Interoperability check on loopback: kv-server with kv-client, Python and libmemcached tools;
# kv-client against a real memcached. Usage: kv_interop.sh [BIN_DIR]   (default: build/bin)
set -uo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
BIN="${1:-$HERE/../../../build/bin}"
KV_SERVER="$BIN/kv-server"
KV_CLIENT="$BIN/kv-client"
CHECK="$HERE/kv_protocol_check.py"
WORK="$(mktemp -d)"
PIDS=()
passed=0
failed=0
skipped=0

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

for exe in "$KV_SERVER" "$KV_CLIENT"; do
  [[ -x "$exe" ]] || { echo "kv_interop: $exe not found: build the kv-server and kv-client targets, or pass the bin directory"; exit 2; }
done

ok() { echo "PASS $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
skip() { echo "SKIP $1"; skipped=$((skipped + 1)); }
run() {  # run NAME COMMAND...: passes when the command exits 0
  local name="$1"; shift
  if "$@" > "$WORK/$name.log" 2>&1; then ok "$name"; else bad "$name (log below)"; tail -5 "$WORK/$name.log"; fi
}
run_fails() {  # run_fails NAME COMMAND...: passes when the command exits non-zero
  local name="$1"; shift
  if "$@" > "$WORK/$name.log" 2>&1; then bad "$name (expected a failure)"; else ok "$name"; fi
}

free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    ss -Hltn "sport = :$port" | grep -q . || { echo "$port"; return; }
  done
  echo 0
}

# start_kv NAME ARGS...: starts kv-server on a free port, sets PORT, waits for its banner.
start_kv() {
  local name="$1"; shift
  PORT="$(free_port)"
  "$KV_SERVER" --bind 127.0.0.1 --port "$PORT" "$@" > "$WORK/$name.out" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 100); do
    grep -qs "listening on" "$WORK/$name.out" && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$WORK/$name.out"
  return 1
}

# --- kv-server ---------------------------------------------------------------------------------
if start_kv server --threads 2; then ok "kv-server starts (port $PORT)"; else bad "kv-server starts"; fi
KV_PORT=$PORT
KV_PID=$SERVER_PID

run protocol-check-kv python3 "$CHECK" --port "$KV_PORT"
run client-verify-closed "$KV_CLIENT" --port "$KV_PORT" --preload --verify --connections 4 \
  --threads 2 --pipeline 8 --duration 2 --quiet --dist zipf
run client-verify-open "$KV_CLIENT" --port "$KV_PORT" --verify --connections 4 --rate 5000 \
  --duration 2 --quiet
run client-verify-1mib "$KV_CLIENT" --port "$KV_PORT" --verify --preload --size 1048576 --keys 20 \
  --key-size 4 --connections 2 --pipeline 2 --requests 50 --quiet

if command -v memccp > /dev/null; then
  echo "interop payload $RANDOM" > "$WORK/payload.txt"
  run memccp memccp --servers="127.0.0.1:$KV_PORT" "$WORK/payload.txt"
  # memccat prints each value followed by a newline of its own.
  if cmp -s <(memccat --servers="127.0.0.1:$KV_PORT" payload.txt 2>&1) <(cat "$WORK/payload.txt"; echo); then
    ok "memccat returns what memccp stored"
  else
    bad "memccat returns what memccp stored"
  fi
  if memcstat --servers="127.0.0.1:$KV_PORT" | grep -Eq "curr_items: [1-9]"; then
    ok "memcstat reads stats"
  else
    bad "memcstat reads stats"
  fi
else
  skip "libmemcached-tools (apt-get install libmemcached-tools)"
fi

kill -TERM "$KV_PID"
if wait "$KV_PID" && grep -q "kv-server: stopped" "$WORK/server.out"; then
  ok "kv-server exits cleanly on SIGTERM"
else
  bad "kv-server exits cleanly on SIGTERM"
fi

# Verification must catch a lost value: a 1 MiB store cannot keep 20000 preloaded keys.
if start_kv small --memory 1; then
  run_fails client-verify-detects-eviction "$KV_CLIENT" --port "$PORT" --preload --verify \
    --keys 20000 --duration 1 --quiet
else
  bad "kv-server --memory 1 starts"
fi

# --- real memcached ----------------------------------------------------------------------------
if command -v memcached > /dev/null; then
  MC_PORT="$(free_port)"
  memcached -u nobody -l 127.0.0.1 -p "$MC_PORT" -U 0 -t 2 -m 64 > "$WORK/memcached.out" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do ss -Hltn "sport = :$MC_PORT" | grep -q . && break; sleep 0.05; done
  run protocol-check-memcached python3 "$CHECK" --port "$MC_PORT"
  run client-verify-memcached "$KV_CLIENT" --port "$MC_PORT" --preload --verify --connections 4 \
    --threads 2 --pipeline 8 --duration 2 --quiet
else
  skip "memcached (apt-get install memcached)"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
