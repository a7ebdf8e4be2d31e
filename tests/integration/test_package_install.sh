#!/usr/bin/env bash
# The Debian package as a new host gets it. cpack builds it from this build; it holds the programs,
# the shim, the systemd unit (checked by systemd-analyze where installed), tmpfiles, the
# configuration as a conffile and the docs, and depends on the libraries it was linked against.
# dpkg installs it into an empty root (its maintainer scripts honour DPKG_ROOT: nothing on this
# machine changes), and from that root the daemon, virtuosoctl and virtuoso-run serve a Linux
# client through the shim: 8 MiB echoed intact and 100 round trips.
source "$(dirname "$0")/lib.sh"
vt_init
BUILD=$(cd "$VT_BIN/.." && pwd)
for tool in cpack dpkg dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh installs it)"; exit 77; }
done

(cd "$BUILD" && cpack -G DEB -B "$VT_TMP/pkg") >"$VT_TMP/cpack.log" 2>&1 || vt_fail "cpack: $(tail -n 20 "$VT_TMP/cpack.log")"
deb=$(ls "$VT_TMP"/pkg/virtuoso_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || vt_fail "cpack made no .deb: $(tail -n 5 "$VT_TMP/cpack.log")"

dpkg-deb -c "$deb" | awk '{print $NF}' >"$VT_TMP/contents"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
etc=/etc
[ "$prefix" = /usr ] || etc=$prefix/etc  # GNUInstallDirs: only /usr puts the configuration in /etc
for f in bin/virtuosod bin/virtuosoctl bin/virtuoso-run bin/virtuoso-fastpath bin/virtuoso-slowpath \
  lib/virtuoso/libtas_shim.so lib/systemd/system/virtuoso.service lib/tmpfiles.d/virtuoso.conf \
  share/doc/virtuoso/deployment.md; do
  grep -qx "\.$prefix/$f" "$VT_TMP/contents" || vt_fail "the package lacks $prefix/$f: $(cat "$VT_TMP/contents")"
done
grep -qx "\.$etc/virtuoso/virtuoso.toml" "$VT_TMP/contents" || vt_fail "the package lacks $etc/virtuoso/virtuoso.toml"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in librte-ethdev librte-mempool-ring libfmt libspdlog libtomlplusplus; do
  [[ "$depends" == *"$lib"* ]] || vt_fail "Depends lacks $lib: $depends"
done
dpkg-deb -e "$deb" "$VT_TMP/control"
grep -qx "$etc/virtuoso/virtuoso.toml" "$VT_TMP/control/conffiles" || vt_fail "conffiles: $(cat "$VT_TMP/control/conffiles")"
for script in postinst prerm postrm; do
  [ -x "$VT_TMP/control/$script" ] || vt_fail "no executable $script in the package"
done

ROOT=$VT_TMP/root
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/var/lib/dpkg/triggers"
: >"$ROOT/var/lib/dpkg/status"
dpkg --root="$ROOT" --force-script-chrootless --force-depends --log=/dev/null -i "$deb" >"$VT_TMP/dpkg.log" 2>&1 ||
  vt_fail "dpkg -i into an empty root: $(cat "$VT_TMP/dpkg.log")"
dpkg --root="$ROOT" -s virtuoso | grep -q "^Status: install ok installed" || vt_fail "dpkg does not list virtuoso as installed"

if command -v systemd-analyze >/dev/null && [ -e /lib/systemd/system/sysinit.target ]; then
  # The unit as installed, its paths moved into the root: its syntax, and programs where it says.
  sed "s|$prefix/bin/|$ROOT$prefix/bin/|g; s|$etc/virtuoso/|$ROOT$etc/virtuoso/|g" \
    "$ROOT$prefix/lib/systemd/system/virtuoso.service" >"$VT_TMP/virtuoso.service"
  systemd-analyze verify --man=no "$VT_TMP/virtuoso.service" >"$VT_TMP/verify.log" 2>&1 ||
    vt_fail "systemd-analyze verify: $(cat "$VT_TMP/verify.log")"
  grep -q "^ExecStart=$prefix/bin/virtuosod --config $etc/virtuoso/virtuoso.toml$" \
    "$ROOT$prefix/lib/systemd/system/virtuoso.service" || vt_fail "the unit's ExecStart"
fi
"$ROOT$prefix/bin/virtuosoctl" config check "$ROOT$etc/virtuoso/virtuoso.toml" >/dev/null ||
  vt_fail "the packaged configuration does not check"

# The installed programs serve a Linux client through the installed shim.
VT_BIN=$ROOT$prefix/bin
vt_start_daemon
vt_spawn_shim "$VT_TMP/server.out" python3 "$VT_PEERS/echo_server.py" --port 9000
vt_wait_line "$VT_TMP/server.out" "listening" 20 "$VT_LAST_PID"
grep -q "$ROOT$prefix/lib/virtuoso/libtas_shim.so" "/proc/$VT_LAST_PID/maps" || vt_fail "the server did not load the installed shim"
ip netns exec "$VT_NS" python3 "$VT_PEERS/stream_client.py" --host "$VT_IP" --port 9000 \
  --bytes $((8 * 1024 * 1024)) --roundtrips 100 --timeout 120 >"$VT_TMP/client.out" 2>&1 ||
  vt_fail "kernel client: $(cat "$VT_TMP/client.out")"
vt_check_client_result "$VT_TMP/client.out"
vt_pass "the package installs into an empty root and its programs serve a Linux client"
