#!/usr/bin/env python3
"""Floods a stack from interface IFACE with what costs it work but concerns no connection, as raw
Ethernet frames: ARP requests for its address DST from ever new senders (random addresses of
10.128.0.0/9 and MACs, each asking to be learnt), and ACKs to a closed port from SRC with random ports (each asks for a reset). The two
kinds alternate. Paced in bursts the port's receive ring can hold. Prints the counts as JSON."""
import argparse
import json
import random
import socket
import struct
import time

from frames import arp_request, eth, ipv4, mac_bytes, raw_port, tcp

ap = argparse.ArgumentParser()
ap.add_argument("--iface", required=True)
ap.add_argument("--dst-mac", required=True)
ap.add_argument("--dst", required=True)
ap.add_argument("--src", required=True, help="the address the ACKs come from")
ap.add_argument("--closed-port", type=int, required=True)
ap.add_argument("--count", type=int, required=True, help="frames of each kind")
args = ap.parse_args()

s, src_mac = raw_port(args.iface)
dst_mac = mac_bytes(args.dst_mac)
dst, src = socket.inet_aton(args.dst), socket.inet_aton(args.src)
rng = random.Random(11)
start = time.monotonic()
for i in range(args.count):
    sender_mac = bytes([0x02]) + rng.getrandbits(40).to_bytes(5, "big")
    sender_ip = bytes([10, 128 + rng.randrange(128), rng.randrange(256), 1 + rng.randrange(254)])
    s.send(eth(b"\xff" * 6, sender_mac, 0x0806, arp_request(sender_mac, sender_ip, dst)))
    ack = tcp(src, dst, rng.randrange(1024, 65535), args.closed_port, rng.getrandbits(32), rng.getrandbits(32), 0x10)
    s.send(dst_mac + src_mac + b"\x08\x00" + ipv4(6, src, dst, ack, ident=i))
    if i % 128 == 127:
        time.sleep(0.001)
print(json.dumps({"arp": args.count, "acks": args.count, "seconds": round(time.monotonic() - start, 3)}), flush=True)
