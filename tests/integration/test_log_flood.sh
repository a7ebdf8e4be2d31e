#!/usr/bin/env bash
# A misbehaving app floods the daemon with refused requests (bind to an address not its tenant's,
# for 1.5 s): every refusal is counted and answered with EADDRNOTAVAIL, but the log gets a bounded
# number of lines (a burst of 20, then 10 a second) and lines saying how many were held back; the
# daemon carries on. Then a flood of junk frames from the peer: the fast path drops and counts each
# one, and the log gets one line a second saying how many were dropped and why, which add up to
# the counter, not a line per frame.
source "$(dirname "$0")/lib.sh"
vt_init
VT_EXTRA_CONFIG="$(vt_tenant_config a 100 10.214.0.1/32)"
vt_start_daemon
refusals0=$(vt_status_field slowpath.tenant_refusals)
start=$SECONDS
VIRTUOSO_RUN_DIR=$VT_TMP/run/tenants/a timeout 60 "$VT_BIN/virtuoso-run" -- python3 -c "
import errno, socket, sys, time
n, end = 0, time.monotonic() + 1.5
while time.monotonic() < end:
    s = socket.socket()
    try:
        s.bind(('10.99.0.9', 0))
        sys.exit('bound an address not the tenant\'s')
    except OSError as e:
        if e.errno != errno.EADDRNOTAVAIL:
            sys.exit(f'bind: {e!r}, want EADDRNOTAVAIL')
    s.close()
    n += 1
print(n)
" >"$VT_TMP/flood.out" 2>&1 || vt_fail "flooding app: $(tail -3 "$VT_TMP/flood.out")"
elapsed=$((SECONDS - start + 1))
tries=$(tail -1 "$VT_TMP/flood.out")
refused=$(( $(vt_status_field slowpath.tenant_refusals) - refusals0 ))
logged=$(grep -c "refused address" "$VT_TMP/daemon.err" || true)
held_lines=$(grep -c "refusal lines not logged" "$VT_TMP/daemon.err" || true)
suppressed=$(vt_status_field slowpath.log_lines_suppressed)
vt_log "flood: $tries binds in ~${elapsed}s, $refused refused, $logged logged, $held_lines count lines, $suppressed suppressed"
[[ "$refused" == "$tries" ]] || vt_fail "$tries binds refused but $refused counted"
(( tries > 200 )) || vt_fail "only $tries binds: not a flood"
(( logged <= 20 + 10 * elapsed + 1 )) || vt_fail "$logged refusal lines in ${elapsed}s: not rate-limited"
(( held_lines >= 1 )) || vt_fail "no line said how many were held back"
(( suppressed + logged >= tries )) || vt_fail "$suppressed suppressed + $logged logged < $tries refusals"
"$VT_BIN/virtuosoctl" status >/dev/null || vt_fail "the daemon is not ready after the flood"

junk=30000
# The drop lines' fastpath.drop_bad_ip fields, summed.
sum_logged() { { grep -o "fastpath.drop_bad_ip=[0-9]*" "$VT_TMP/daemon.err" || true; } | cut -d= -f2 | awk '{s += $1} END {print s + 0}'; }
bad_ip0=$(vt_status_field fastpath.drop_bad_ip)
logged0=$(sum_logged)
start=$SECONDS
ip netns exec "$VT_NS" python3 "$VT_TOOLS/junk_frames.py" --iface "$VT_TAP" --dst-mac "$(vt_status_field mac)" \
  --count $junk >"$VT_TMP/junk.out" 2>&1 || vt_fail "junk frames: $(cat "$VT_TMP/junk.out")"
vt_wait_status "fastpath['drop_bad_ip'] >= $bad_ip0 + $junk * 95 // 100" 10
dropped=$(( $(vt_status_field fastpath.drop_bad_ip) - bad_ip0 ))
# The drop lines of the flood's seconds (and the one after it) add up to what was counted.
deadline=$((SECONDS + 5))
until [ $(( $(sum_logged) - logged0 )) = "$dropped" ]; do
  [ $SECONDS -ge $deadline ] && vt_fail "drop lines add up to $(( $(sum_logged) - logged0 )), the counter to $dropped"
  sleep 0.1
done
elapsed=$((SECONDS - start + 1))
lines=$(grep -c "drops: total=.*fastpath.drop_bad_ip=" "$VT_TMP/daemon.err" || true)
vt_log "junk: $(cat "$VT_TMP/junk.out"), $dropped dropped as drop_bad_ip, $lines drop lines in ~${elapsed}s"
(( dropped <= junk )) || vt_fail "$dropped drops counted for $junk junk frames"
(( lines <= elapsed + 1 )) || vt_fail "$lines drop lines in ${elapsed}s: more than one a second"
"$VT_BIN/virtuosoctl" status >/dev/null || vt_fail "the daemon is not ready after the junk"
vt_pass "floods of refusals and of junk frames: every one counted, a bounded number of lines logged"
