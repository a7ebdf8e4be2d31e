#!/usr/bin/env bash
# Installs missing packages and builds everything into build/ (Release, Ninja).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Installed (cmake --install, cpack) the way Debian places a system daemon: /usr, /etc.
cmake -S . -B "${BUILD_DIR:-build}" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
  -DCMAKE_INSTALL_PREFIX="${INSTALL_PREFIX:-/usr}" ${CMAKE_ARGS:-}
cmake --build "${BUILD_DIR:-build}" -j"$(nproc)"
