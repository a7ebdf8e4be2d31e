# Client on the app ABI: a connect to a closed port must fail ECONNREFUSED, then BYTES are sent
# to IP:PORT and must come back unchanged before the peer's FIN.
import os
import socket
import struct
import sys
import time

from mini_app import CLOSE, CONNECT, CONNECT_FAILED, CONNECTED, TX_FIN, App

run_dir, ip, port, nbytes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ipn = struct.unpack("!I", socket.inet_aton(ip))[0]
app = App(run_dir)


def connect(port, cookie):
    r, _ = app.request(CONNECT, id=cookie, ip=ipn, port=port)
    assert r["error"] == 0, r
    deadline = time.time() + 15
    while time.time() < deadline:
        for ev in app.events():
            return ev
        time.sleep(0.001)
    sys.exit("no connect event")


ev = connect(port + 1, 1)
assert ev["kind"] == CONNECT_FAILED and ev["error"] == 111 and ev["id"] == 1, ev
ev = connect(port, 2)
assert ev["kind"] == CONNECTED and ev["id"] == 2, ev
slot, gen = ev["slot"], ev["gen"]
data, sent, got, fin_sent = os.urandom(nbytes), 0, b"", False
deadline = time.time() + 30
while time.time() < deadline:
    if sent < len(data):
        sent += app.send(slot, gen, data[sent:])
    elif not fin_sent:
        app.command(slot, gen, TX_FIN)
        fin_sent = True
    chunk, fin = app.recv(slot, gen)
    got += chunk
    if fin:
        break
    time.sleep(0.0005)
assert got == data, f"echo mismatch: sent {len(data)}, got {len(got)}"
r, _ = app.request(CLOSE, slot=slot, gen=gen)
assert r["error"] == 0, r
print("client ok", len(got), flush=True)
