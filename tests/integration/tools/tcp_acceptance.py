#!/usr/bin/python3
"""Segment acceptance as RFC 9293 3.10.7.4 says, checked from a packet-level peer: scapy builds
and parses every segment (an implementation of the wire format independent of the stack's), sent
and received on a raw packet socket from an address nobody else in the namespace owns (this
program answers ARP for it, and the kernel drops what is sent to it, so it never answers with a
reset of its own).

Against a listener that reads only when told (peers/held_reader.py), two connections:
  1. no timestamps: in-window data is acknowledged; a segment beyond the window and an old
     duplicate get an ACK of RCV.NXT and are not delivered; an RST inside the window but not at
     RCV.NXT, and a SYN, get a challenge ACK (RFC 5961) and the connection lives on; data carrying
     an ACK of bytes never sent is dropped with an ACK; a flood of such RSTs gets a bounded number
     of challenge ACKs; with the app not reading, data straddling the advertised right edge is
     trimmed there and nothing beyond it is ever acknowledged, also with the window shut; when the
     app reads, the window reopens and the stream ends with a FIN. The app must have read exactly
     the bytes acknowledged, in order (sha256).
  2. timestamps: a segment failing PAWS is dropped with an ACK; an RST exactly at RCV.NXT resets
     the connection (the app sees ECONNRESET after the bytes it was sent); later segments get a
     reset.
Prints "PASS ..." lines and a final summary; exits 1 on the first failed expectation.
"""
import argparse
import hashlib
import os
import random
import select
import socket
import sys
import time

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import ARP, Ether

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SYN, RST, ACK, FIN, PSH = 0x02, 0x04, 0x10, 0x01, 0x08


class Failure(Exception):
    pass


def stream_bytes(off, n):
    """The bytes of the stream this peer means to send, at offsets off..off+n."""
    return bytes(((i * 2654435761) >> 11) & 0xFF for i in range(off, off + n))


def mod32(x):
    return x & 0xFFFFFFFF


def seq_gt(a, b):
    return 0 < mod32(a - b) < 0x80000000


class Wire:
    """The raw socket on the peer's interface: sends IP packets to the stack's MAC, hands back the
    stack's TCP segments to `my_ip`, answers ARP for `my_ip` on the way."""

    def __init__(self, iface, my_ip, stack_ip, stack_mac):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.sock.bind((iface, 0))
        self.mac = ":".join(f"{b:02x}" for b in self.sock.getsockname()[4])
        self.my_ip, self.stack_ip, self.stack_mac = my_ip, stack_ip, stack_mac

    def send(self, pkt):
        self.sock.send(bytes(Ether(src=self.mac, dst=self.stack_mac) / pkt))

    def next_segment(self, deadline):
        """The stack's next TCP segment to us, or None at the deadline."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not select.select([self.sock], [], [], left)[0]:
                return None
            data, addr = self.sock.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            f = Ether(data)
            if ARP in f and f[ARP].op == 1 and f[ARP].pdst == self.my_ip:
                self.send_arp_reply(f[ARP])
            elif IP in f and TCP in f and f[IP].src == self.stack_ip and f[IP].dst == self.my_ip:
                return f[TCP]

    def send_arp_reply(self, req):
        reply = ARP(op=2, hwsrc=self.mac, psrc=self.my_ip, hwdst=req.hwsrc, pdst=req.psrc)
        self.sock.send(bytes(Ether(src=self.mac, dst=req.hwsrc) / reply))


class Conn:
    """One connection to the stack, driven segment by segment."""

    def __init__(self, wire, sport, dport, timestamps=False):
        self.w, self.sport, self.dport, self.ts = wire, sport, dport, timestamps
        self.isn = random.getrandbits(32)
        self.snd_nxt = mod32(self.isn + 1)  # our next sequence number
        self.rcv_nxt = 0  # the stack's next sequence number
        self.tsval = 1000
        self.ts_recent = 0
        self.last = None  # the stack's last segment: its ack and window

    def offset(self, seq):
        """A sequence number of ours as an offset in our stream."""
        return mod32(seq - self.isn - 1)

    def seg(self, flags, seq=None, ack=None, payload=b"", tsval=None, window=65535):
        opts = []
        if self.ts:
            opts = [("NOP", None), ("NOP", None), ("Timestamp", (tsval or self.tsval, self.ts_recent))]
        tcp = TCP(sport=self.sport, dport=self.dport, flags=flags, window=window, options=opts,
                  seq=self.snd_nxt if seq is None else seq,
                  ack=(self.rcv_nxt if ack is None else ack) if flags & ACK else 0)
        self.w.send(IP(src=self.w.my_ip, dst=self.w.stack_ip, flags="DF") / tcp / payload)

    def segments(self, deadline):
        while True:
            t = self.w.next_segment(deadline)
            if t is None:
                return
            if t.sport != self.dport or t.dport != self.sport:
                continue
            if not t.flags & RST and t.flags & ACK:
                self.last = t
            for name, val in t.options:
                if name == "Timestamp":
                    self.ts_recent = val[0]
            yield t

    def expect(self, what, pred, timeout=2.0):
        for t in self.segments(time.monotonic() + timeout):
            if pred(t):
                return t
        raise Failure(f"{what}: no such segment from the stack within {timeout} s "
                      f"(last: {self.describe(self.last)})")

    def quiet(self):
        """Reads what the stack sent so far (the answers to earlier steps)."""
        for _ in self.segments(time.monotonic() + 0.05):
            pass

    def describe(self, t):
        if t is None:
            return "none"
        return f"flags={t.flags} seq={t.seq} ack={t.ack} (our offset {self.offset(t.ack)}) window={t.window}"

    def handshake(self, mss=1460):
        opts = [("MSS", mss)]
        if self.ts:
            opts += [("NOP", None), ("NOP", None), ("Timestamp", (self.tsval, 0))]
        self.w.send(IP(src=self.w.my_ip, dst=self.w.stack_ip, flags="DF") /
                    TCP(sport=self.sport, dport=self.dport, flags="S", seq=self.isn, window=65535, options=opts))
        sa = self.expect("SYN-ACK", lambda t: t.flags & (SYN | ACK) == SYN | ACK and t.ack == self.snd_nxt)
        if self.ts and not any(n == "Timestamp" for n, _ in sa.options):
            raise Failure("the SYN-ACK carries no timestamps though the SYN offered them")
        self.rcv_nxt = mod32(sa.seq + 1)
        self.tsval += 1
        self.seg(ACK)

    def send_data(self, off, n, tsval=None):
        self.seg(ACK | PSH, seq=mod32(self.isn + 1 + off), payload=stream_bytes(off, n), tsval=tsval)

    def deliver(self, off, n, what, tsval=None):
        """Data at offset `off` that the stack must acknowledge; our next sequence follows it, and
        the stack's answers so far are read."""
        self.send_data(off, n, tsval)
        self.acked_to(off + n, what)
        self.snd_nxt = mod32(self.isn + 1 + off + n)
        self.quiet()

    def acked_to(self, off, what, timeout=2.0):
        want = mod32(self.isn + 1 + off)
        return self.expect(what, lambda t: t.flags & ACK and not seq_gt(want, t.ack), timeout)

    def ack_of_rcv_nxt(self, what):
        """The stack answers the last segment with an ACK of exactly what it had before."""
        want = self.snd_nxt
        t = self.expect(what, lambda t: t.flags & ACK and not t.flags & RST)
        if t.ack != want:
            raise Failure(f"{what}: ACK of our offset {self.offset(t.ack)}, want {self.offset(want)} (RCV.NXT)")
        return t


def wait_line(path, prefix, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split()
        time.sleep(0.02)
    raise Failure(f"the server never printed '{prefix}' (see {path})")


def passed(msg):
    print(f"PASS {msg}", flush=True)


def first_connection(w, args):
    c = Conn(w, 40001, args.port)
    c.handshake()
    wait_line(args.server_log, "accepted 1", 10)
    wnd = c.last.window
    passed(f"handshake without options beyond MSS: window {wnd}")

    c.deliver(0, 1000, "in-window data")
    passed("in-window data is acknowledged")

    c.seg(ACK, seq=mod32(c.snd_nxt + wnd + 1000), payload=b"X" * 100)
    c.ack_of_rcv_nxt("a segment beyond the window")
    passed("a segment beyond the window: an ACK of RCV.NXT")

    c.seg(ACK, seq=mod32(c.isn + 1), payload=b"Y" * 500)
    c.ack_of_rcv_nxt("an old duplicate")
    passed("an old duplicate with other bytes: an ACK of RCV.NXT, not delivered")

    c.seg(RST, seq=mod32(c.snd_nxt + 10))
    c.ack_of_rcv_nxt("an RST inside the window, not at RCV.NXT")
    c.deliver(1000, 1000, "data after the challenged RST")
    passed("an RST inside the window: a challenge ACK, the connection lives on")

    c.seg(SYN, seq=mod32(c.snd_nxt + 5))
    c.ack_of_rcv_nxt("a SYN on an established connection")
    c.deliver(2000, 1000, "data after the SYN")
    passed("a SYN on an established connection: a challenge ACK, the connection lives on")

    c.seg(ACK | PSH, ack=mod32(c.rcv_nxt + 100000), payload=b"Z" * 200)
    c.ack_of_rcv_nxt("data with an ACK of bytes never sent")
    passed("data with an ACK of bytes never sent: dropped, answered with an ACK of RCV.NXT")

    c.quiet()
    for i in range(args.rst_flood):
        c.seg(RST, seq=mod32(c.snd_nxt + 1 + i % 1000))
    answers = sum(1 for t in c.segments(time.monotonic() + 0.5) if t.flags & ACK and t.ack == c.snd_nxt)
    print(f"challenge_acks {answers} for {args.rst_flood} RSTs", flush=True)
    if answers < 1 or answers > args.max_challenges:
        raise Failure(f"{answers} challenge ACKs for {args.rst_flood} in-window RSTs, "
                      f"want 1..{args.max_challenges}")
    passed(f"an RST flood: {answers} challenge ACKs for {args.rst_flood} RSTs")

    # The app does not read: fill the window, then straddle its right edge.
    c.send_data(3000, 500)
    last = c.acked_to(3500, "data before filling the window")
    edge = c.offset(last.ack) + last.window
    off = 3500
    while off + 1000 <= edge - 300:
        c.send_data(off, 1000)
        off += 1000
    c.send_data(off, edge - off - 300)  # 300 bytes short of the edge
    c.send_data(edge - 300, 1000)       # 700 of them past it
    t = c.acked_to(edge, "data up to the right edge")
    beyond = [x for x in c.segments(time.monotonic() + 0.3) if x.flags & ACK and seq_gt(x.ack, mod32(c.isn + 1 + edge))]
    if c.offset(t.ack) != edge or beyond:
        raise Failure(f"acknowledged past the advertised right edge {edge}: {c.describe(beyond[0] if beyond else t)}")
    if c.last.window != 0:
        raise Failure(f"window {c.last.window} with the app not reading and the ring full, want 0")
    c.snd_nxt = mod32(c.isn + 1 + edge)
    passed(f"a segment straddling the right edge (offset {edge}): trimmed there, window 0")

    c.send_data(edge, 500)
    t = c.ack_of_rcv_nxt("data into a zero window")
    if t.window != 0:
        raise Failure(f"window {t.window} after data into a zero window, want 0")
    c.seg(ACK, seq=mod32(c.snd_nxt - 1))
    c.ack_of_rcv_nxt("a zero-window probe")
    passed("a zero window: data not accepted, an ACK of RCV.NXT; a probe answered")

    with open(args.go, "w") as go:
        go.write("go\n")
    c.expect("a window update once the app reads", lambda t: t.flags & ACK and t.window > 0, timeout=5)
    total = edge + 4000
    off = edge
    while off < total:
        n = min(1000, total - off)
        c.send_data(off, n)
        c.acked_to(off + n, f"data at offset {off} after the window reopened")
        off += n
    c.snd_nxt = mod32(c.isn + 1 + total)
    c.seg(ACK | FIN)
    c.acked_to(total + 1, "our FIN")
    c.snd_nxt = mod32(c.snd_nxt + 1)
    fields = wait_line(args.server_log, "conn 1 ", 10)
    got_bytes, got_sha, end = int(fields[3]), fields[5], fields[6]
    want_sha = hashlib.sha256(stream_bytes(0, total)).hexdigest()
    if got_bytes != total or got_sha != want_sha or end != "end=eof":
        raise Failure(f"the app read {got_bytes} bytes sha256 {got_sha} {end}; "
                      f"the stack acknowledged {total} bytes sha256 {want_sha}")
    fin = c.expect("the stack's FIN after the app closed", lambda t: t.flags & FIN)
    c.rcv_nxt = mod32(fin.seq + 1)
    c.seg(ACK)
    passed(f"the window reopens when the app reads; it read exactly the {total} bytes acknowledged")


def second_connection(w, args):
    c = Conn(w, 40002, args.port, timestamps=True)
    c.handshake()
    wait_line(args.server_log, "accepted 2", 10)
    with open(args.go, "w") as go:
        go.write("go\n")
    c.tsval = 2000
    c.deliver(0, 1000, "data with timestamps")
    c.seg(ACK | PSH, payload=b"P" * 500, tsval=1500)
    c.ack_of_rcv_nxt("a segment with an older timestamp")
    c.tsval = 3000
    c.deliver(1000, 1000, "data after the PAWS drop")
    passed("PAWS: a segment with an older timestamp is dropped with an ACK of RCV.NXT")

    c.seg(RST, seq=c.snd_nxt)
    fields = wait_line(args.server_log, "conn 2 ", 10)
    want_sha = hashlib.sha256(stream_bytes(0, 2000)).hexdigest()
    if fields[3] != "2000" or fields[5] != want_sha or fields[6] != "end=ECONNRESET":
        raise Failure(f"after an RST at RCV.NXT the app saw {' '.join(fields[2:])}, "
                      f"want 2000 bytes sha256 {want_sha} end=ECONNRESET")
    c.seg(ACK | PSH, payload=b"Q" * 100)
    c.expect("a reset for a segment of the reset connection", lambda t: t.flags & RST)
    passed("an RST at RCV.NXT resets the connection: the app reads its bytes, then ECONNRESET")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iface", required=True)
    p.add_argument("--src", required=True, help="this peer's address (nobody else's in the namespace)")
    p.add_argument("--dst", required=True, help="the stack's address")
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--server-log", required=True)
    p.add_argument("--go", required=True)
    p.add_argument("--rst-flood", type=int, default=300)
    p.add_argument("--max-challenges", type=int, required=True)
    args = p.parse_args()
    w = Wire(args.iface, args.src, args.dst, args.dst_mac)
    try:
        first_connection(w, args)
        second_connection(w, args)
    except Failure as e:
        print(f"FAIL {e}", flush=True)
        sys.exit(1)
    print("all segment acceptance checks passed", flush=True)


if __name__ == "__main__":
    main()
