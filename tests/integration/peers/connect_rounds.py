#!/usr/bin/env python3
"""connect() + request + close(), N times, against an echo server at HOST:PORT: each round a new
connection sends its own payload and checks that exactly it comes back. Prints 'ok N'; exits 1
with the round on the first error or wrong byte."""
import socket
import sys


def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for i in range(n):
        payload = f"round {i} ".encode() * 8
        try:
            with socket.create_connection((host, port), timeout=20) as s:
                s.sendall(payload)
                got = b""
                while len(got) < len(payload):
                    chunk = s.recv(len(payload) - len(got))
                    if not chunk:
                        sys.exit(f"round {i}: the server closed after {len(got)} bytes")
                    got += chunk
        except OSError as e:
            sys.exit(f"round {i}: {e}")
        if got != payload:
            sys.exit(f"round {i}: wrong bytes back")
    print(f"ok {n}")


if __name__ == "__main__":
    main()
