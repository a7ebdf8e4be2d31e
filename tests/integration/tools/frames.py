"""Building Ethernet/IPv4/TCP frames byte by byte for tests that speak raw frames (floods, junk,
fuzz seeds): the Internet checksum and the three headers, each over what follows it; and the raw
socket such tests send them on."""
import socket
import struct


def csum(b):
    """RFC 1071: the Internet checksum of `b`."""
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(proto, src, dst, payload, ident=1):
    """An IPv4 header (DF set, TTL 64, checksum filled) in front of `payload`; src, dst: 4 bytes."""
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto, 0,
                    bytes(src), bytes(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def tcp(src, dst, sport, dport, seq, ack, flags, opts=b"", payload=b"", window=65535):
    """A TCP header with `opts` (a multiple of 4 bytes) and its checksum over the pseudo-header."""
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (20 + len(opts)) // 4 << 4, flags, window, 0, 0) + opts
    pseudo = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, 6, len(h) + len(payload))
    return h[:16] + struct.pack("!H", csum(pseudo + h + payload)) + h[18:] + payload


def arp_request(sender_mac, sender_ip, target_ip):
    """An ARP request (RFC 826, Ethernet/IPv4) from sender_mac/sender_ip for target_ip; addresses: bytes."""
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, bytes(sender_mac), bytes(sender_ip), bytes(6),
                       bytes(target_ip))


def eth(dst, src, ethertype, payload):
    return bytes(dst) + bytes(src) + struct.pack("!H", ethertype) + payload


def mac_bytes(text):
    """"aa:bb:cc:dd:ee:ff" as 6 bytes."""
    return bytes(int(b, 16) for b in text.split(":"))


def raw_port(iface):
    """A raw packet socket sending on `iface`, and that interface's MAC address."""
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    return s, s.getsockname()[4]
