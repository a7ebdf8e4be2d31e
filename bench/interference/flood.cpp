// tcp-flood: an aggressor tenant's traffic, expensive for a receiving TCP stack per byte.
//
// From a Linux namespace, through a raw packet socket on the interface towards the stack, it
// speaks VXLAN itself: resolves the server's inner MAC by ARP inside the virtual network, opens
// --connections real connections (SYN, SYN-ACK, ACK; SACK permitted), then sends segments of a
// few bytes at random offsets of each connection's window, behind a hole it never fills: every
// one is out of order or a duplicate, each costs the receiver a SACK scoreboard update and an
// immediate ACK, and none is ever delivered to the app. At the end each connection is reset.
// Prints what it sent as JSON.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "virtuoso/wire/arp.hpp"
#include "virtuoso/wire/frame.hpp"
#include "virtuoso/wire/vxlan.hpp"

namespace wire = virtuoso::wire;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string iface;
  std::string dst_mac;       // the stack's port
  std::string underlay_src;  // our VTEP address (the interface's own)
  std::string underlay_dst;  // the stack's address
  uint32_t vni = 0;
  std::string inner_src;
  std::string inner_dst;
  uint16_t port = 0;
  unsigned connections = 16;
  double seconds = 5;
  unsigned payload = 4;
  unsigned window = 32768;  // bytes of each window the segments land in
  double rate = 0;          // frames per second; 0: as fast as the socket takes them
  uint16_t first_port = 20000;  // our source ports: this one and the next --connections - 1
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "tcp-flood: %s\n", what.c_str());
  std::exit(1);
}

uint32_t parse_ip(const std::string& s, const char* what) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) die(std::string(what) + ": not an IPv4 address: " + s);
  return ntohl(a.s_addr);
}

wire::MacAddr parse_mac(const std::string& s) {
  wire::MacAddr m{};
  unsigned b[6];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
    die("--dst-mac: not a MAC address: " + s);
  for (int i = 0; i < 6; ++i) m[size_t(i)] = uint8_t(b[i]);
  return m;
}

// A raw packet socket on one interface: whole Ethernet frames out and in.
class PacketSocket {
 public:
  explicit PacketSocket(const std::string& iface) {
    fd_ = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd_ < 0) die(std::string("socket(AF_PACKET): ") + std::strerror(errno) + " (run as root)");
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface.c_str());
    if (ioctl(fd_, SIOCGIFINDEX, &ifr) != 0) die("no interface " + iface);
    ifindex_ = ifr.ifr_ifindex;
    if (ioctl(fd_, SIOCGIFHWADDR, &ifr) != 0) die("cannot read the MAC of " + iface);
    std::memcpy(mac_.data(), ifr.ifr_hwaddr.sa_data, 6);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex_;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0)
      die(std::string("bind to ") + iface + ": " + std::strerror(errno));
    int one = 1;
    setsockopt(fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));  // best effort
  }
  ~PacketSocket() { close(fd_); }
  PacketSocket(const PacketSocket&) = delete;
  PacketSocket& operator=(const PacketSocket&) = delete;

  const wire::MacAddr& mac() const { return mac_; }

  void send(const std::vector<uint8_t>& f) {
    if (::send(fd_, f.data(), f.size(), 0) < 0 && errno != ENOBUFS) die(std::string("send: ") + std::strerror(errno));
  }

  // Sends frames [first, first + n) of `frames` in one system call where it can; returns how many went.
  size_t send_batch(const std::vector<std::vector<uint8_t>>& frames, size_t first, size_t n) {
    std::vector<mmsghdr> msgs(n);
    std::vector<iovec> iov(n);
    for (size_t i = 0; i < n; ++i) {
      const auto& f = frames[(first + i) % frames.size()];
      iov[i] = {const_cast<uint8_t*>(f.data()), f.size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int sent = sendmmsg(fd_, msgs.data(), unsigned(n), 0);
    if (sent < 0) {
      if (errno == ENOBUFS || errno == EAGAIN) return 0;
      die(std::string("sendmmsg: ") + std::strerror(errno));
    }
    return size_t(sent);
  }

  // The next frame for which `want` holds, within `timeout`; nullopt if none came.
  template <class Want>
  std::optional<std::vector<uint8_t>> receive(std::chrono::milliseconds timeout, Want want) {
    auto deadline = Clock::now() + timeout;
    std::vector<uint8_t> buf(2048);
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, int(left)) <= 0) continue;
      ssize_t n = recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n <= 0) continue;
      std::vector<uint8_t> f(buf.begin(), buf.begin() + n);
      if (want(f)) return f;
    }
  }

 private:
  int fd_ = -1;
  int ifindex_ = 0;
  wire::MacAddr mac_{};
};

struct Tunnel {
  wire::MacAddr our_mac, stack_mac;
  uint32_t our_ip, stack_ip, vni;
  wire::MacAddr inner_mac{0x02, 0x66, 0x6c, 0x6f, 0x6f, 0x64};  // ours inside the network
  wire::MacAddr stack_inner_mac{};
  uint32_t inner_src, inner_dst;

  // `inner` (at offset kVxlanOverhead of a frame) wrapped for the stack.
  std::vector<uint8_t> wrap(std::vector<uint8_t> frame, size_t inner_len, uint16_t flow_hash) const {
    wire::VxlanOuter o{};
    o.src_mac = our_mac;
    o.dst_mac = stack_mac;
    o.src_ip = our_ip;
    o.dst_ip = stack_ip;
    o.src_port = wire::vxlan_source_port(flow_hash);
    o.vni = vni;
    frame.resize(wire::build_vxlan_outer(frame.data(), o, inner_len));
    return frame;
  }

  std::vector<uint8_t> segment(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                               size_t payload, bool syn_options) const {
    wire::TcpFrameOut t{};
    t.eth_src = inner_mac;
    t.eth_dst = stack_inner_mac;
    t.ip_src = inner_src;
    t.ip_dst = inner_dst;
    t.tcp = {sport, dport, seq, ack, flags, 65535, {}};
    if (syn_options) {
      t.tcp.opts.mss = 1400;
      t.tcp.opts.sack_permitted = true;
    }
    std::vector<uint8_t> f(wire::kVxlanOverhead + 256, 0);
    uint8_t* inner = f.data() + wire::kVxlanOverhead;
    size_t off = wire::tcp_payload_offset(t.tcp.opts);
    for (size_t i = 0; i < payload; ++i) inner[off + i] = uint8_t('a' + (seq + i) % 26);
    size_t len = wire::build_tcp_frame(inner, t, payload);
    return wrap(std::move(f), len, sport);
  }

  // The inner TCP segment of a VXLAN frame from the stack on our VNI, if it is one.
  std::optional<wire::TcpFrame> inner_tcp(const std::vector<uint8_t>& f) const {
    auto v = wire::parse_vxlan_frame(f.data(), f.size());
    if (v.error != wire::VxlanError::kOk || v.f.vni != vni || v.f.outer_src_ip != stack_ip) return std::nullopt;
    auto t = wire::parse_tcp_frame(v.f.inner, v.f.inner_len);
    if (t.error != wire::FrameError::kOk) return std::nullopt;
    return t.f;
  }
};

// ARP inside the virtual network for the server's address: the stack's switch answers.
void resolve_inner(PacketSocket& s, Tunnel& t) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::vector<uint8_t> f(wire::kVxlanOverhead + 64, 0);
    wire::ArpPacket req{wire::kArpRequest, t.inner_mac, t.inner_src, wire::MacAddr{}, t.inner_dst};
    size_t len = wire::build_arp_frame(f.data() + wire::kVxlanOverhead, wire::kBroadcastMac, t.inner_mac, req);
    s.send(t.wrap(std::move(f), len, 1));
    auto got = s.receive(std::chrono::milliseconds(300), [&](const std::vector<uint8_t>& r) {
      auto v = wire::parse_vxlan_frame(r.data(), r.size());
      if (v.error != wire::VxlanError::kOk || v.f.vni != t.vni) return false;
      if (wire::load_be16(v.f.inner + 12) != wire::kEtherTypeArp) return false;
      auto a = wire::parse_arp(v.f.inner + wire::kEthHeaderLen, v.f.inner_len - wire::kEthHeaderLen);
      if (!a || a->op != wire::kArpReply || a->sender_ip != t.inner_dst) return false;
      t.stack_inner_mac = a->sender_mac;
      return true;
    });
    if (got) return;
  }
  die("no ARP answer for the server's inner address inside the VNI (is the tenant configured?)");
}

struct Conn {
  uint16_t sport;
  uint32_t iss, irs;
};

// SYN, SYN-ACK, ACK: a connection the stack has installed in its fast path.
Conn open_connection(PacketSocket& s, const Tunnel& t, uint16_t sport, uint16_t dport, std::mt19937& rng) {
  Conn c{sport, uint32_t(rng()), 0};
  for (int attempt = 0; attempt < 10; ++attempt) {
    s.send(t.segment(sport, dport, c.iss, 0, wire::kTcpSyn, 0, true));
    auto got = s.receive(std::chrono::milliseconds(300), [&](const std::vector<uint8_t>& r) {
      auto seg = t.inner_tcp(r);
      if (!seg || seg->tcp.dst_port != sport || seg->tcp.src_port != dport) return false;
      if ((seg->tcp.flags & (wire::kTcpSyn | wire::kTcpAck)) != (wire::kTcpSyn | wire::kTcpAck)) return false;
      if (seg->tcp.ack != c.iss + 1) return false;
      c.irs = seg->tcp.seq;
      return true;
    });
    if (got) {
      s.send(t.segment(sport, dport, c.iss + 1, c.irs + 1, wire::kTcpAck, 0, false));
      return c;
    }
  }
  die("no SYN-ACK from the stack for source port " + std::to_string(sport));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"tcp-flood: out-of-order and duplicate segments on real connections, through VXLAN"};
  app.add_option("--iface", o.iface, "interface towards the stack")->required();
  app.add_option("--dst-mac", o.dst_mac, "the stack port's MAC")->required();
  app.add_option("--underlay-src", o.underlay_src, "our tunnel endpoint address")->required();
  app.add_option("--underlay-dst", o.underlay_dst, "the stack's address")->required();
  app.add_option("--vni", o.vni, "the aggressor tenant's VNI")->required()->check(CLI::Range(1u, 0xffffffu));
  app.add_option("--inner-src", o.inner_src, "our address inside the virtual network")->required();
  app.add_option("--inner-dst", o.inner_dst, "the server's address inside it")->required();
  app.add_option("--port", o.port, "the server's port")->required();
  app.add_option("--connections", o.connections, "connections to flood")->check(CLI::Range(1u, 4096u));
  app.add_option("--seconds", o.seconds, "how long to flood")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--payload", o.payload, "bytes per segment")->check(CLI::Range(1u, 128u));
  app.add_option("--window", o.window, "bytes of each window the segments land in")->check(CLI::Range(64u, 65535u));
  app.add_option("--first-port", o.first_port, "the first of our source ports")->check(CLI::Range(1024, 60000));
  app.add_option("--rate", o.rate, "frames per second (0: as fast as possible)")->check(CLI::Range(0.0, 1e8));
  CLI11_PARSE(app, argc, argv);

  Tunnel t{};
  PacketSocket s(o.iface);
  t.our_mac = s.mac();
  t.stack_mac = parse_mac(o.dst_mac);
  t.our_ip = parse_ip(o.underlay_src, "--underlay-src");
  t.stack_ip = parse_ip(o.underlay_dst, "--underlay-dst");
  t.vni = o.vni;
  t.inner_src = parse_ip(o.inner_src, "--inner-src");
  t.inner_dst = parse_ip(o.inner_dst, "--inner-dst");
  resolve_inner(s, t);

  std::mt19937 rng(12345);
  std::vector<Conn> conns;
  for (unsigned i = 0; i < o.connections; ++i) conns.push_back(open_connection(s, t, uint16_t(o.first_port + i), o.port, rng));

  // Frames made before the clock starts: per connection, segments at random offsets past a
  // one-byte hole at the start of its window (so nothing is ever in order).
  constexpr size_t kPerConn = 256;
  std::vector<std::vector<uint8_t>> frames;
  frames.reserve(conns.size() * kPerConn);
  for (size_t k = 0; k < kPerConn; ++k)
    for (const Conn& c : conns) {
      uint32_t off = 1 + uint32_t(rng() % (o.window - o.payload - 1));
      frames.push_back(t.segment(c.sport, o.port, c.iss + 1 + off, c.irs + 1, wire::kTcpAck, o.payload, false));
    }
  std::shuffle(frames.begin(), frames.end(), rng);
  std::printf("flooding %zu connections\n", conns.size());
  std::fflush(stdout);

  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  uint64_t sent = 0;
  size_t next = 0;
  constexpr size_t kBatch = 64;
  while (Clock::now() < end) {
    if (o.rate > 0) {
      double due = std::chrono::duration<double>(Clock::now() - start).count() * o.rate;
      if (double(sent) >= due) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
    }
    size_t n = s.send_batch(frames, next, kBatch);
    sent += n;
    next = (next + n) % frames.size();
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  // The connections end: a reset each, at the sequence number the stack expects.
  for (const Conn& c : conns) s.send(t.segment(c.sport, o.port, c.iss + 1, 0, wire::kTcpRst, 0, false));
  nlohmann::json out{{"connections", conns.size()},
                     {"frames", sent},
                     {"seconds", secs},
                     {"frames_per_s", double(sent) / secs},
                     {"payload", o.payload}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
