# Sourced by the benchmark scripts: report_python sets $py to the interpreter their reports run
# on, Debian's, the one apt installs matplotlib for (another python3 may come first in PATH), and
# installs python3-matplotlib if it is missing (root; without it, reports are tables only).
report_python() {  # NAME: the benchmark, for the message
  py=/usr/bin/python3
  if ! $py -c 'import matplotlib' 2>/dev/null; then
    apt-get install -y -q python3-matplotlib >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q python3-matplotlib >/dev/null 2>&1; } ||
      echo "$1: python3-matplotlib could not be installed: tables only, no plots" >&2
  fi
}
