#!/usr/bin/env python3
"""Connections that cross fork(), from the client side: run under the shim against an echo server.

Each case connects, forks, and lets the child carry on with the connection while the parent
closes its copy (as fork-per-connection programs do), checking every byte the child gets back:
  fresh    the child does all the talking
  midway   the parent already sent and read part of the stream before forking
  unread   echoed bytes are waiting, unread, when the process forks; the child reads them
  silent   the child exits without touching it: the connection must still end (FIN)
  grand    the child forks again; the grandchild talks, the child closes its copy
  keep     the parent keeps its copy open and waits for the child, then talks again itself
  turns    parent and child take turns on one connection, each waiting for the other
Prints "ok CASE" for each; exits 1 with a reason on the first failure.
"""
import argparse
import hashlib
import os
import socket
import sys
import time

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--host", required=True)
p.add_argument("--port", type=int, required=True)
p.add_argument("--size", type=int, default=1 << 20, help="bytes each child streams")
p.add_argument("--cases", default="fresh,midway,unread,silent,grand,keep,turns")
args = p.parse_args()


def fail(why):
    print("FAIL", why, flush=True)
    os._exit(1)


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        b = s.recv(min(262144, n - len(buf)))
        if not b:
            fail(f"EOF after {len(buf)} of {n} bytes")
        buf += b
    return bytes(buf)


def echo_check(s, payload, window=32768):
    """Sends payload while reading the echo, never more than `window` bytes ahead (so a blocking
    send cannot wait on a peer that waits on our full receive ring); compares."""
    s.setblocking(True)
    got = bytearray()
    off = 0
    while len(got) < len(payload):
        room = window - (off - len(got))
        if off < len(payload) and room > 0:
            off += s.send(payload[off:off + room])
        b = s.recv(262144)
        if not b:
            fail(f"EOF after {len(got)} of {len(payload)} echoed bytes")
        got += b
    if hashlib.sha256(got).digest() != hashlib.sha256(payload).digest():
        fail("echoed bytes differ")


def in_child(fn):
    """Runs fn() in a forked child; the parent closes nothing itself. Returns the child's pid."""
    pid = os.fork()
    if pid == 0:
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - any failure is the test's failure
            fail(f"child: {e!r}")
        os._exit(0)
    return pid


def wait_ok(pid, case):
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        fail(f"{case}: child status {status}")


def connect():
    return socket.create_connection((args.host, args.port), timeout=60)


def case_fresh():
    s = connect()
    pid = in_child(lambda: echo_check(s, os.urandom(args.size)))
    s.close()
    wait_ok(pid, "fresh")


def case_midway():
    s = connect()
    echo_check(s, os.urandom(100000))
    pid = in_child(lambda: echo_check(s, os.urandom(args.size)))
    s.close()
    wait_ok(pid, "midway")


def case_unread():
    s = connect()
    blob = os.urandom(48000)
    s.sendall(blob)
    head = recv_exact(s, 1000)
    # Wait until the whole echo is here and unread, so it is in the rings when the process forks.
    deadline = time.monotonic() + 30
    while len(s.recv(65536, socket.MSG_PEEK)) < len(blob) - len(head):
        if time.monotonic() > deadline:
            fail("the echo never arrived in full")
        time.sleep(0.001)

    def child():
        rest = recv_exact(s, len(blob) - len(head))
        if head + rest != blob:
            fail("unread bytes changed across fork")
        echo_check(s, os.urandom(args.size // 4))

    pid = in_child(child)
    s.close()
    wait_ok(pid, "unread")


def case_silent():
    s = connect()
    echo_check(s, b"x" * 100)
    pid = in_child(lambda: None)
    s.close()
    wait_ok(pid, "silent")


def case_grand():
    s = connect()

    def child():
        pid = in_child(lambda: echo_check(s, os.urandom(args.size)))
        s.close()
        wait_ok(pid, "grand (grandchild)")

    pid = in_child(child)
    s.close()
    wait_ok(pid, "grand")


def case_keep():
    s = connect()
    echo_check(s, os.urandom(1000))
    pid = in_child(lambda: echo_check(s, os.urandom(args.size)))
    wait_ok(pid, "keep")  # the parent never closed its copy meanwhile
    echo_check(s, os.urandom(args.size // 4))
    s.close()


def case_turns():
    s = connect()
    r, w = os.pipe()  # the parent's go-ahead for the child, one byte per turn
    r2, w2 = os.pipe()  # the child's "done" for the parent

    def child():
        for _ in range(3):
            os.read(r, 1)
            echo_check(s, os.urandom(20000))
            os.write(w2, b"x")

    pid = in_child(child)
    for _ in range(3):
        echo_check(s, os.urandom(20000))
        os.write(w, b"x")
        os.read(r2, 1)
    wait_ok(pid, "turns")
    echo_check(s, os.urandom(1000))
    s.close()


CASES = {"fresh": case_fresh, "midway": case_midway, "unread": case_unread, "silent": case_silent,
         "grand": case_grand, "keep": case_keep, "turns": case_turns}
for name in args.cases.split(","):
    CASES[name]()
    print("ok", name, flush=True)
