#!/usr/bin/env bash
# virtuosod as a service manager runs it: readiness, reload and stop through the notify protocol
# (sd_notify: READY=1 with MAINPID once it serves, RELOADING=1 then READY=1 around a SIGHUP reload,
# STOPPING=1), and its log lines, its children's too, as journald datagrams with their priority.
# The test listens on both sockets itself (no systemd needed). A reload applies the log level, a
# tenant's CPU weight and its switch entries at once, names a [tcp] change as waiting for a
# restart, and leaves the daemon as it was when the file does not parse.
source "$(dirname "$0")/lib.sh"
vt_init

sink() {  # NAME: a datagram sink on $VT_TMP/NAME.sock writing $VT_TMP/NAME.jsonl
  python3 "$VT_TOOLS/datagram_sink.py" --socket "$VT_TMP/$1.sock" --out "$VT_TMP/$1.jsonl" &
  VT_PIDS+=($!)
  vt_wait_line "$VT_TMP/$1.jsonl" listening 10 $!
}
sink notify
sink log

remote() { printf '[[tenant.remote]]\nprefix = "%s"\nvtep = "%s"\n' "$1" "$2"; }
VT_TOP_CONFIG="log_target = \"journald\"
log_socket = \"$VT_TMP/log.sock\""
VT_EXTRA_CONFIG=$(vt_tenant_config web 100 10.99.0.1/32 "cpu_weight = 100" "$(remote 10.98.0.0/24 10.77.0.9)")
NOTIFY_SOCKET=$VT_TMP/notify.sock vt_start_daemon

# Each check reads the datagrams as a list of strings: "n" of them must match.
datagrams() {  # NAME PYTHON-CONDITION-ON-d [COUNT]
  python3 - "$VT_TMP/$1.jsonl" "$2" "${3:-1}" <<'PY'
import json, sys
d_all = [json.loads(l) for l in open(sys.argv[1])]
n = sum(1 for d in d_all if eval(sys.argv[2], {"d": d}))
sys.exit(0 if n >= int(sys.argv[3]) else 1)
PY
}
wait_datagram() {  # NAME CONDITION COUNT WHAT
  local deadline=$((SECONDS + 30))
  until datagrams "$1" "$2" "$3"; do
    [ $SECONDS -ge $deadline ] && vt_fail "no $4 within 30 s; got: $(tail -n 8 "$VT_TMP/$1.jsonl")"
    sleep 0.05
  done
}

wait_datagram notify "'READY=1' in d and 'MAINPID=$VT_DAEMON\n' in d" 1 "READY=1 with virtuosod's pid"
for ident in virtuosod virtuoso-slowpath virtuoso-fastpath; do
  datagrams log "'SYSLOG_IDENTIFIER=$ident\n' in d and 'MESSAGE=' in d" ||
    vt_fail "no log line from $ident on the journald socket: $(tail -n 5 "$VT_TMP/log.jsonl")"
done
! grep -q "slowpath\]" "$VT_TMP/daemon.err" || vt_fail "the slow path's lines went to stderr as well: $(head -n 3 "$VT_TMP/daemon.err")"

# Reload: four changes at run time, one for a restart.
sed -i 's/^log_level = .*/log_level = "debug"/; s/^cpu_weight = 100/cpu_weight = 300/; s/^vtep = "10.77.0.9"/vtep = "10.77.0.8"/' \
  "$VT_TMP/virtuoso.toml"
printf '\n[tcp]\nmin_rto_ms = 300\n' >>"$VT_TMP/virtuoso.toml"
"$VT_BIN/virtuosoctl" config check "$VT_TMP/virtuoso.toml" >/dev/null || vt_fail "the edited file does not check"
kill -HUP "$VT_DAEMON"
wait_datagram notify "'RELOADING=1' in d and 'MONOTONIC_USEC=' in d" 1 "RELOADING=1"
wait_datagram notify "'READY=1' in d" 2 "READY=1 after the reload"
datagrams notify "'STATUS=reloaded: 4 change(s) applied, 0 refused, 1 waiting for a restart' in d" ||
  vt_fail "reload outcome: $(tail -n 3 "$VT_TMP/notify.jsonl")"
[ "$(vt_status_field log_level)" = debug ] || vt_fail "log_level is $(vt_status_field log_level) after the reload"
[ "$(vt_status_field tenants.0.cpu_weight)" = 300 ] || vt_fail "web's weight is $(vt_status_field tenants.0.cpu_weight)"
[ "$(vt_status_field tenants.0.remotes.0.vtep)" = 10.77.0.8 ] ||
  vt_fail "web's switch entry: $(vt_status_field tenants.0.remotes)"
datagrams log "'PRIORITY=4\n' in d and 'tcp.min_rto_ms differs' in d" ||
  vt_fail "no warning naming tcp.min_rto_ms: $(grep -i reload "$VT_TMP/log.jsonl" | tail -n 5)"

# A file that does not parse: an error naming the field, nothing changes, the daemon carries on.
sed -i 's/^cpu_weight = 300/cpu_weight = 0/' "$VT_TMP/virtuoso.toml"
kill -HUP "$VT_DAEMON"
wait_datagram notify "'READY=1' in d" 3 "READY=1 after the failed reload"
datagrams notify "'STATUS=reload failed' in d" || vt_fail "failed reload: $(tail -n 2 "$VT_TMP/notify.jsonl")"
datagrams log "'PRIORITY=3\n' in d and 'cpu_weight' in d and 'carries on' in d" ||
  vt_fail "no error naming cpu_weight: $(tail -n 3 "$VT_TMP/log.jsonl")"
[ "$(vt_status_field tenants.0.cpu_weight)" = 300 ] || vt_fail "a bad file changed web's weight"
"$VT_BIN/virtuosoctl" status >/dev/null || vt_fail "not ready after a failed reload"

kill -TERM "$VT_DAEMON"
deadline=$((SECONDS + 30))
while kill -0 "$VT_DAEMON" 2>/dev/null; do
  [ $SECONDS -ge $deadline ] && vt_fail "virtuosod did not stop within 30 s"
  sleep 0.05
done
rc=0
wait "$VT_DAEMON" || rc=$?
VT_DAEMON=
[ "$rc" = 0 ] || vt_fail "virtuosod exited with $rc after SIGTERM"
datagrams notify "'STOPPING=1' in d" || vt_fail "no STOPPING=1: $(tail -n 2 "$VT_TMP/notify.jsonl")"
vt_pass "virtuosod notifies readiness, reload and stop, and sends every process's log lines to journald"
