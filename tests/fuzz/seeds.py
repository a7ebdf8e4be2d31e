#!/usr/bin/env python3
"""Writes a seed corpus for a fuzz target into DIR: frames as Linux and the stack send them for
fuzz-wire (TCP with every option, data with timestamps and SACK blocks, ARP, ICMP echo and
fragmentation-needed, VXLAN around TCP), the shipped and test configurations for fuzz-config.
fuzz-fastpath reads a script, not a frame: it starts from nothing; fuzz-slowpath starts from a
listener and a handshake spelt out in its script format; fuzz-ctl from every kind of ctl.sock
request virtuosoctl sends."""
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "tools"))
from frames import csum, eth, ipv4, tcp  # noqa: E402


A, B = [10, 0, 0, 2], [10, 0, 0, 1]
MA, MB = [2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1]


def tcp_frame(flags, opts=b"", payload=b"", seq=1000, ack=5000):
    return eth(MB, MA, 0x0800, ipv4(6, A, B, tcp(A, B, 40000, 7007, seq, ack, flags, opts, payload)))


def wire_seeds():
    syn_opts = struct.pack("!BBH", 2, 4, 1460) + b"\x04\x02" + struct.pack("!BBII", 8, 10, 1, 0) + b"\x01\x03\x03\x07"
    ts = b"\x01\x01" + struct.pack("!BBII", 8, 10, 12345, 678)
    sack = b"\x01\x01" + struct.pack("!BBIIII", 5, 18, 2000, 3000, 4000, 5000)
    yield "syn", tcp_frame(0x02, syn_opts)
    yield "data_ts", tcp_frame(0x18, ts, b"hello world" * 10)
    yield "ack_sack", tcp_frame(0x10, ts + sack)
    yield "fin", tcp_frame(0x11, ts)
    yield "rst", tcp_frame(0x04)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, bytes(MA), bytes(A), bytes(6), bytes(B))
    yield "arp", eth([0xFF] * 6, MA, 0x0806, arp)
    echo = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"ping" * 8
    echo = echo[:2] + struct.pack("!H", csum(echo)) + echo[4:]
    yield "icmp_echo", eth(MB, MA, 0x0800, ipv4(1, A, B, echo))
    # An IPv6 neighbour solicitation as Linux sends it (tests/unit/frames/kernel_ipv6_frames.hpp).
    yield "ipv6_ns", bytes.fromhex(
        "3333ff000002020000000001" "86dd" "6000000000203aff" "fd000001000000000000000000000001"
        "ff0200000000000000000001ff000002" "8700" "7d95" "00000000" "fd000001000000000000000000000002"
        "0101020000000001")
    inner = ipv4(6, B, A, tcp(B, A, 7007, 40000, 5000, 1000, 0x10))[:28 + 20]
    frag = struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + inner
    frag = frag[:2] + struct.pack("!H", csum(frag)) + frag[4:]
    yield "icmp_frag_needed", eth(MB, MA, 0x0800, ipv4(1, A, B, frag))
    inner_frame = eth([2, 0, 0, 0, 1, 1], [2, 0, 0, 0, 1, 2], 0x0800,
                      ipv4(6, [10, 200, 0, 2], [10, 200, 0, 1], tcp([10, 200, 0, 2], [10, 200, 0, 1], 40000, 9000, 7, 9, 0x18, ts, b"tenant")))
    vx = struct.pack("!BBHI", 0x08, 0, 0, 100 << 8) + inner_frame
    udp = struct.pack("!HHHH", 49152, 4789, 8 + len(vx), 0) + vx
    yield "vxlan_tcp", eth(MB, MA, 0x0800, ipv4(17, A, B, udp))


def config_seeds():
    with open(os.path.join(ROOT, "docs", "virtuoso.example.toml"), "rb") as f:
        yield "example", f.read()
    yield "minimal", b'[port]\ndevargs = "net_tap0,iface=vtap0"\n[network]\nip = "10.0.0.2"\n'
    yield "tenants", (b'log_target = "syslog"\n[port]\npci = "0000:03:00.0"\n[network]\nip = "10.0.0.2"\n'
                      b'[[tenant]]\nname = "web"\nvni = 100\naddresses = ["10.1.0.0/24"]\ncpu_weight = 300\n'
                      b'reach = ["db"]\n[tenant.match]\nuids = [1000]\ncgroup = "/web"\n'
                      b'[[tenant.remote]]\nprefix = "10.1.1.0/24"\nvtep = "192.168.1.2"\n'
                      b'[[tenant]]\nname = "db"\nvni = 200\naddresses = ["10.2.0.0/24"]\n[tenant.match]\nsocket = "db"\n'
                      b'[faults.rx]\nloss = 0.01\n[budgets]\nenforce = false\n[metrics]\nlisten = "127.0.0.1:9108"\n')


def slowpath_seeds():
    """fuzz-slowpath scripts (see its step readers): an app listens on port 80, a peer's SYN, the
    ACK answering the SYN-ACK with 10 bytes, the clock, the app leaving."""
    listen = bytes([0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    syn = bytes([2, 0x02, 200, 0]) + (1000).to_bytes(4, "little") + bytes(4) + \
        bytes([255, 255, 1, 0xb4, 0x05, 1, 7, 1, 0]) + bytes(8) + bytes([0, 1, 0, 0])
    ack = bytes([2, 0x10, 0, 0, 0, 255, 255, 0, 0, 0, 0]) + bytes(8) + bytes([0, 10])
    tick = bytes([8, 50])
    leave = bytes([7, 0, 0])
    return [("listen-syn-ack", listen + syn + ack + tick + leave), ("listen-syn", listen + syn + tick)]


def ctl_seeds():
    yield "status", b"status\nstatus connections\n"
    yield "faults", b"faults\nfaults set seed=7 rx.loss=0.01 tx.reorder=0.02 tx.reorder_delay_us=300\nfaults clear\n"
    yield "bottleneck", b"faults set tx.rate_mbps=500 tx.queue_bytes=100000 tx.mark_bytes=30000 tx.delay_us=5000\n"
    yield "switch", b"switch add a 10.200.1.0/24 192.0.2.7\nswitch remove a 10.200.1.0/24\n"
    yield "tenants", b"tenants set a weight=300\ntenants set host weight=50\ntenants budgets enforce=on period_us=200 burst_periods=4 ecn=on\n"
    yield "log_level", b"log-level debug\nlog-level warning\n"


def main():
    target, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    seeds = {"fuzz-wire": wire_seeds, "fuzz-wire-planted": wire_seeds, "fuzz-config": config_seeds,
             "fuzz-slowpath": slowpath_seeds, "fuzz-ctl": ctl_seeds}.get(target)
    for name, data in (seeds() if seeds else []):
        with open(os.path.join(out, "seed-" + name), "wb") as f:
            f.write(data)


main()
