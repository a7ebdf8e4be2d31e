# A minimal app speaking the daemon's app ABI directly, without the shim: registration over
# app.sock, requests, the ctl queue, and the per-slot byte rings. For end-to-end checks only.
import mmap
import os
import socket
import struct

ABI = 1
REGISTER, LISTEN, UNLISTEN, CONNECT, CLOSE, ABORT, ACCEPT_ACK = 1, 2, 3, 4, 5, 6, 7
TX_BUMP, RX_CONSUMED, TX_FIN = 1, 2, 3
ACCEPTED, CONNECTED, CONNECT_FAILED, RESET, CLOSED = 1, 2, 3, 4, 5


def align(v, a):
    return (v + a - 1) // a * a


class Queue:
    """An SPSC queue in the region: head at +0, tail at +64, entries from +128 (x86: plain stores suffice)."""

    def __init__(self, mem, off, cap, size):
        self.mem, self.off, self.cap, self.size = mem, off, cap, size

    def _index(self, at):
        return struct.unpack_from("<I", self.mem, self.off + at)[0]

    def pop(self):
        head, tail = self._index(0), self._index(64)
        if head == tail:
            return None
        at = self.off + 128 + (tail % self.cap) * self.size
        entry = bytes(self.mem[at:at + self.size])
        struct.pack_into("<I", self.mem, self.off + 64, (tail + 1) & 0xFFFFFFFF)
        return entry

    def push(self, entry):
        head, tail = self._index(0), self._index(64)
        if head - tail >= self.cap:
            raise RuntimeError("queue full")
        at = self.off + 128 + (head % self.cap) * self.size
        self.mem[at:at + len(entry)] = entry
        struct.pack_into("<I", self.mem, self.off, (head + 1) & 0xFFFFFFFF)


class App:
    def __init__(self, run_dir):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.connect(os.path.join(run_dir, "app.sock"))
        self.seq = 0
        r, fds = self.request(REGISTER, version=ABI, nfds=3)
        if r["error"]:
            raise RuntimeError(f"register: errno {r['error']}")
        n, rx, tx, atx, arx, ctl = struct.unpack_from("<6I", r["raw"], 28)
        self.n, self.rx, self.tx = n, rx, tx
        arx_off = align(256 + 128 + atx * 16, 64)
        ctl_off = align(arx_off + 128 + arx * 16, 64)
        self.slots_off = align(ctl_off + 128 + ctl * 40, 64)
        self.buf_off = align(self.slots_off + n * 256, 4096)
        self.mem = mmap.mmap(fds[0], self.buf_off + n * (rx + tx))
        self.fp_bell = fds[2]
        self.atx = Queue(self.mem, 256, atx, 16)
        self.ctl = Queue(self.mem, ctl_off, ctl, 40)

    def request(self, kind, id=0, slot=0, gen=0, ip=0, port=0, backlog=0, version=0, nfds=0):
        self.seq += 1
        self.sock.send(struct.pack("<7IHHII", kind, self.seq, id, slot, gen, ip, 0, port, 0, backlog, version))
        if nfds:
            raw, fds, _, _ = socket.recv_fds(self.sock, 56, nfds)
        else:
            raw, fds = self.sock.recv(56), []
        kind, seq, error, rid, rip, rport = struct.unpack_from("<IIiIIH", raw)
        return dict(error=error, id=rid, ip=rip, port=rport, raw=raw), fds

    def command(self, slot, gen, kind):
        self.atx.push(struct.pack("<IIHHI", slot, gen, kind, 0, 0))
        os.eventfd_write(self.fp_bell, 1)  # cheaper to ring than to read fp_sleeping here

    def events(self):
        out = []
        while (e := self.ctl.pop()) is not None:
            kind, _, id, slot, gen, error, lip, rip, lport, rport, mss = struct.unpack_from("<HHIIIiIIHHH", e)
            out.append(dict(kind=kind, id=id, slot=slot, gen=gen, error=error, rport=rport, lport=lport, mss=mss))
        return out

    def positions(self, i):
        b = self.slots_off + i * 256
        u = lambda at: struct.unpack_from("<I", self.mem, b + at)[0]
        return dict(rx_head=u(0), rx_fin=u(4), error=u(8), rx_tail=u(64), tx_head=u(128), tx_tail=u(192))

    def _set(self, i, at, v):
        struct.pack_into("<I", self.mem, self.slots_off + i * 256 + at, v & 0xFFFFFFFF)

    def recv(self, i, gen):
        p = self.positions(i)
        n = (p["rx_head"] - p["rx_tail"]) & 0xFFFFFFFF
        base, out, pos = self.buf_off + i * (self.rx + self.tx), b"", p["rx_tail"]
        while len(out) < n:
            o = pos % self.rx
            k = min(n - len(out), self.rx - o)
            out += bytes(self.mem[base + o:base + o + k])
            pos += k
        if n:
            self._set(i, 64, p["rx_tail"] + n)
            self.command(i, gen, RX_CONSUMED)
        return out, bool(p["rx_fin"]) and n == 0

    def send(self, i, gen, data):
        p = self.positions(i)
        n = min(len(data), self.tx - ((p["tx_head"] - p["tx_tail"]) & 0xFFFFFFFF))
        base, pos, done = self.buf_off + i * (self.rx + self.tx) + self.rx, p["tx_head"], 0
        while done < n:
            o = pos % self.tx
            k = min(n - done, self.tx - o)
            self.mem[base + o:base + o + k] = data[done:done + k]
            pos += k
            done += k
        if n:
            self._set(i, 128, p["tx_head"] + n)
            self.command(i, gen, TX_BUMP)
        return n
