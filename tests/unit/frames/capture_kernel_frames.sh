#!/usr/bin/env bash
# Regenerates kernel_frames.hpp: real frames from Linux TCP/ARP between two throwaway namespaces.
# Needs root, iproute2 and ethtool. Touches nothing outside the two namespaces it creates.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
script=$here/capture_kernel_frames.py
ns_c=vbench-cap-c
ns_s=vbench-cap-s
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del "$ns_c" 2>/dev/null || true
  ip netns del "$ns_s" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns_c"
ip netns add "$ns_s"
ip link add vcap0 netns "$ns_c" address 02:00:00:00:00:01 type veth \
  peer name vcap1 netns "$ns_s" address 02:00:00:00:00:02
for spec in "$ns_c vcap0 192.0.2.1" "$ns_s vcap1 192.0.2.2"; do
  set -- $spec
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  # Offloads off so the kernel computes real checksums and never hands a super-frame to the veth.
  ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null
  ip -n "$1" addr add "$3/24" dev "$2"
  ip -n "$1" link set "$2" up
  ip -n "$1" link set lo up
done

ip netns exec "$ns_s" $py "$script" sniff vcap1 "$work/frames.json" "$work/sniff.ready" "$work/stop" &
pids+=($!)
sniff_pid=$!
ip netns exec "$ns_s" $py "$script" server 192.0.2.2 5001 "$work/s1.ready" 1 &
pids+=($!)
ip netns exec "$ns_s" $py "$script" server 192.0.2.2 5002 "$work/s2.ready" 1 &
pids+=($!)
$py "$script" wait "$work/sniff.ready"
$py "$script" wait "$work/s1.ready"
$py "$script" wait "$work/s2.ready"

ip netns exec "$ns_c" $py "$script" client 192.0.2.2 5001 "hello, virtuoso"
ip netns exec "$ns_c" sysctl -qw net.ipv4.tcp_sack=0 net.ipv4.tcp_timestamps=0
ip netns exec "$ns_c" $py "$script" client 192.0.2.2 5002 "plain options"
# Let the closing handshakes finish before the sniffer stops.
wait "${pids[1]}" "${pids[2]}"
touch "$work/stop"
wait "$sniff_pid"

$py "$script" emit "$work/frames.json" "$here/kernel_frames.hpp" 5001 5002
echo "wrote $here/kernel_frames.hpp"
