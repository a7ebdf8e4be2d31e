#!/usr/bin/env python3
# Checks a virtuoso-slowpath binary end to end without DPDK: plays the fast path and an app.
#
# Starts the slow path on a temporary run_dir, says hello on fp.sock, maps the control region,
# registers an app (answering the kAttachCtx command from shared memory), listens, punts a SYN and
# reads the SYN-ACK from the inject queue, asks ctl.sock for status, then stops it with SIGTERM.
# Usage: fake_fastpath_check.py PATH/TO/virtuoso-slowpath
import json
import mmap
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

ABI = 1
LOCAL_IP = 0x0A000001
PEER_IP = 0x0A000002
FP_MAC = bytes([2, 0, 0, 0, 0, 1])
PEER_MAC = bytes([2, 0, 0, 0, 0, 2])


def align(v, a):
    return (v + a - 1) // a * a


class Queue:
    """One SPSC queue in a mapped region: head at +0, tail at +64, entries from +128."""

    def __init__(self, mem, off, cap, size):
        self.mem, self.off, self.cap, self.size = mem, off, cap, size

    def _idx(self, at):
        return struct.unpack_from("<I", self.mem, self.off + at)[0]

    def pop(self):
        head, tail = self._idx(0), self._idx(64)
        if head == tail:
            return None
        at = self.off + 128 + (tail % self.cap) * self.size
        entry = bytes(self.mem[at:at + self.size])
        struct.pack_into("<I", self.mem, self.off + 64, (tail + 1) & 0xFFFFFFFF)
        return entry

    def push(self, entry):
        head, tail = self._idx(0), self._idx(64)
        assert head - tail < self.cap
        at = self.off + 128 + (head % self.cap) * self.size
        self.mem[at:at + len(entry)] = entry
        struct.pack_into("<I", self.mem, self.off, (head + 1) & 0xFFFFFFFF)


def wait_for(pred, what, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.005)
    raise SystemExit(f"FAIL: timed out waiting for {what}")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn_frame(sport, dport):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 6 << 4, 0x02, 65535, 0, 0)
    tcp += struct.pack("!BBH", 2, 4, 1460) + struct.pack("!BBBB", 1, 3, 3, 7)
    pseudo = struct.pack("!IIBBH", PEER_IP, LOCAL_IP, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, PEER_IP, LOCAL_IP)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return FP_MAC + PEER_MAC + b"\x08\x00" + ip + tcp


def status(run_dir):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.path.join(run_dir, "ctl.sock"))
    s.sendall(b"status\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return json.loads(data)


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="vsp-")
    run_dir = os.path.join(tmp, "run")
    cfg = os.path.join(tmp, "v.toml")
    with open(cfg, "w") as f:
        f.write(f'run_dir = "{run_dir}"\n[port]\ndevargs = "net_null0"\n[network]\nip = "10.0.0.1"\nprefix_len = 24\n'
                "[apps]\nmax_contexts = 4\nslots_per_context = 16\nmax_flows = 64\n")
    rfd, wfd = os.pipe()
    proc = subprocess.Popen([binary, "--config", cfg, "--ready-fd", str(wfd), "--log-level", "debug"],
                            pass_fds=[wfd])
    os.close(wfd)
    try:
        assert os.read(rfd, 16) == b"ready\n", "no ready line"
        for name in ("fp.sock", "app.sock", "ctl.sock"):
            assert os.path.exists(os.path.join(run_dir, name)), name
        st = status(run_dir)
        assert st["ready"] is False and st["ip"] == "10.0.0.1", st

        fp = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        fp.connect(os.path.join(run_dir, "fp.sock"))
        fp.send(struct.pack("<II6sH", 1, ABI, FP_MAC, 0).ljust(68, b"\0"))
        msg, fds, _, _ = socket.recv_fds(fp, 68, 3)
        assert len(msg) == 68 and struct.unpack_from("<I", msg)[0] == 2 and len(fds) == 3
        max_flows, punt_cap, inj_cap, cmd_cap, evt_cap = struct.unpack_from("<5I", msg, 16)
        assert struct.unpack_from("<I", msg, 60)[0] == LOCAL_IP
        punt_off = 448
        inj_off = punt_off + 128 + punt_cap * 2048
        cmd_off = inj_off + 128 + inj_cap * 2048
        evt_off = align(cmd_off + 128 + cmd_cap * 40, 64)
        flows_off = align(evt_off + 128 + evt_cap * 16, 64)
        mem = mmap.mmap(fds[0], flows_off + max_flows * 128)
        assert struct.unpack_from("<Q", mem, 0)[0] == 0x5649525455534F43
        punt, inject = Queue(mem, punt_off, punt_cap, 2048), Queue(mem, inj_off, inj_cap, 2048)
        cmd, evt = Queue(mem, cmd_off, cmd_cap, 40), Queue(mem, evt_off, evt_cap, 16)
        sp_bell = fds[1]
        struct.pack_into("<I", mem, 72, 1)  # fp_ready
        assert status(run_dir)["ready"] is True

        app = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        app.connect(os.path.join(run_dir, "app.sock"))
        app.send(struct.pack("<7IHHII", 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, ABI))
        amsg, afds, _, _ = wait_for(lambda: socket.recv_fds(fp, 68, 2), "kAttachCtx message")
        assert struct.unpack_from("<I", amsg)[0] == 3 and len(afds) == 2
        ctx = struct.unpack_from("<H", amsg, 14)[0]
        c = wait_for(cmd.pop, "kAttachCtx command")
        kind, cctx = struct.unpack_from("<HH", c)
        assert kind == 4 and cctx == ctx, (kind, cctx)
        evt.push(struct.pack("<HHIiI", 7, ctx, 0, 0, 0))  # kCtxAttached
        os.eventfd_write(sp_bell, 1)
        resp, rfds, _, _ = socket.recv_fds(app, 56, 3)
        kind, seq, err = struct.unpack_from("<IIi", resp)
        assert (kind, seq, err) == (1, 1, 0) and len(rfds) == 3, (kind, seq, err, rfds)
        assert struct.unpack_from("<I", resp, 52)[0] == LOCAL_IP

        app.send(struct.pack("<7IHHII", 2, 2, 0, 0, 0, 0, 0, 8080, 0, 16, 0))  # kListen port 8080
        resp = app.recv(56)
        kind, seq, err, lid = struct.unpack_from("<IIiI", resp)
        assert (kind, seq, err) == (2, 2, 0) and lid != 0, (kind, seq, err)

        frame = syn_frame(40000, 8080)
        punt.push(struct.pack("<HHI", len(frame), 0, 0) + frame)
        os.eventfd_write(sp_bell, 1)
        slot = wait_for(inject.pop, "SYN-ACK on the inject queue")
        flen = struct.unpack_from("<H", slot)[0]
        f = slot[8:8 + flen]
        assert f[0:6] == PEER_MAC and f[6:12] == FP_MAC, f[:12].hex()
        assert f[14 + 20 + 13] == 0x12, "flags %#x" % f[14 + 20 + 13]  # SYN|ACK
        assert struct.unpack_from("!I", f, 14 + 20 + 8)[0] == 1001
        st = status(run_dir)
        assert st["contexts"] == 1 and st["listeners"] == 1 and st["half_open"] == 1, st
        assert st["slowpath"]["syn_received"] == 1, st["slowpath"]

        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(os.path.join(run_dir, "ctl.sock"))
        s.sendall(b"bogus\n")
        assert json.loads(s.recv(1000)) == {"error": "unknown request"}

        app.close()  # the app exits: its listener goes, its context is detached
        c = wait_for(cmd.pop, "kDetachCtx command")
        assert struct.unpack_from("<HH", c) == (5, ctx)
        evt.push(struct.pack("<HHIiI", 5, ctx, 0, 0, 0))  # kCtxDetached
        os.eventfd_write(sp_bell, 1)
        wait_for(lambda: status(run_dir)["contexts"] == 0, "context released")

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0, "exit status"
        for name in ("fp.sock", "app.sock", "ctl.sock"):
            assert not os.path.exists(os.path.join(run_dir, name)), name + " left behind"
        print("OK: ready line, hello, register, listen, SYN -> SYN-ACK, status, detach, SIGTERM exit 0")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
