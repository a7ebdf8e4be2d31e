#!/usr/bin/env bash
# fork() across tenants: tenant a's app (uid 0) forks, and its child becomes tenant b's app by
# setuid to b's uid. The child's use of the connection it inherited fails with EACCES (the daemon
# does not carry a's connections into b, counted as a tenant refusal), its own new sockets work as
# b's, and the parent's connection carries on intact once the child is gone, as does the daemon.
source "$(dirname "$0")/lib.sh"
vt_init
NOBODY=65534
VT_EXTRA_CONFIG="$(vt_tenant_config a 100 10.210.0.1/32 "" 'uids = [0]')$(vt_tenant_config b 200 10.210.0.1/32 "" "uids = [$NOBODY]")"
vt_start_daemon
# The child, no longer root, must still reach app.sock to register as tenant b.
chmod 0711 "$VT_TMP"
chmod 0755 "$VT_TMP/run"

refusals0=$(vt_status_field slowpath.tenant_refusals)
timeout 60 "$VT_BIN/virtuoso-run" -- python3 "$VT_PEERS/fork_tenant.py" --addr 10.210.0.1 --uid "$NOBODY" \
  >"$VT_TMP/fork.out" 2>&1 || vt_fail "fork across tenants: $(tail -n 5 "$VT_TMP/fork.out")"
vt_log "fork across tenants: $(tail -n 1 "$VT_TMP/fork.out")"
refusals=$(vt_status_field slowpath.tenant_refusals)
[[ "$refusals" -gt "$refusals0" ]] || vt_fail "the refused inheritance was not counted (tenant_refusals $refusals)"
# Everything let go: no connection, reference or hold link left behind by the refused child.
vt_wait_status 'flows == 0 and held_refs == 0 and hold_links == 0' 20
vt_pass "a fork() child of another tenant cannot use its parent's connections; both carry on"
