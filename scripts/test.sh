#!/usr/bin/env bash
# The test command: installs missing packages, builds, runs the whole suite through CTest.
# Extra arguments go to ctest (e.g. -L integration, -R unit).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --timeout 900 "$@"
