#!/usr/bin/env bash
# Builds everything with a sanitizer and runs the test suite on that build. Any sanitizer report,
# from any process a test started (daemon, shim, tools), fails the run: each is written to a file
# of its own and listed at the end.
#
#   scripts/sanitize.sh address [CTEST ARGS...]   AddressSanitizer + UndefinedBehaviorSanitizer:
#                                                 the whole suite, unit and integration
#   scripts/sanitize.sh thread [CTEST ARGS...]    ThreadSanitizer: the unit tests and the
#                                                 threaded shim tests (shim_threads, shim_stress,
#                                                 kernel_client_to_shim_echo)
#   scripts/sanitize.sh unit [--build-dir DIR]    the unit tests alone, built with clang, ASan and
#                                                 UBSan in the fuzz targets' tree (default
#                                                 build/fuzz, shared with scripts/fuzz.sh: its
#                                                 libraries are built once for both); the suite
#                                                 runs this as sanitize:unit
#
# The build goes to build/sanitize-SAN (SANITIZE_BUILD_DIR overrides), beside the main build; the
# suite's own sanitizer and fuzz tests (which build further trees) and the package test are left
# out of the run. Extra arguments go to ctest (e.g. -R unit: for the unit tests alone). Needs
# root for the integration tests, as the main suite does.
set -euo pipefail
cd "$(dirname "$0")/.."
san=${1:-}
case "$san" in
  address | thread) shift ;;
  unit)
    build=build/fuzz
    [ "${2:-}" = --build-dir ] && build=$3
    command -v clang++ >/dev/null || { echo "sanitize: clang++ not found (scripts/install-deps.sh installs it)" >&2; exit 77; }
    mkdir -p "$build"
    if [ ! -f "$build/build.ninja" ]; then
      CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIRTUOSO_FUZZ=ON \
        >"$build/cmake.log" 2>&1 || { cat "$build/cmake.log" >&2; exit 1; }
    fi
    cmake --build "$build" --target unit_tests >"$build/unit-build.log" 2>&1 ||
      { tail -n 40 "$build/unit-build.log" >&2; exit 1; }
    # Reports go to stderr; any one of them ends the run with a failure.
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      "$build/bin/unit_tests" --warn NoTests >"$build/unit-run.log" 2>&1 ||
      { grep -E -m 20 "ERROR|runtime error|SUMMARY|FAILED|#[0-9]+ 0x" "$build/unit-run.log" >&2 || tail -n 40 "$build/unit-run.log" >&2
        echo "sanitize: unit tests failed under ASan+UBSan (log: $build/unit-run.log)" >&2; exit 1; }
    echo "sanitize: $(grep -E "^All tests passed|test cases" "$build/unit-run.log" | tail -1) under ASan+UBSan (clang)"
    exit 0
    ;;
  *) sed -n '2,22p' "$0" >&2; exit 2 ;;
esac
build=${SANITIZE_BUILD_DIR:-build/sanitize-$san}
scripts/install-deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVIRTUOSO_SANITIZE="$san" >/dev/null
cmake --build "$build"

reports=$(mktemp -d /tmp/virtuoso-sanitize.XXXXXX)
# halt_on_error: a report ends the process, so the test that started it fails too.
# detect_leaks=0: processes a test stops with a signal leave their memory to the kernel.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=0:abort_on_error=0:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/tsan"
exclude='fuzz:bounded|integration:shim_stress_sanitizers|integration:package_install'
select=()
if [ "$san" = thread ]; then
  select=(-R '^unit:|^integration:(shim_threads|shim_stress|kernel_client_to_shim_echo)$')
fi
status=0
ctest --test-dir "$build" --output-on-failure --timeout 900 -E "$exclude" "${select[@]}" "$@" || status=$?
if compgen -G "$reports/*" >/dev/null; then
  echo "sanitize: $(ls "$reports" | wc -l) sanitizer report(s) in $reports:" >&2
  for f in "$reports"/*; do
    echo "== $f" >&2
    grep -m 12 -E "ERROR|WARNING|runtime error|SUMMARY|^    #[0-9]" "$f" >&2 || head -n 12 "$f" >&2
  done
  exit 1
fi
rmdir "$reports"
[ "$status" -eq 0 ] && echo "sanitize: the suite passed under -fsanitize=$san with no report"
exit "$status"
