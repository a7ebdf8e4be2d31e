#!/usr/bin/env bash
# The main job on an embedded default: builds, starts the daemon on a DPDK port (net_af_xdp on a
# veth pair, or net_tap where DPDK has no AF_XDP driver; VT_PORT chooses), runs the
# bundled echo server under the shim and a Linux kernel TCP client in another namespace against
# it, prints what happened, and tears everything down.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
export VT_BIN=$PWD/build/bin
source tests/integration/lib.sh
vt_init
vt_log "starting virtuosod (DPDK $(vt_port_kind) port, stack address $VT_IP)"
vt_start_daemon
vt_spawn_shim "$VT_TMP/server.out" "$VT_BIN/echo-server" --port 7007
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"
vt_log "echo-server runs under the shim; Linux peer namespace $VT_NS has $VT_PEER_IP"

vt_log "bulk: 10 MiB of random bytes from the Linux client, echoed and checksummed"
ip netns exec "$VT_NS" python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port 7007 \
  --bytes $((10 * 1024 * 1024)) --roundtrips 1000 --size 64 >"$VT_TMP/client.out"
python3 - "$VT_TMP/client.out" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print(f"  connection  {r['local']} -> {r['peer']}")
print(f"  bulk        {r['bytes']} bytes echoed intact in {r['bulk_seconds']} s ({r['bulk_mbit_s']} Mbit/s each way)")
print(f"  sha256      {r['sent_sha256'][:16]}... sent == echoed")
l = r["latency"]
print(f"  round trips {r['roundtrips']} x 64 B: p50 {l['p50_us']} us, p99 {l['p99_us']} us, max {l['max_us']} us")
PY

vt_log "messages: the bundled echo client from the Linux namespace, 8 connections, 64 B, 3 s"
ip netns exec "$VT_NS" "$VT_BIN/echo-client" --host "$VT_IP" --port 7007 --connections 8 --size 64 \
  --duration 3 --verify --quiet | sed 's/^/  /'

vt_log "daemon status"
"$VT_BIN/virtuosoctl" status | sed 's/^/  /'
vt_log "stopping and cleaning up"
