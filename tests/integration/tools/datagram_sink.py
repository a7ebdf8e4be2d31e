#!/usr/bin/env python3
"""Receives datagrams on a Unix socket (a service manager's notify socket, a syslog or journald
socket stand-in) and appends each to a file as one JSON string per line, flushed at once."""
import argparse
import json
import os
import socket

ap = argparse.ArgumentParser()
ap.add_argument("--socket", required=True)
ap.add_argument("--out", required=True)
args = ap.parse_args()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(args.socket)
with open(args.out, "a") as out:
    print(json.dumps("listening"), file=out, flush=True)
    while True:
        data = s.recv(65536)
        print(json.dumps(data.decode(errors="replace")), file=out, flush=True)
