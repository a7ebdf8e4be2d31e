#!/usr/bin/env python3
"""Rounds over many open connections to an echo server: in each round every connection sends a
payload of its own (random size and bytes, seeded) and checks that exactly it comes back, the
connections taken in a different order every round. Prints 'ok CONNS ROUNDS BYTES'; exits 1 with
the connection and round on the first wrong byte, early end or timeout."""
import random
import socket
import sys


def recv_exact(s, n):
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError(f"the server closed after {len(out)} of {n} bytes")
        out += chunk
    return bytes(out)


def main():
    host, port, conns, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rng = random.Random(7)
    socks = [socket.create_connection((host, port), timeout=20) for _ in range(conns)]
    total = 0
    for r in range(rounds):
        order = list(range(conns))
        rng.shuffle(order)
        for i in order:
            size = rng.randint(1, 20000)
            payload = rng.randbytes(size)
            try:
                socks[i].sendall(payload)
                back = recv_exact(socks[i], size)
            except OSError as e:
                sys.exit(f"connection {i}, round {r}: {e}")
            if back != payload:
                first = next(k for k in range(size) if back[k] != payload[k])
                sys.exit(f"connection {i}, round {r}: byte {first} of {size} differs")
            total += size
    for s in socks:
        s.close()
    print(f"ok {conns} {rounds} {total}")


if __name__ == "__main__":
    main()
