#!/usr/bin/env python3
"""Sends COUNT Ethernet frames that are junk to a TCP/IP stack (IPv4 claiming TCP, with a wrong
header checksum) from interface IFACE to DST_MAC, through a raw packet socket; prints the count
sent and the seconds it took as JSON."""
import argparse
import json
import time

from frames import ipv4, mac_bytes, raw_port

ap = argparse.ArgumentParser()
ap.add_argument("--iface", required=True)
ap.add_argument("--dst-mac", required=True)
ap.add_argument("--count", type=int, required=True)
args = ap.parse_args()

s, src_mac = raw_port(args.iface)
dst_mac = mac_bytes(args.dst_mac)
ip = bytearray(ipv4(6, bytes([10, 0, 0, 9]), bytes([10, 0, 0, 1]), bytes(20))[:20])
ip[10] ^= 0x01  # the right checksum, with two bits flipped
ip[11] ^= 0x01
frame = dst_mac + src_mac + b"\x08\x00" + bytes(ip) + bytes(20)
start = time.monotonic()
for i in range(args.count):
    s.send(frame)
    if i % 256 == 255:
        time.sleep(0.001)  # a flood the port's receive ring can hold: every frame reaches the stack
print(json.dumps({"sent": args.count, "seconds": round(time.monotonic() - start, 3)}), flush=True)
