#!/usr/bin/env bash
# Regenerates kernel_vxlan_frames.hpp: real VXLAN, ICMP echo and ICMP error frames from Linux between
# three throwaway namespaces. Needs root, iproute2 and ethtool. Touches nothing outside the namespaces
# it creates.
#
#   vxcap-a 192.0.2.1 --veth-- 192.0.2.2 vxcap-b 198.51.100.1 --veth-- 198.51.100.2 vxcap-c
#   vx0 VNI 42 10.42.0.1  <->  vx0 VNI 42 10.42.0.2        (route MTU 1280 towards vxcap-c)
#   vx1 VNI 43 10.43.0.1  <->  vx1 VNI 43 10.43.0.2
#
# The sniffer sits on vxcap-b's underlay veth, so it sees both directions of the tunnel, the ICMP
# echo and port unreachable between a and b, and the fragmentation-needed b sends a as a router.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
script=$here/capture_kernel_vxlan.py
ns_a=vxcap-a
ns_b=vxcap-b
ns_c=vxcap-c
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for ns in "$ns_a" "$ns_b" "$ns_c"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

for ns in "$ns_a" "$ns_b" "$ns_c"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add vxu0 netns "$ns_a" address 02:00:00:00:01:01 type veth \
  peer name vxu1 netns "$ns_b" address 02:00:00:00:01:02
ip link add vxr0 netns "$ns_b" address 02:00:00:00:02:01 type veth \
  peer name vxr1 netns "$ns_c" address 02:00:00:00:02:02
# Offloads off so the kernel computes real checksums and never hands a super-frame to a device.
offloads_off() { ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 ||
  ip netns exec "$1" ethtool -K "$2" tx off tso off gso off >/dev/null; }
up() { # ns dev addr/len
  offloads_off "$1" "$2"
  ip -n "$1" addr add "$3" dev "$2"
  ip -n "$1" link set "$2" up
}
up "$ns_a" vxu0 192.0.2.1/24
up "$ns_b" vxu1 192.0.2.2/24
up "$ns_b" vxr0 198.51.100.1/24
up "$ns_c" vxr1 198.51.100.2/24
ip -n "$ns_a" route add 198.51.100.0/24 via 192.0.2.2
ip -n "$ns_c" route add default via 198.51.100.1
ip netns exec "$ns_b" sysctl -qw net.ipv4.ip_forward=1
# vxcap-b forwards towards vxcap-c over a route whose MTU is locked at 1280: a full-size TCP segment
# from vxcap-a with DF set draws an ICMP fragmentation-needed that quotes it.
ip -n "$ns_b" route replace 198.51.100.0/24 dev vxr0 mtu lock 1280

for spec in "$ns_a 192.0.2.2 1" "$ns_b 192.0.2.1 2"; do
  set -- $spec
  for v in 42 43; do
    csum=noudpcsum
    [ "$v" = 43 ] && csum=udpcsum
    dev=vx$((v - 42))
    ip -n "$1" link add "$dev" address "02:00:00:00:$(printf %02x "$v"):0$3" type vxlan id "$v" \
      remote "$2" dstport 4789 srcport 49152 65535 dev vxu$(($3 - 1)) ttl 64 df set "$csum"
    up "$1" "$dev" "10.$v.0.$3/24"
  done
  ip netns exec "$1" sysctl -qw net.ipv4.ping_group_range="0 0"
done

ip netns exec "$ns_b" $py "$script" sniff vxu1 "$work/frames.json" "$work/sniff.ready" "$work/stop" &
sniff_pid=$!
pids+=($sniff_pid)
ip netns exec "$ns_b" $py "$script" server 10.42.0.2 5001 "$work/s1.ready" &
pids+=($!)
ip netns exec "$ns_c" $py "$script" server 198.51.100.2 5003 "$work/s3.ready" &
pids+=($!)
for f in sniff s1 s3; do $py "$script" wait "$work/$f.ready"; done

ip netns exec "$ns_a" $py "$script" client 10.42.0.2 5001 "hello, vxlan"
ip netns exec "$ns_a" $py "$script" ping 10.42.0.2 "over vni 42" 1
ip netns exec "$ns_a" $py "$script" ping 10.43.0.2 "over vni 43" 1
ip netns exec "$ns_a" $py "$script" ping 192.0.2.2 "virtuoso ping" 7
ip netns exec "$ns_a" $py "$script" udp-closed 192.0.2.2 9 "anyone there?"
ip netns exec "$ns_a" $py "$script" client 198.51.100.2 5003 4000
# Let the closing handshakes finish before the sniffer stops.
wait "${pids[1]}" "${pids[2]}"
sleep 0.2
touch "$work/stop"
wait "$sniff_pid"

$py "$script" emit "$work/frames.json" "$here/kernel_vxlan_frames.hpp"
echo "wrote $here/kernel_vxlan_frames.hpp"
