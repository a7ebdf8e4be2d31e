#!/usr/bin/env python3
"""Connection churn: opens and closes connections to HOST:PORT as fast as it can (connect, then
close at once) until the file STOP exists. Prints 'churned N' (connections that were accepted)."""
import os
import socket
import sys


def main():
    host, port, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    n = 0
    while not os.path.exists(stop):
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.close()
            n += 1
        except OSError:
            pass  # refused or timed out under load: try again
        if n % 100 == 0:
            print(f"churned {n}", flush=True)
    print(f"churned {n}", flush=True)


if __name__ == "__main__":
    main()
