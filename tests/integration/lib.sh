# Shared setup for integration tests: a daemon on a DPDK tap port, a Linux peer namespace, cleanup.
#
# Usage in a test:  source lib.sh; vt_init; vt_start_daemon; ...; vt_pass
# Everything a test starts is registered and torn down by the EXIT trap, also on failure:
# processes, the peer namespace (which takes the tap with it), the run directory, temp files.
set -euo pipefail

VT_BIN=${VT_BIN:?set VT_BIN to the build/bin directory}
VT_PEERS=$(cd "$(dirname "${BASH_SOURCE[0]}")/peers" && pwd)
VT_TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")/tools" && pwd)

vt_log() { echo "[$(date +%H:%M:%S.%N | cut -c1-12)] $*" >&2; }
vt_fail() {
  vt_log "FAIL: $*"
  exit 1
}

vt_init() {
  if [ "$(id -u)" != 0 ]; then
    echo "integration tests need root (namespaces, tap devices)" >&2
    exit 77
  fi
  # One /24 and one set of names per test process: an id no other test holds (a lock directory)
  # and none of whose names still exist (the kernel destroys a deleted namespace's links later).
  VT_ID=$((($$ % 200) + 20))
  local tries
  for tries in $(seq 200); do
    if mkdir "/tmp/virtuoso-test-id.$VT_ID" 2>/dev/null; then
      if ! ip netns list | grep -q "^vt${VT_ID}[a-z]" && ! ip -o link show | grep -q ": vt${VT_ID}[a-z]"; then
        break
      fi
      rmdir "/tmp/virtuoso-test-id.$VT_ID"
    fi
    VT_ID=$(((VT_ID - 20 + 1) % 200 + 20))
  done
  [ -d "/tmp/virtuoso-test-id.$VT_ID" ] || { echo "no free test id (/tmp/virtuoso-test-id.*)" >&2; exit 1; }
  VT_TMP=$(mktemp -d /tmp/virtuoso-test.XXXXXX)
  VT_NS=vt${VT_ID}peer
  VT_TAP=vt${VT_ID}tap    # the peer namespace's end of the port
  VT_VETH=vt${VT_ID}xdp   # with VT_PORT=af_xdp: the daemon's end of the veth pair
  VT_IP=10.77.${VT_ID}.1
  VT_PEER_IP=10.77.${VT_ID}.2
  VT_PIDS=()
  VT_EXTRA_NS=()  # more namespaces a test made; deleted with their processes at exit
  VT_DAEMON=
  export VIRTUOSO_RUN_DIR=$VT_TMP/run
  trap vt_cleanup EXIT
  trap 'exit 130' INT TERM
}

vt_cleanup() {
  local rc=$?
  set +e
  for pid in "${VT_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${VT_PIDS[@]}"; do vt_wait_pid "$pid" 10 || kill -KILL "$pid" 2>/dev/null; done
  if [ -n "$VT_DAEMON" ] && kill -0 "$VT_DAEMON" 2>/dev/null; then
    kill -TERM "$VT_DAEMON"
    vt_wait_pid "$VT_DAEMON" 20 || kill -KILL "$VT_DAEMON"
  fi
  for ns in "$VT_NS" "${VT_EXTRA_NS[@]}"; do
    if ip netns list | grep -qw "$ns"; then
      ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
      ip netns del "$ns"
    fi
  done
  # Links of deleted namespaces go away asynchronously: the id is free once they have.
  local wait_until=$((SECONDS + 10))
  while ip -o link show | grep -q ": vt${VT_ID}[a-z]" && [ $SECONDS -lt $wait_until ]; do sleep 0.1; done
  rmdir "/tmp/virtuoso-test-id.$VT_ID" 2>/dev/null
  if [ $rc -ne 0 ] && [ -f "$VT_TMP/daemon.err" ]; then
    echo "---- daemon log (last 40 lines) ----" >&2
    tail -n 40 "$VT_TMP/daemon.err" >&2
  fi
  rm -rf "$VT_TMP"
  exit $rc
}

# Waits until process $1 exits, at most $2 seconds; returns 1 if it is still running.
vt_wait_pid() {
  local deadline=$((SECONDS + $2))
  while kill -0 "$1" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.05
  done
  VT_WAIT_STATUS=0  # its exit status if it is a child of this shell (127 if not)
  wait "$1" 2>/dev/null || VT_WAIT_STATUS=$?
  return 0
}

# Every process with its state and where it sleeps in the kernel, on one line, for a hang's report.
vt_process_dump() {
  ps -e -o pid=,ppid=,stat=,wchan:24=,etimes=,args= 2>/dev/null | cut -c1-160 | tr '\n' ';'
}

# Waits until file $1 has a line matching $2, at most $3 seconds, failing early if pid $4 dies.
vt_wait_line() {
  local deadline=$((SECONDS + $3))
  until grep -q -- "$2" "$1" 2>/dev/null; do
    if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
      vt_fail "process $4 exited before printing '$2'; its output: $(tail -n 5 "$1" 2>/dev/null)"
    fi
    [ $SECONDS -ge $deadline ] && vt_fail "no '$2' in $1 after $3 s"
    sleep 0.05
  done
}

# Waits until file $1 has at least $2 lines, at most $3 seconds, failing early if pid $4 dies.
vt_wait_lines() {
  local deadline=$((SECONDS + $3))
  until [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ]; do
    if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then
      vt_fail "process $4 exited before $1 had $2 lines; it has: $(tail -n 5 "$1" 2>/dev/null)"
    fi
    [ $SECONDS -ge $deadline ] && vt_fail "$1 has fewer than $2 lines after $3 s"
    sleep 0.05
  done
}

vt_write_config() {
  cat >"$VT_TMP/virtuoso.toml" <<CONF
run_dir = "$VT_TMP/run"
log_level = "${VT_LOG_LEVEL:-info}"
${VT_TOP_CONFIG:-}

[port]
devargs = "$(vt_devargs)"

[fastpath]
lcore = 1
idle_backoff_us = ${VT_IDLE_BACKOFF_US:-100}
delayed_ack_us = ${VT_DELAYED_ACK_US:-200}
hugepages = "auto"

[network]
ip = "$VT_IP"
prefix_len = 24

${VT_EXTRA_CONFIG:-}
CONF
}

# A [[tenant]] table for VT_EXTRA_CONFIG whose apps attach through its own socket
# (run/tenants/NAME/app.sock): name, VNI, address block, then TOML lines for the tenant's own keys
# (e.g. reach) and lines after its match table (e.g. [[tenant.remote]] entries).
vt_tenant_config() {
  printf '\n[[tenant]]\nname = "%s"\nvni = %s\naddresses = ["%s"]\n%s\n[tenant.match]\nsocket = "%s"\n%s\n' \
    "$1" "$2" "$3" "${4:-}" "$1" "${5:-}"
}

# Tenants a (VNI 100) and b (VNI 200) sharing the inner address NET.1 (NET is a.b.c), each reaching
# NET.0/24 through the peer namespace's tunnel endpoint: TOML for VT_EXTRA_CONFIG.
vt_two_tenants_config() {  # NET
  local remote="[[tenant.remote]]
prefix = \"$1.0/24\"
vtep = \"$VT_PEER_IP\""
  vt_tenant_config a 100 "$1.1/32" "" "$remote"
  vt_tenant_config b 200 "$1.1/32" "" "$remote"
}

# A Linux host inside a virtual network: namespace vt${VT_ID}NAME behind a kernel vxlan device of
# VNI with address ADDR/24. The device is made in the peer namespace (its UDP socket stays on the
# underlay, towards the stack's address) and moved in. After vt_start_daemon.
vt_kernel_vxlan_peer() {  # NAME VNI ADDR
  local ns=vt${VT_ID}$1 dev=vx$1
  ip netns add "$ns"
  VT_EXTRA_NS+=("$ns")
  ip -n "$VT_NS" link add "$dev" type vxlan id "$2" remote "$VT_IP" local "$VT_PEER_IP" dstport 4789 dev "$VT_TAP"
  ip -n "$VT_NS" link set "$dev" netns "$ns"
  ip -n "$ns" addr add "$3/24" dev "$dev"
  ip -n "$ns" link set "$dev" up
  ip -n "$ns" link set lo up
}

# The port the daemon's fast path drives: VT_PORT=af_xdp (a veth pair: the daemon's end
# $VT_VETH in this namespace, the peer's end $VT_TAP in the peer namespace; no system call per
# frame), tap (DPDK's tap device, moved into the peer namespace; a system call per frame), or auto
# (the default: af_xdp where DPDK has the driver, else tap).
vt_port_kind() {
  case "${VT_PORT:-auto}" in
    af_xdp | tap) echo "$VT_PORT" ;;
    auto) if ls /usr/lib/*/dpdk/pmds-*/librte_net_af_xdp.so >/dev/null 2>&1; then echo af_xdp; else echo tap; fi ;;
    *) vt_fail "VT_PORT=$VT_PORT: want af_xdp, tap or auto" ;;
  esac
}

vt_devargs() {
  if [ "$(vt_port_kind)" = af_xdp ]; then
    echo "net_af_xdp0,iface=$VT_VETH,start_queue=0,queue_count=1"
  else
    echo "net_tap0,iface=$VT_TAP,mac=02:00:00:77:$(printf %02x "$VT_ID"):01"
  fi
}

# Starts virtuosod with its port reaching a fresh peer namespace where $VT_TAP holds $VT_PEER_IP.
vt_start_daemon() {
  local kind
  kind=$(vt_port_kind)
  if [ "$kind" = af_xdp ]; then
    ip netns add "$VT_NS"
    ip link add "$VT_VETH" type veth peer name "$VT_TAP" netns "$VT_NS"
    # The kernel would leave checksums and segmentation to an offload AF_XDP does not perform.
    ethtool -K "$VT_VETH" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    ip link set "$VT_VETH" up
  fi
  vt_write_config
  "$VT_BIN/virtuosod" --config "$VT_TMP/virtuoso.toml" >"$VT_TMP/daemon.out" 2>"$VT_TMP/daemon.err" &
  VT_DAEMON=$!
  vt_wait_line "$VT_TMP/daemon.out" "virtuosod: ready" 60 "$VT_DAEMON"
  if [ "$kind" = tap ]; then
    ip netns add "$VT_NS"
    ip link set "$VT_TAP" netns "$VT_NS"
  fi
  ip -n "$VT_NS" addr add "$VT_PEER_IP/24" dev "$VT_TAP"
  ip -n "$VT_NS" link set "$VT_TAP" up
  ip -n "$VT_NS" link set lo up
  # Segmentation offloads would hand the port frames larger than the MTU.
  ip netns exec "$VT_NS" ethtool -K "$VT_TAP" tx off tso off gso off gro off >/dev/null 2>&1 || true
  "$VT_BIN/virtuosoctl" status >/dev/null || vt_fail "virtuosoctl status failed after ready"
  vt_start_watchdog
}

# Reports every connection that stops making progress with bytes to move (tools/stall_watchdog.py)
# on stderr and in $VT_STALLS; vt_pass fails if there was one, unless the test loses packets or
# peers on purpose and says so with VT_STALLS_EXPECTED=1.
vt_start_watchdog() {
  [ "${VT_WATCHDOG:-1}" = 1 ] || return 0
  VT_STALLS=$VT_TMP/stalls.jsonl
  python3 "$VT_TOOLS/stall_watchdog.py" --ctl "$VT_BIN/virtuosoctl" --run-dir "$VT_TMP/run" \
    --report "$VT_STALLS" --after "${VT_STALL_AFTER_S:-5}" &
  VT_WATCHDOG_PID=$!
  VT_PIDS+=("$VT_WATCHDOG_PID")
}

# Stops the watchdog (before a test stops the daemon and checks that nothing of it remains).
vt_stop_watchdog() {
  [ -n "${VT_WATCHDOG_PID:-}" ] || return 0
  kill -TERM "$VT_WATCHDOG_PID" 2>/dev/null || true
  wait "$VT_WATCHDOG_PID" 2>/dev/null || true
  VT_WATCHDOG_PID=
}

# nginx's temporary directories under $VT_TMP/nginx, as lines for an http {} block.
vt_nginx_temp_paths() {
  local kind
  for kind in client_body proxy fastcgi uwsgi scgi; do
    echo "  ${kind}_temp_path $VT_TMP/nginx/$kind;"
  done
}

# Starts nginx under the shim with config $1 (error log in $VT_TMP/nginx/error.log) and waits
# until its master logged $2 workers; the master ($VT_NGINX_MASTER) and the workers are
# registered for cleanup.
vt_start_nginx() {
  local deadline=$((SECONDS + 30)) pid
  vt_spawn_shim "$VT_TMP/nginx.out" nginx -c "$1" -e "$VT_TMP/nginx/error.log"
  VT_NGINX_MASTER=$VT_LAST_PID
  until [ "$(grep -c "start worker process [0-9]" "$VT_TMP/nginx/error.log" 2>/dev/null)" = "$2" ]; do
    kill -0 "$VT_NGINX_MASTER" 2>/dev/null || vt_fail "nginx exited: $(tail -n 5 "$VT_TMP/nginx/error.log")"
    [ $SECONDS -ge $deadline ] && vt_fail "nginx did not start $2 workers"
    sleep 0.05
  done
  for pid in $(pgrep -P "$VT_NGINX_MASTER"); do VT_PIDS+=("$pid"); done
}

# Runs a command under the shim in the background, registered for cleanup; sets VT_LAST_PID.
vt_spawn_shim() {
  local out=$1
  shift
  "$VT_BIN/virtuoso-run" -- "$@" >"$out" 2>&1 &
  VT_LAST_PID=$!
  VT_PIDS+=("$VT_LAST_PID")
}

# A far host behind a Linux router: the peer namespace forwards between the stack's link and a
# veth link of MTU $1 to namespace $FAR_NS ($FAR_IP on $FAR_DEV; the router's end $ROUTER_FAR_IP),
# whose default route goes back through the router. vt_far_names after vt_init (names, and the
# namespace to clean up), vt_far_host MTU after vt_start_daemon; the daemon needs
# `gateway = "$VT_PEER_IP"` to reach it.
vt_far_names() {
  FAR_NS=vt${VT_ID}far
  FAR_IP=10.78.${VT_ID}.2
  ROUTER_FAR_IP=10.78.${VT_ID}.1
  FAR_DEV=vt${VT_ID}far
  VT_EXTRA_NS+=("$FAR_NS")
}
vt_far_host() {
  ip netns add "$FAR_NS"
  ip -n "$VT_NS" link add vt${VT_ID}rt mtu "$1" type veth peer name "$FAR_DEV" mtu "$1" netns "$FAR_NS"
  ip -n "$VT_NS" addr add "$ROUTER_FAR_IP/24" dev vt${VT_ID}rt
  ip -n "$VT_NS" link set vt${VT_ID}rt up
  ip -n "$FAR_NS" addr add "$FAR_IP/24" dev "$FAR_DEV"
  ip -n "$FAR_NS" link set "$FAR_DEV" up
  ip -n "$FAR_NS" link set lo up
  ip -n "$FAR_NS" route add default via "$ROUTER_FAR_IP"
  local ns_dev
  for ns_dev in "$VT_NS vt${VT_ID}rt" "$FAR_NS $FAR_DEV"; do
    set -- $ns_dev
    ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true
  done
  ip netns exec "$VT_NS" sysctl -qw net.ipv4.ip_forward=1
}

# vt_stream_roundtrip HOST WHAT [ENV...]: 8 MiB each way (and 100 round trips) to the echo server
# at HOST:9000 from an app under the shim (ENV: e.g. VIRTUOSO_RUN_DIR=...), checked intact.
vt_stream_roundtrip() {
  local host=$1 what=$2
  shift 2
  env "$@" "$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/stream_client.py" --host "$host" --port 9000 \
    --bytes $((8 * 1024 * 1024)) --roundtrips 100 --timeout 120 >"$VT_TMP/client.out" 2>&1 ||
    vt_fail "$what: $(cat "$VT_TMP/client.out")"
  vt_check_client_result "$VT_TMP/client.out"
}

# vt_transfer_lowers_path_mtu HOST WHAT [ENV...]: vt_stream_roundtrip, and the stack's path MTU
# went down on the way (both the slow path's count and the fast path's).
vt_transfer_lowers_path_mtu() {
  vt_stream_roundtrip "$@"
  local lowered taken
  lowered=$(vt_status_field slowpath.path_mtu_reductions)
  taken=$(vt_status_field fastpath.path_mtu_lowered)
  [[ "$lowered" -ge 1 && "$taken" -ge 1 ]] ||
    vt_fail "$2: no path MTU reduction seen (slowpath.path_mtu_reductions $lowered, fastpath.path_mtu_lowered $taken)"
  echo "$2: $lowered path MTU reductions, icmp_errors $(vt_status_field slowpath.icmp_errors)"
}

# vt_transfer_remembers_path_mtu HOST WHAT [ENV...]: after vt_transfer_lowers_path_mtu, a new
# connection on the same path starts below the learned MTU: intact, and no datagram of it was too
# big for the router (no new ICMP, no new reduction).
vt_transfer_remembers_path_mtu() {
  local icmp_before reductions_before icmp reductions
  icmp_before=$(vt_status_field slowpath.icmp_errors)
  reductions_before=$(vt_status_field slowpath.path_mtu_reductions)
  vt_stream_roundtrip "$@"
  icmp=$(vt_status_field slowpath.icmp_errors)
  reductions=$(vt_status_field slowpath.path_mtu_reductions)
  [[ "$icmp" == "$icmp_before" && "$reductions" == "$reductions_before" ]] ||
    vt_fail "$2: the path MTU was learned again (icmp_errors $icmp_before -> $icmp, path_mtu_reductions $reductions_before -> $reductions)"
  echo "$2: started below the learned path MTU (icmp_errors still $icmp)"
}

# Runs a command in the peer namespace in the background; sets VT_LAST_PID.
vt_spawn_peer() {
  local out=$1
  shift
  ip netns exec "$VT_NS" "$@" >"$out" 2>&1 &
  VT_LAST_PID=$!
  VT_PIDS+=("$VT_LAST_PID")
}

# A field of `virtuosoctl status --json`, by jq-like dotted path, numbers indexing arrays
# (e.g. tenants.1.cpu.cycles; python3 only).
vt_status_field() {
  "$VT_BIN/virtuosoctl" status --json | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$1"
}

# Waits until a Python expression over `virtuosoctl status --json` holds (top-level fields are
# names, e.g. 'flows == 0 and held_refs == 0'; `fastpath` and `slowpath` are dicts), at most $2
# seconds; fails with the expression and the values it last saw.
vt_wait_status() {
  local deadline=$((SECONDS + $2)) last
  while :; do
    last=$("$VT_BIN/virtuosoctl" status --json | python3 -c '
import json, sys
v = json.load(sys.stdin)
ok = eval(sys.argv[1], {}, dict(v))
print("ok" if ok else {k: x for k, x in v.items() if not isinstance(x, dict)})' "$1") || last="status failed"
    [ "$last" = ok ] && return 0
    [ $SECONDS -ge $deadline ] && vt_fail "status never had '$1' within $2 s; last: $last"
    sleep 0.05
  done
}

# Waits until a Linux program in the peer namespace listens on TCP port $1 (at most 10 s).
vt_wait_listening_peer() {
  local deadline=$((SECONDS + 10))
  until ip netns exec "$VT_NS" ss -Hltn "sport = :$1" | grep -q .; do
    [ $SECONDS -ge $deadline ] && vt_fail "nothing listens on port $1 in the peer namespace"
    sleep 0.05
  done
}

# Runs $2 concurrent, then $3 sequential stream_client.py clients from the peer namespace against
# port $1 of the stack (concurrent: 2 MiB echoed and 50 round trips each; sequential: 64 KiB and
# 5), failing on the first that does not get every byte back.
vt_peer_stream_clients() {
  local port=$1 n_conc=$2 n_seq=$3 i pids=()
  for i in $(seq "$n_conc"); do
    ip netns exec "$VT_NS" timeout 120 python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port "$port" \
      --bytes $((2 * 1024 * 1024)) --roundtrips 50 >"$VT_TMP/concurrent$i.out" 2>&1 &
    pids+=($!)
  done
  for i in $(seq "$n_conc"); do
    wait "${pids[$((i - 1))]}" || vt_fail "concurrent client $i: $(tail -n 3 "$VT_TMP/concurrent$i.out")"
    vt_check_client_result "$VT_TMP/concurrent$i.out" >/dev/null || vt_fail "concurrent client $i"
  done
  for i in $(seq "$n_seq"); do
    ip netns exec "$VT_NS" timeout 120 python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port "$port" \
      --bytes 65536 --roundtrips 5 >"$VT_TMP/seq.out" 2>&1 || vt_fail "sequential client $i: $(tail -n 3 "$VT_TMP/seq.out")"
    vt_check_client_result "$VT_TMP/seq.out" >/dev/null || vt_fail "sequential client $i"
  done
}

# Checks the JSON line a stream_client.py run printed.
vt_check_client_result() {
  python3 - "$1" <<'PY'
import json, sys
line = open(sys.argv[1]).read().strip().splitlines()[-1]
r = json.loads(line)
if not r.get("ok"):
    sys.exit("client failed: " + r.get("error", line))
if "sent_sha256" in r and r["sent_sha256"] != r["echoed_sha256"]:
    sys.exit("checksums differ")
print("client:", line)
PY
}

vt_pass() {
  if [ -s "${VT_STALLS:-/nonexistent}" ] && [ "${VT_STALLS_EXPECTED:-0}" != 1 ]; then
    vt_fail "$(wc -l <"$VT_STALLS") connection(s) stalled (see 'stall watchdog' above)"
  fi
  vt_log "PASS: $*"
}
