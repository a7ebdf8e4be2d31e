#!/usr/bin/env python3
"""Sends COUNT Ethernet frames that are junk to a TCP/IP stack (IPv4 claiming TCP, with a wrong
header checksum) from interface IFACE to DST_MAC, through a raw packet socket; prints the count
sent and the seconds it took as JSON."""
import argparse
import json
import socket
import time

from frames import ipv4

ap = argparse.ArgumentParser()
ap.add_argument("--iface", required=True)
ap.add_argument("--dst-mac", required=True)
ap.add_argument("--count", type=int, required=True)
args = ap.parse_args()

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((args.iface, 0))
src_mac = s.getsockname()[4]
dst_mac = bytes(int(b, 16) for b in args.dst_mac.split(":"))
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
