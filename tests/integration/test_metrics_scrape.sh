#!/usr/bin/env bash
# [metrics] listen: a real HTTP scrape of the daemon's Prometheus endpoint after known traffic. A
# Linux client (peer namespace) moves 256 KiB through an echo server under the shim; the scrape's
# counters agree with that (the tenant "host" received and sent at least those bytes, a passive
# open happened, the port saw the frames), every line is well formed, and a wrong path gets 404.
source "$(dirname "$0")/lib.sh"
vt_init
# A port of this test's own on loopback: 19100 + the test's id.
METRICS_PORT=$((19100 + VT_ID))
VT_EXTRA_CONFIG="[metrics]
listen = \"127.0.0.1:$METRICS_PORT\""
vt_start_daemon

vt_spawn_shim "$VT_TMP/server.out" python3 "$VT_PEERS/echo_server.py" --port 9000
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"
ip netns exec "$VT_NS" python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port 9000 --bytes $((256 * 1024)) \
  --roundtrips 1 --timeout 30 >"$VT_TMP/client.out" 2>&1 || vt_fail "the echo client: $(tail -2 "$VT_TMP/client.out")"
vt_check_client_result "$VT_TMP/client.out"

python3 - "$METRICS_PORT" <<'PY' || vt_fail "metrics scrape"
import re, sys, urllib.error, urllib.request
port = sys.argv[1]
with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
    assert r.status == 200, r.status
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers["Content-Type"]
    text = r.read().decode()
values, types = {}, {}
label = r'[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"'
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{' + label + r'(?:,' + label + r')*\})? (-?[0-9][0-9.e+-]*)$')
for line in text.splitlines():
    if line.startswith("# HELP "):
        continue
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ")
        assert name not in types, f"two TYPE lines for {name}"
        types[name] = kind
        continue
    m = sample.match(line)
    assert m, f"malformed line: {line!r}"
    assert m.group(1) in types, f"no TYPE before {line!r}"
    values[m.group(1) + (m.group(2) or "")] = float(m.group(3))
for name, kind in types.items():
    assert name.endswith("_total") == (kind == "counter"), f"{name} is a {kind}"
want = 256 * 1024
assert values['virtuoso_tenant_rx_bytes_total{tenant="host"}'] >= want, values['virtuoso_tenant_rx_bytes_total{tenant="host"}']
assert values['virtuoso_tenant_tx_bytes_total{tenant="host"}'] >= want, values['virtuoso_tenant_tx_bytes_total{tenant="host"}']
assert values["virtuoso_slowpath_passive_opens_total"] >= 1
assert values["virtuoso_fastpath_rx_frames_total"] > 0 and values["virtuoso_fastpath_tx_frames_total"] > 0
assert values["virtuoso_ready"] == 1
print(f"{len(types)} families, {len(values)} samples; host rx/tx bytes",
      values['virtuoso_tenant_rx_bytes_total{tenant="host"}'], values['virtuoso_tenant_tx_bytes_total{tenant="host"}'])
try:
    urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing", timeout=10)
    sys.exit("a wrong path was answered")
except urllib.error.HTTPError as e:
    assert e.code == 404, e.code
PY
# Prometheus's own linter where it is installed (Debian's prometheus package, a whole server that
# install-deps does not pull in): no complaint. The parser above checks the same format anyway.
if command -v promtool >/dev/null; then
  python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$METRICS_PORT/metrics', timeout=10).read().decode())" \
    >"$VT_TMP/metrics.txt" || vt_fail "second scrape"
  promtool check metrics <"$VT_TMP/metrics.txt" >"$VT_TMP/promtool.out" 2>&1 ||
    vt_fail "promtool check metrics: $(head -5 "$VT_TMP/promtool.out")"
  vt_log "promtool check metrics: no complaint"
fi
# The daemon carries on after the scrapes.
"$VT_BIN/virtuosoctl" status >/dev/null || vt_fail "the daemon is not ready after the scrapes"
vt_pass "Prometheus metrics over HTTP agree with the traffic"
