#!/usr/bin/env python3
# Protocol conformance check for a memcached text-protocol server (kv-server or memcached itself).
"""Speaks the memcached text protocol over plain sockets and checks every reply.

Run against kv-server and against a real memcached: the same checks pass on both, which is the
point. Only loopback or a test namespace address should be given. Exits non-zero on any failure.
"""
import argparse
import socket
import sys
import time


class Conn:
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def values(self):
        """Reads VALUE blocks up to END: {key: (flags, data)}."""
        out = {}
        while True:
            line = self.line()
            if line == b"END":
                return out
            parts = line.split()
            if parts[0] != b"VALUE" or len(parts) not in (4, 5):
                raise AssertionError(f"expected VALUE or END, got {line!r}")
            data = self.exact(int(parts[3]) + 2)
            if data[-2:] != b"\r\n":
                raise AssertionError("value block not ended by CRLF")
            out[parts[1]] = (int(parts[2]), data[:-2])

    def closed(self):
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def check_basic(c):
    c.send(b"set kv:a 5 0 3\r\nabc\r\n")
    expect(c.line() == b"STORED", "set -> STORED")
    c.send(b"get kv:a\r\n")
    expect(c.values() == {b"kv:a": (5, b"abc")}, "get returns value and flags")
    c.send(b"gets kv:a\r\n")
    expect(c.values() == {b"kv:a": (5, b"abc")}, "gets returns value and flags")
    c.send(b"get kv:nothere\r\n")
    expect(c.values() == {}, "miss -> END only")


def check_multiget(c):
    for i in range(5):
        c.send(b"set kv:m%d %d 0 2\r\nv%d\r\n" % (i, i, i))
        expect(c.line() == b"STORED", "set")
    c.send(b"get kv:m0 kv:missing kv:m2 kv:m4\r\n")
    got = c.values()
    expect(got == {b"kv:m0": (0, b"v0"), b"kv:m2": (2, b"v2"), b"kv:m4": (4, b"v4")},
           f"multi-get returns the hits only: {got}")


def check_add_replace_delete(c):
    c.send(b"delete kv:x\r\n")
    c.line()
    c.send(b"replace kv:x 0 0 1\r\na\r\n")
    expect(c.line() == b"NOT_STORED", "replace of a missing key -> NOT_STORED")
    c.send(b"add kv:x 0 0 1\r\nb\r\n")
    expect(c.line() == b"STORED", "add of a missing key -> STORED")
    c.send(b"add kv:x 0 0 1\r\nc\r\n")
    expect(c.line() == b"NOT_STORED", "add of a present key -> NOT_STORED")
    c.send(b"replace kv:x 0 0 1\r\nd\r\n")
    expect(c.line() == b"STORED", "replace of a present key -> STORED")
    c.send(b"get kv:x\r\n")
    expect(c.values() == {b"kv:x": (0, b"d")}, "replace took effect")
    c.send(b"delete kv:x\r\n")
    expect(c.line() == b"DELETED", "delete -> DELETED")
    c.send(b"delete kv:x\r\n")
    expect(c.line() == b"NOT_FOUND", "second delete -> NOT_FOUND")


def check_noreply(c):
    c.send(b"set kv:n 0 0 1 noreply\r\n1\r\nadd kv:n 0 0 1 noreply\r\n2\r\n"
           b"delete kv:gone noreply\r\nget kv:n\r\n")
    expect(c.values() == {b"kv:n": (0, b"1")}, "noreply commands send nothing")
    c.send(b"delete kv:n noreply\r\nget kv:n\r\n")
    expect(c.values() == {}, "delete noreply took effect")


def check_pipelined(c):
    n = 200
    req = b"".join(b"set kv:p%d 0 0 %d\r\n%s\r\nget kv:p%d\r\n" % (i, len(b"%d" % i), b"%d" % i, i)
                   for i in range(n))
    c.send(req)
    for i in range(n):
        expect(c.line() == b"STORED", f"pipelined set {i}")
        expect(c.values() == {b"kv:p%d" % i: (0, b"%d" % i)}, f"pipelined get {i} in order")


def check_partial(c):
    req = b"set kv:slow 7 0 10\r\n0123456789\r\nget kv:slow\r\n"
    for i in range(0, len(req), 3):
        c.send(req[i:i + 3])
        time.sleep(0.002)
    expect(c.line() == b"STORED", "request split into 3-byte pieces -> STORED")
    expect(c.values() == {b"kv:slow": (7, b"0123456789")}, "and the value intact")


def check_big_value(c):
    value = bytes((i * 7) & 0xff for i in range(1024 * 1024 - 512))
    c.send(b"set kv:big 0 0 %d\r\n" % len(value) + value + b"\r\n")
    expect(c.line() == b"STORED", "value just under 1 MiB -> STORED")
    c.send(b"get kv:big\r\n")
    expect(c.values() == {b"kv:big": (0, value)}, "binary value returned byte for byte")


def check_errors(c):
    c.send(b"bogus\r\n")
    expect(c.line() == b"ERROR", "unknown command -> ERROR")
    c.send(b"get " + b"k" * 251 + b"\r\n")
    expect(c.line().startswith(b"CLIENT_ERROR "), "251-byte key -> CLIENT_ERROR")
    c.send(b"set kv:bad 0 0 3\r\nabcde\r\n")
    expect(c.line().startswith(b"CLIENT_ERROR "), "data longer than declared -> CLIENT_ERROR")
    # memcached may then read the rest of the block as a command; resynchronise on a marker.
    c.send(b"version\r\n")
    while not c.line().startswith(b"VERSION "):
        pass
    # The refusal may come at once (kv-server) or once the block is read (memcached): send the
    # whole block before reading.
    big = 2 * 1024 * 1024
    c.send(b"set kv:huge 0 0 %d\r\n" % big + b"z" * big + b"\r\nget kv:a\r\n")
    expect(c.line().startswith(b"SERVER_ERROR "), "2 MiB value -> SERVER_ERROR")
    expect(c.values() == {b"kv:a": (5, b"abc")}, "refused value swallowed, next command served")


def check_expiry(c):
    c.send(b"set kv:e1 0 1 1\r\na\r\nset kv:eneg 0 -1 1\r\nb\r\nset kv:e0 0 0 1\r\nc\r\n")
    for _ in range(3):
        expect(c.line() == b"STORED", "set with exptime")
    c.send(b"get kv:eneg\r\n")
    expect(c.values() == {}, "negative exptime -> never visible")
    time.sleep(2.2)
    c.send(b"get kv:e1 kv:e0\r\n")
    expect(c.values() == {b"kv:e0": (0, b"c")}, "1 s item gone after 2 s, 0 s item kept")


def check_version_stats(c):
    c.send(b"version\r\n")
    expect(c.line().startswith(b"VERSION "), "version -> VERSION x")
    c.send(b"stats\r\n")
    stats = {}
    while True:
        line = c.line()
        if line == b"END":
            break
        parts = line.split(b" ", 2)
        expect(parts[0] == b"STAT" and len(parts) == 3, f"stats line {line!r}")
        stats[parts[1].decode()] = parts[2].decode()
    for name in ("pid", "uptime", "curr_items", "cmd_get", "cmd_set", "get_hits", "get_misses",
                 "evictions", "limit_maxbytes", "curr_connections", "bytes"):
        expect(name in stats, f"stats has {name}")
    expect(int(stats["get_hits"]) > 0 and int(stats["cmd_set"]) > 0, "stats counters move")


def check_flush_quit(c):
    c.send(b"flush_all\r\n")
    expect(c.line() == b"OK", "flush_all -> OK")
    c.send(b"get kv:a\r\n")
    expect(c.values() == {}, "flushed")
    c.send(b"quit\r\n")
    expect(c.closed(), "quit closes the connection")


CHECKS = [check_basic, check_multiget, check_add_replace_delete, check_noreply, check_pipelined,
          check_partial, check_big_value, check_errors, check_expiry, check_version_stats,
          check_flush_quit]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=11211)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for a reply")
    args = ap.parse_args()
    passed = failed = 0
    conn = Conn(args.host, args.port, args.timeout)
    for check in CHECKS:
        name = check.__name__[len("check_"):]
        try:
            check(conn)
            passed += 1
            print(f"PASS {name}")
        except (AssertionError, ConnectionError, OSError, ValueError, IndexError) as e:
            failed += 1
            print(f"FAIL {name}: {e}")
            conn.close()  # the stream may be out of step: start the next check afresh
            conn = Conn(args.host, args.port, args.timeout)
    conn.close()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
