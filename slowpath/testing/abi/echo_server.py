# Echo server on the app ABI: serves COUNT connections on PORT, echoing until the peer's FIN.
import sys
import time

from mini_app import ACCEPT_ACK, ACCEPTED, CLOSE, LISTEN, RESET, TX_FIN, App

run_dir, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
app = App(run_dir)
r, _ = app.request(LISTEN, port=port, backlog=16)
assert r["error"] == 0, r
print("listening", flush=True)
conns, done, deadline = {}, 0, time.time() + 60
while done < count and time.time() < deadline:
    for ev in app.events():
        print("event", ev, flush=True)
        if ev["kind"] == ACCEPTED:
            conns[ev["slot"]] = [ev["gen"], b""]
            app.request(ACCEPT_ACK, id=r["id"])
        elif ev["kind"] == RESET:
            app.request(CLOSE, slot=ev["slot"], gen=ev["gen"])
            conns.pop(ev["slot"], None)
            done += 1
    for slot, state in list(conns.items()):
        data, fin = app.recv(slot, state[0])
        state[1] += data
        state[1] = state[1][app.send(slot, state[0], state[1]):]
        if fin and not state[1]:
            app.command(slot, state[0], TX_FIN)
            app.request(CLOSE, slot=slot, gen=state[0])
            conns.pop(slot)
            done += 1
    time.sleep(0.0005)
print("served", done, flush=True)
