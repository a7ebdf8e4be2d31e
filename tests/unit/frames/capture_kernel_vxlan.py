# Captures Linux-made VXLAN and ICMP frames on a veth end and emits them as C++ arrays (see capture_kernel_vxlan.sh).
import json
import os
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
ICMP_ECHO_REQUEST = 8


def wait_for(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            sys.exit(f"capture: timed out waiting for {path}")
        time.sleep(0.01)


def sniff(iface, out_path, ready_path, stop_path):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.1)
    open(ready_path, "w").close()
    frames = []
    deadline = time.monotonic() + 60
    while not os.path.exists(stop_path) and time.monotonic() < deadline:
        try:
            data, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if int.from_bytes(data[12:14], "big") == 0x0800:
            frames.append({"hex": data.hex(), "outgoing": addr[2] == PACKET_OUTGOING})
    with open(out_path, "w") as f:
        json.dump(frames, f)


def server(addr, port, ready_path):
    """Accepts one connection and echoes what it reads until the peer closes."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    open(ready_path, "w").close()
    c, _ = ls.accept()
    while True:
        d = c.recv(65536)
        if not d:
            break
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


def ping(addr, payload, seq):
    """One echo request through a ping socket, like ping(8): the kernel sets the id and checksum."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    s.settimeout(5)
    s.sendto(bytes([ICMP_ECHO_REQUEST, 0, 0, 0, 0, 0, 0, seq]) + payload.encode(), (addr, 0))
    reply, _ = s.recvfrom(2048)
    if reply[0] != 0:
        sys.exit(f"capture: ping {addr}: got ICMP type {reply[0]}")


def udp_to_closed(addr, port, payload):
    """A datagram to a port nobody listens on; the kernel answers with ICMP port unreachable."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((addr, port))
    s.send(payload.encode())
    s.settimeout(5)
    try:
        s.recv(100)
        sys.exit("capture: closed port answered")
    except ConnectionRefusedError:
        pass


# ---- picking frames out of the capture ----

def u16(b, off):
    return int.from_bytes(b[off:off + 2], "big")


def ipv4(b):
    """(proto, src, dst, l4 bytes) of an Ethernet/IPv4 frame, or None."""
    if len(b) < 34 or u16(b, 12) != 0x0800:
        return None
    ihl = (b[14] & 0x0F) * 4
    return b[23], b[26:30], b[30:34], b[14 + ihl:14 + u16(b, 16)]


def vxlan(b):
    """(vni, outer udp checksum, inner frame) of a VXLAN frame, or None."""
    ip = ipv4(b)
    if ip is None or ip[0] != 17 or u16(ip[3], 2) != 4789:
        return None
    u = ip[3]
    return int.from_bytes(u[12:15], "big"), u16(u, 6), u[16:]


def inner_tcp(vni, flags, mask=0x3F, payload=None):
    def pred(b):
        v = vxlan(b)
        if v is None or v[0] != vni:
            return False
        ip = ipv4(v[2])
        if ip is None or ip[0] != 6:
            return False
        t = ip[3]
        if (t[13] & mask) != flags:
            return False
        return payload is None or (len(t) > (t[12] >> 4) * 4) == payload
    return pred


def inner_icmp(vni, icmp_type):
    def pred(b):
        v = vxlan(b)
        if v is None or v[0] != vni:
            return False
        ip = ipv4(v[2])
        return ip is not None and ip[0] == 1 and ip[3][0] == icmp_type
    return pred


def inner_arp(vni, op):
    def pred(b):
        v = vxlan(b)
        return v is not None and v[0] == vni and u16(v[2], 12) == 0x0806 and u16(v[2], 20) == op
    return pred


def icmp(icmp_type, code=0):
    def pred(b):
        ip = ipv4(b)
        return ip is not None and ip[0] == 1 and ip[3][0] == icmp_type and ip[3][1] == code
    return pred


def udp_to(port):
    def pred(b):
        ip = ipv4(b)
        return ip is not None and ip[0] == 17 and u16(ip[3], 2) == port
    return pred


def big_tcp_to(port, min_len):
    def pred(b):
        ip = ipv4(b)
        return ip is not None and ip[0] == 6 and u16(ip[3], 2) == port and len(b) >= min_len
    return pred


def emit(in_path, out_path):
    frames = [bytes.fromhex(f["hex"]) for f in json.load(open(in_path))]
    chosen = [
        ("kVxlanArpRequest", "VNI 42: inner ARP request from 10.42.0.1, flooded to the remote VTEP",
         inner_arp(42, 1)),
        ("kVxlanSyn", "VNI 42: inner TCP SYN 10.42.0.1 -> 10.42.0.2:5001", inner_tcp(42, 0x02)),
        ("kVxlanSynAck", "VNI 42: inner SYN-ACK answering kVxlanSyn", inner_tcp(42, 0x12)),
        ("kVxlanData", "VNI 42: inner data segment \"hello, vxlan\", PSH|ACK",
         inner_tcp(42, 0x18, payload=True)),
        ("kVxlanPingRequest", "VNI 42: inner ICMP echo request 10.42.0.1 -> 10.42.0.2",
         inner_icmp(42, 8)),
        ("kVxlanPingReply", "VNI 42: inner ICMP echo reply", inner_icmp(42, 0)),
        ("kVxlanUdpCsum", "VNI 43 (udpcsum): inner ICMP echo request, outer UDP checksum computed",
         inner_icmp(43, 8)),
        ("kPingRequest", "underlay ICMP echo request 192.0.2.1 -> 192.0.2.2 (ping socket)", icmp(8)),
        ("kPingReply", "underlay ICMP echo reply from 192.0.2.2", icmp(0)),
        ("kUdpToClosedPort", "UDP 192.0.2.1 -> 192.0.2.2:9, nobody listening", udp_to(9)),
        ("kPortUnreachable", "ICMP port unreachable from 192.0.2.2 quoting kUdpToClosedPort",
         icmp(3, 3)),
        ("kTcpTooBig", "TCP segment 192.0.2.1 -> 198.51.100.2:5003 bigger than the 1280 route MTU",
         big_tcp_to(5003, 1300)),
        ("kFragNeeded", "ICMP fragmentation needed (next-hop MTU 1280) from router 192.0.2.2 "
         "quoting kTcpTooBig", icmp(3, 4)),
    ]
    out = ["// VXLAN and ICMP frames captured from the Linux kernel " + os.uname().release +
           " on a veth pair (offloads off).",
           "// Generated by tests/unit/frames/capture_kernel_vxlan.sh: do not edit by hand.",
           "// Underlay: 192.0.2.1 (02:00:00:00:01:01) <-> 192.0.2.2 (02:00:00:00:01:02), which also",
           "// routes to 198.51.100.0/24 with a 1280-byte route MTU. Kernel vxlan devices: VNI 42",
           "// (10.42.0.1 02:00:00:00:2a:01 <-> 10.42.0.2 02:00:00:00:2a:02, UDP checksum 0) and VNI 43",
           "// (10.43.0.x, UDP checksum on); both dstport 4789, srcport 49152-65535, DF set.",
           "#pragma once", "#include <cstdint>", "", "namespace kernel_vxlan_frames {", ""]
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
    out.append("}  // namespace kernel_vxlan_frames")
    with open(out_path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "sniff":
        sniff(*args[:4])
    elif cmd == "server":
        server(args[0], int(args[1]), args[2])
    elif cmd == "client":
        client(args[0], int(args[1]), args[2])
    elif cmd == "ping":
        ping(args[0], args[1], int(args[2]))
    elif cmd == "udp-closed":
        udp_to_closed(args[0], int(args[1]), args[2])
    elif cmd == "wait":
        wait_for(args[0])
    elif cmd == "emit":
        emit(args[0], args[1])
    else:
        sys.exit(f"capture: unknown command {cmd}")
