#!/usr/bin/env bash
# Regenerates kernel_ipv6_frames.hpp: real IPv6 frames from Linux between three throwaway
# namespaces (client - router - far side, the far link at MTU 1280), captured on the client's link.
# Needs root, iproute2, ethtool and ping. Touches nothing outside the namespaces it creates.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
script=$here/capture_kernel_ipv6.py
ns_c=vcap6-c
ns_r=vcap6-r
ns_f=vcap6-f
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for ns in "$ns_c" "$ns_r" "$ns_f"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

for ns in "$ns_c" "$ns_r" "$ns_f"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add v6c netns "$ns_c" address 02:00:00:00:00:01 type veth peer name v6r netns "$ns_r" address 02:00:00:00:00:02
ip link add v6rf netns "$ns_r" address 02:00:00:00:00:03 type veth peer name v6f netns "$ns_f" address 02:00:00:00:00:04
ip netns exec "$ns_r" sysctl -qw net.ipv6.conf.all.forwarding=1
for spec in "$ns_c v6c fd00:1::1/64 1500" "$ns_r v6r fd00:1::2/64 1500" "$ns_r v6rf fd00:2::1/64 1280" \
            "$ns_f v6f fd00:2::2/64 1280"; do
  set -- $spec
  # Offloads off so the kernel computes real checksums and never hands a super-frame to the veth.
  ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null
  ip -n "$1" link set "$2" mtu "$4" up
  ip -n "$1" addr add "$3" dev "$2" nodad
done
ip -n "$ns_c" -6 route add fd00:2::/64 via fd00:1::2
ip -n "$ns_f" -6 route add fd00:1::/64 via fd00:2::1

ip netns exec "$ns_c" $py "$script" sniff v6c "$work/frames.json" "$work/sniff.ready" "$work/stop" &
pids+=($!)
sniff_pid=$!
ip netns exec "$ns_r" $py "$script" server fd00:1::2 5006 "$work/s.ready" &
pids+=($!)
server_pid=$!
$py "$script" wait "$work/sniff.ready"
$py "$script" wait "$work/s.ready"

ip netns exec "$ns_c" ping -6 -c 1 -W 2 fd00:1::2 >/dev/null
ip netns exec "$ns_c" ping -6 -c 1 -W 2 -s 1300 -M do fd00:2::2 >/dev/null 2>&1 || true  # too big: answered by PTB
ip netns exec "$ns_c" $py "$script" client fd00:1::2 5006 "hello over IPv6"
wait "$server_pid"
touch "$work/stop"
wait "$sniff_pid"

$py "$script" emit "$work/frames.json" "$here/kernel_ipv6_frames.hpp" 5006
echo "wrote $here/kernel_ipv6_frames.hpp"
