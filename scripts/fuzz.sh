#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan, and runs each for a bounded
# time on its seeds (tests/fuzz/seeds.py) and the corpus earlier runs grew; every input in
# tests/fuzz/regressions/<target>/ runs first. Then checks the harness can fail: the fuzzer must
# find the bug planted in fuzz-wire-planted. A crash leaves its input in BUILD/findings/<target>/:
# once fixed, add it to tests/fuzz/regressions/<target>/.
#
#   scripts/fuzz.sh [--seconds N] [--build-dir DIR] [TARGET...]
#     --seconds N   per target (default 20); for a long campaign e.g. --seconds 14400 fuzz-fastpath
#     --build-dir   where the clang build goes (default build/fuzz)
#     TARGET        fuzz-wire, fuzz-config, fuzz-fastpath, fuzz-slowpath, fuzz-ctl (default: all five)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=20
build=build/fuzz
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(fuzz-wire fuzz-config fuzz-fastpath fuzz-slowpath fuzz-ctl)
command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (scripts/install-deps.sh installs it)" >&2; exit 77; }

mkdir -p "$build"
build=$(cd "$build" && pwd)
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIRTUOSO_FUZZ=ON \
    >"$build/cmake.log" 2>&1 || { cat "$build/cmake.log" >&2; exit 1; }
fi
cmake --build "$build" --target fuzz-targets >"$build/build.log" 2>&1 || { tail -n 40 "$build/build.log" >&2; exit 1; }

run_target() {  # TARGET SECONDS
  local t=$1 corpus=$build/corpus/$1 findings=$build/findings/$1
  mkdir -p "$corpus" "$findings"
  python3 tests/fuzz/seeds.py "$t" "$corpus"
  local regressions=(tests/fuzz/regressions/"$t"/*)
  if [ -e "${regressions[0]}" ]; then
    "$build/bin/$t" "${regressions[@]}" >"$findings/regressions.log" 2>&1 ||
      { tail -n 30 "$findings/regressions.log" >&2; echo "fuzz: $t: a regression input fails again" >&2; return 1; }
  fi
  if ! "$build/bin/$t" -max_total_time="$2" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$findings/" "$corpus" >"$findings/run.log" 2>&1; then
    grep -E "FUZZ_CHECK|ERROR|runtime error|SUMMARY" "$findings/run.log" | head -n 10 >&2
    echo "fuzz: $t failed; the input is in $findings/ (reproduce: $build/bin/$t <file>)" >&2
    return 1
  fi
  local runs execs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$findings/run.log")
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$findings/run.log")
  echo "fuzz: $t: ${runs:-?} inputs in ${2} s (${execs:-?}/s), corpus $(ls "$corpus" | wc -l), no crash"
}

for t in "${targets[@]}"; do run_target "$t" "$seconds"; done

# The harness can fail: a bug planted behind a parsed TCP timestamp option must be found.
planted=$(mktemp -d)
trap 'rm -rf "$planted"' EXIT
python3 tests/fuzz/seeds.py fuzz-wire-planted "$planted/corpus"
if "$build/bin/fuzz-wire-planted" -max_total_time=120 -artifact_prefix="$planted/" "$planted/corpus" \
    >"$planted/run.log" 2>&1; then
  echo "fuzz: the bug planted in fuzz-wire-planted was not found in 120 s: the harness cannot fail" >&2
  exit 1
fi
ls "$planted"/crash-* >/dev/null 2>&1 || { tail -n 20 "$planted/run.log" >&2; echo "fuzz: fuzz-wire-planted failed without a crash input" >&2; exit 1; }
echo "fuzz: the planted bug was found ($(grep -c . "$planted/run.log") log lines): a failing property fails the run"
