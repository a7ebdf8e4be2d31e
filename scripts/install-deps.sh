#!/usr/bin/env bash
# Installs the Debian 12 packages Virtuoso needs to build and test; does nothing when all are present.
#
# Usage (as root): scripts/install-deps.sh
# Only Debian's own archive is used. Safe to run repeatedly.
set -euo pipefail

readonly PACKAGES=(
  build-essential cmake ninja-build pkg-config dpkg-dev clang libclang-rt-14-dev
  dpdk dpdk-dev libdpdk-dev libnuma-dev
  catch2 libfmt-dev libspdlog-dev libtomlplusplus-dev libcli11-dev nlohmann-json3-dev
  iproute2 ethtool python3 python3-scapy netcat-openbsd procps iputils-ping
  # unmodified Debian programs the shim is tested with (tests/integration/test_app_*.sh, bench/apps)
  redis-server redis-tools nginx-light wrk iperf3 curl socat memcached
)

# Services these packages ship (the tests start their own instances with their own configs).
readonly SERVICES=(redis-server nginx iperf3 memcached)

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

# Installing must not start services that hold ports (redis 6379, nginx 80): a policy-rc.d that
# refuses every start, kept only if one was already there, and the services stopped and disabled
# afterwards in case an init system started them anyway.
readonly POLICY=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e ${POLICY} ]]; then
  printf '#!/bin/sh\nexit 101\n' >"${POLICY}" && chmod 755 "${POLICY}" && own_policy=1
fi
trap '[[ ${own_policy} -eq 1 ]] && rm -f "${POLICY}"' EXIT

DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y --no-install-recommends \
  "${missing[@]}" || die "'apt-get install ${missing[*]}' failed; see apt's messages above"

for svc in "${SERVICES[@]}"; do
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now "${svc}" >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/${svc} ]]; then
    /etc/init.d/"${svc}" stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null 2>&1 && update-rc.d "${svc}" disable >/dev/null 2>&1 || true
  fi
done

mapfile -t still_missing < <(missing_packages)
if [[ ${#still_missing[@]} -ne 0 ]]; then
  die "still not installed after apt-get: ${still_missing[*]}"
fi
echo "install-deps: installed ${missing[*]}"
