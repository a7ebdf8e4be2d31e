# What the kernel-frame capture scripts share (capture_kernel_*.py): waiting for a file, sniffing a
# veth end, an echo server and client, and writing the chosen frames out as C++ arrays.
import json
import os
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def wait_for(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            sys.exit(f"capture: timed out waiting for {path}")
        time.sleep(0.01)


def sniff(iface, out_path, ready_path, stop_path, ethertypes, seconds=30):
    """Writes every frame of one of `ethertypes` seen on `iface` to `out_path` (JSON) once
    `stop_path` exists (or after `seconds`)."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.1)
    open(ready_path, "w").close()
    frames = []
    deadline = time.monotonic() + seconds
    while not os.path.exists(stop_path) and time.monotonic() < deadline:
        try:
            data, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if int.from_bytes(data[12:14], "big") in ethertypes:
            frames.append({"hex": data.hex(), "outgoing": addr[2] == PACKET_OUTGOING})
    with open(out_path, "w") as f:
        json.dump(frames, f)


def load_frames(path):
    return [bytes.fromhex(f["hex"]) for f in json.load(open(path))]


def echo_server(addr, port, ready_path, connections=1):
    """Accepts `connections` connections one after the other, echoing each until its peer closes."""
    ls = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(4)
    open(ready_path, "w").close()
    for _ in range(connections):
        c, _ = ls.accept()
        while d := c.recv(65536):
            c.sendall(d)
        c.close()


def client(addr, port, message):
    """Sends `message` (or that many bytes when it is a number), reads the echo back, closes."""
    data = b"v" * int(message) if message.isdigit() else message.encode()
    c = socket.create_connection((addr, port), timeout=10)
    c.sendall(data)
    got = b""
    while len(got) < len(data):
        d = c.recv(65536)
        if not d:
            sys.exit("capture: server closed early")
        got += d
    c.close()


def write_arrays(out_path, header_lines, namespace, frames, chosen):
    """Writes a header with, for each (name, description, predicate) of `chosen`, the first of
    `frames` the predicate accepts as `inline constexpr uint8_t name[]`."""
    out = header_lines + ["#pragma once", "#include <cstdint>", "", f"namespace {namespace} {{", ""]
    for name, desc, pred in chosen:
        b = next((f for f in frames if pred(f)), None)
        if b is None:
            sys.exit(f"capture: no frame matched: {desc}")
        out.append(f"// {desc} ({len(b)} bytes)")
        out.append(f"inline constexpr uint8_t {name}[] = {{")
        for i in range(0, len(b), 12):
            out.append("    " + ", ".join(f"0x{x:02x}" for x in b[i:i + 12]) + ",")
        out.append("};")
        out.append("")
    out.append(f"}}  // namespace {namespace}")
    with open(out_path, "w") as f:
        f.write("\n".join(out) + "\n")
