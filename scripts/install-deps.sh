#!/usr/bin/env bash
# Installs the Debian 12 packages Virtuoso needs to build and test; does nothing when all are present.
#
# Usage (as root): scripts/install-deps.sh
# Only Debian's own archive is used. Safe to run repeatedly.
set -euo pipefail

readonly PACKAGES=(
  build-essential cmake ninja-build pkg-config
  dpdk dpdk-dev libdpdk-dev libnuma-dev
  catch2 libfmt-dev libspdlog-dev libtomlplusplus-dev libcli11-dev nlohmann-json3-dev
  iproute2 ethtool python3 netcat-openbsd procps
)

die() {
  echo "install-deps: $*" >&2
  exit 1
}

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    installed "$p" || echo "$p"
  done
}

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script needs Debian 12 (bookworm)"

mapfile -t missing < <(missing_packages)
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi
echo "install-deps: missing: ${missing[*]}"

if [[ ${EUID} -ne 0 ]]; then
  die "installing packages needs root; run: sudo $0"
fi

# Wait for another apt/dpkg run (e.g. unattended upgrades) instead of failing on its lock.
readonly APT_OPTS=(-o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)

apt-get "${APT_OPTS[@]}" update ||
  die "'apt-get update' failed; check that the Debian archive in /etc/apt/sources.list* is reachable"

DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y --no-install-recommends \
  "${missing[@]}" || die "'apt-get install ${missing[*]}' failed; see apt's messages above"

mapfile -t still_missing < <(missing_packages)
if [[ ${#still_missing[@]} -ne 0 ]]; then
  die "still not installed after apt-get: ${still_missing[*]}"
fi
echo "install-deps: installed ${missing[*]}"
