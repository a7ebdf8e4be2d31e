#!/usr/bin/env bash
# The shim stress test (test_shim_stress.sh: 64 threads x 64 connections, fork during traffic,
# close while blocked, signals) again with the shim and the stress program built with
# AddressSanitizer+UBSan, then with ThreadSanitizer; any sanitizer report fails it. The two
# builds live inside the main build directory (sanitize-address/, sanitize-thread/) and are
# incremental. Each stress run cleans up after itself (test_shim_stress.sh's trap).
set -euo pipefail
VT_BIN=${VT_BIN:?set VT_BIN to the build/bin directory}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_ROOT=$(cd "$VT_BIN/.." && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "integration tests need root (namespaces, tap devices)" >&2
  exit 77
fi
for san in address thread; do
  dir=$BUILD_ROOT/sanitize-$san
  echo "[sanitizers] building the shim and shim-stress with -fsanitize=$san in $dir" >&2
  cmake -S "$SRC" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIRTUOSO_SANITIZE=$san >"$dir.cmake.log" 2>&1 ||
    { cat "$dir.cmake.log" >&2; exit 1; }
  cmake --build "$dir" --target tas_shim shim-stress >"$dir.build.log" 2>&1 || { tail -n 40 "$dir.build.log" >&2; exit 1; }
  echo "[sanitizers] shim stress under $san" >&2
  VT_STRESS_BIN=$dir/bin bash "$SRC/tests/integration/test_shim_stress.sh"
done
echo "[sanitizers] PASS: shim stress clean under AddressSanitizer+UBSan and ThreadSanitizer" >&2
