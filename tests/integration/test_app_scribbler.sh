#!/usr/bin/env bash
# An app that scribbles random bytes over its own shared-memory region (queues, ring positions,
# buffers) while another app serves a Linux client: the other app's 16 MiB echo and round trips
# complete intact, the daemon stays ready, the scribbler is cut off (the fast path finds its queue
# broken, the slow path fails its connections, its socket reports an error) and a new app works.
source "$(dirname "$0")/lib.sh"
vt_init
vt_start_daemon

vt_spawn_shim "$VT_TMP/victim.out" python3 "$VT_PEERS/echo_server.py" --port 9000
vt_wait_line "$VT_TMP/victim.out" "listening" 20 "$VT_LAST_PID"
vt_spawn_peer "$VT_TMP/peer-echo.out" python3 "$VT_PEERS/echo_server.py" --port 9100
vt_wait_listening_peer 9100

faults0=$(vt_status_field slowpath.ctx_faults)
# The scribbler runs for 4 s (its own fate is its business); the victim's client starts once it scribbles.
"$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/scribbler.py" --host "$VT_PEER_IP" --port 9100 --seconds 4 \
  >"$VT_TMP/scribbler.out" 2>&1 &
SCRIBBLER=$!
VT_PIDS+=("$SCRIBBLER")
vt_wait_line "$VT_TMP/scribbler.out" "scribbling" 20 "$SCRIBBLER"
ip netns exec "$VT_NS" python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port 9000 \
  --bytes $((16 * 1024 * 1024)) --roundtrips 2000 --timeout 120 >"$VT_TMP/client.out" 2>&1 ||
  vt_fail "the victim's client: $(cat "$VT_TMP/client.out")"
vt_wait_pid "$SCRIBBLER" 30 || vt_fail "the scribbler did not end"
vt_log "scribbler: $(tail -n 3 "$VT_TMP/scribbler.out" | tr '\n' ' ')"
vt_check_client_result "$VT_TMP/client.out"
"$VT_BIN/virtuosoctl" status >/dev/null || vt_fail "the daemon is not ready after the scribbling"

# Cut off: the daemon saw its queue broken, or its socket reported an error, or it died of its own
# garbage; but not all three absent.
faults=$(( $(vt_status_field slowpath.ctx_faults) - faults0 ))
scribbler_errno=$(python3 -c 'import json,sys
try: print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["errno"])
except Exception: print("died")' "$VT_TMP/scribbler.out")
vt_log "context faults: $faults, scribbler's socket: $scribbler_errno"
[[ "$faults" -ge 1 || "$scribbler_errno" != None ]] || vt_fail "the scribbler was never cut off"

# A new app attaches and works.
"$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/stream_client.py" --host "$VT_PEER_IP" --port 9100 \
  --bytes $((1024 * 1024)) --roundtrips 20 --timeout 60 >"$VT_TMP/after.out" 2>&1 ||
  vt_fail "a new app after the scribbler: $(cat "$VT_TMP/after.out")"
vt_check_client_result "$VT_TMP/after.out"
vt_pass "a scribbling app is cut off; the other app's data is intact and new apps work"
