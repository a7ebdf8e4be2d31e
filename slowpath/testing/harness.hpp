// Test harness for the control plane: regions in ordinary memory, recorded outputs, a fake clock
// and a scripted peer whose frames are built with the wire helpers. Used by test_slowpath_*.cpp.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <utility>
#include <vector>

#include "core/control_plane.hpp"
#include "core/regions.hpp"
#include "virtuoso/abi/unix_proto.hpp"
#include "virtuoso/wire/arp.hpp"
#include "virtuoso/wire/frame.hpp"

namespace virtuoso::slowpath::testing {

// Zeroed, 64-byte aligned memory standing in for a memfd mapping.
class Region {
 public:
  explicit Region(size_t bytes)
      : bytes_(bytes), p_(static_cast<uint8_t*>(::operator new(bytes, std::align_val_t(64)))) {
    std::memset(p_, 0, bytes);
  }
  ~Region() { ::operator delete(p_, std::align_val_t(64)); }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  uint8_t* data() const { return p_; }
  size_t size() const { return bytes_; }

 private:
  size_t bytes_;
  uint8_t* p_;
};

struct RecordedFrame {
  std::vector<uint8_t> bytes;
  uint16_t flags;
  // Parsed view; payload points into `bytes`.
  wire::TcpFrame tcp() const {
    auto r = wire::parse_tcp_frame(bytes.data(), bytes.size(), true);
    if (r.error != wire::FrameError::kOk) throw std::runtime_error("recorded frame is not valid TCP");
    return r.f;
  }
  bool is_arp() const { return bytes.size() >= 14 && bytes[12] == 0x08 && bytes[13] == 0x06; }
  wire::ArpPacket arp() const { return *wire::parse_arp(bytes.data() + 14, bytes.size() - 14); }
};

class Recorder : public Outputs {
 public:
  void frame(const uint8_t* data, size_t len, uint16_t flags) override {
    frames.push_back({std::vector<uint8_t>(data, data + len), flags});
  }
  void command(const abi::FpCommand& cmd) override { commands.push_back(cmd); }
  void ctl_event(uint16_t ctx, const abi::CtlEvent& ev) override { events.emplace_back(ctx, ev); }
  void context_attached(uint16_t ctx, int error) override { attached.emplace_back(ctx, error); }
  void context_detached(uint16_t ctx) override { detached.push_back(ctx); }

  void clear() {
    frames.clear();
    commands.clear();
    events.clear();
  }
  std::vector<RecordedFrame> frames;
  std::vector<abi::FpCommand> commands;
  std::vector<std::pair<uint16_t, abi::CtlEvent>> events;
  std::vector<std::pair<uint16_t, int>> attached;
  std::vector<uint16_t> detached;
};

inline constexpr uint32_t kLocalIp = 0x0a000001;   // 10.0.0.1/24
inline constexpr uint32_t kPeerIp = 0x0a000002;    // on-link
inline constexpr uint32_t kGatewayIp = 0x0a0000fe;
inline constexpr uint32_t kFarIp = 0xc0a80107;     // 192.168.1.7, through the gateway
inline constexpr wire::MacAddr kLocalMac{0x02, 0, 0, 0, 0, 0x01};
inline constexpr wire::MacAddr kPeerMac{0x02, 0, 0, 0, 0, 0x02};
inline constexpr wire::MacAddr kGatewayMac{0x02, 0, 0, 0, 0, 0xfe};

inline Settings test_settings() {
  Settings s;
  s.local_ip = kLocalIp;
  s.prefix_len = 24;
  s.gateway = 0;
  s.mtu = 1500;
  s.max_contexts = 4;
  s.max_flows = 16;
  s.app_layout = app_layout(8, 65536, 65536);
  s.app_layout.ctl_capacity = 16;
  s.app_layout.atx_capacity = 16;
  s.app_layout.arx_capacity = 16;
  s.secret0 = 0x0123456789abcdefULL;
  s.secret1 = 0xfedcba9876543210ULL;
  return s;
}

// What a peer puts in one segment.
// Short, exact retransmission timers: 1 s before the first RTT sample, 200 ms .. 1.6 s, 3 retries.
inline Settings rto_settings() {
  Settings s = test_settings();
  s.initial_rto_ms = 1000;
  s.min_rto_ms = 200;
  s.max_rto_ms = 1600;
  s.max_retries = 3;
  return s;
}

// test_settings() with tenants of these names, VNIs 100, 200, ... and the address 10.200.0.1 each.
inline Settings tenant_names_settings(std::initializer_list<const char*> names) {
  Settings s = test_settings();
  uint32_t vni = 100;
  for (const char* name : names) {
    config::TenantConfig t;
    t.name = std::string(name);
    t.vni = vni;
    t.addresses = {{0x0ac80001, 32}};
    s.tenants.push_back(std::move(t));
    vni += 100;
  }
  return s;
}

struct PeerSeg {
  uint8_t flags = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint16_t window = 65535;
  uint16_t mss = 0;
  int8_t wscale = -1;
  std::vector<uint8_t> payload;
  uint32_t src_ip = kPeerIp;
  uint16_t src_port = 40000;
  uint16_t dst_port = 80;
  wire::MacAddr src_mac = kPeerMac;
  bool sack_permitted = false;
  bool timestamps = false;
  uint32_t ts_val = 0;
  uint32_t ts_ecr = 0;
};

inline PeerSeg seg(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t window = 65535, uint16_t mss = 0,
                   int8_t wscale = -1) {
  PeerSeg p;
  p.flags = flags;
  p.seq = seq;
  p.ack = ack;
  p.window = window;
  p.mss = mss;
  p.wscale = wscale;
  return p;
}

inline std::vector<uint8_t> peer_frame(const PeerSeg& p, uint32_t dst_ip = kLocalIp) {
  wire::TcpFrameOut f{};
  f.eth_src = p.src_mac;
  f.eth_dst = kLocalMac;
  f.ip_src = p.src_ip;
  f.ip_dst = dst_ip;
  f.tcp = wire::TcpSegmentOut{p.src_port, p.dst_port, p.seq, p.ack, p.flags, p.window, {}};
  f.tcp.opts.mss = p.mss;
  f.tcp.opts.wscale = p.wscale;
  f.tcp.opts.sack_permitted = p.sack_permitted;
  f.tcp.opts.timestamps = p.timestamps;
  f.tcp.opts.ts_val = p.ts_val;
  f.tcp.opts.ts_ecr = p.ts_ecr;
  size_t off = wire::tcp_payload_offset(f.tcp.opts);
  std::vector<uint8_t> out(off + p.payload.size() + 64, 0);
  std::copy(p.payload.begin(), p.payload.end(), out.begin() + long(off));
  out.resize(wire::build_tcp_frame(out.data(), f, p.payload.size()));
  return out;
}

inline std::vector<uint8_t> arp_frame(uint16_t op, uint32_t sender_ip, const wire::MacAddr& sender_mac,
                                      uint32_t target_ip) {
  std::vector<uint8_t> out(60);
  wire::ArpPacket a{op, sender_mac, sender_ip, op == wire::kArpReply ? kLocalMac : wire::MacAddr{}, target_ip};
  wire::build_arp_frame(out.data(), op == wire::kArpReply ? kLocalMac : wire::kBroadcastMac, sender_mac, a);
  return out;
}

class Harness {
 public:
  explicit Harness(Settings s = test_settings())
      : settings(s),
        ctrl_mem(control_layout(s.max_flows).total_bytes()),
        ctrl{ctrl_mem.data(), control_layout(s.max_flows)},
        cp((init_control_region(ctrl), s), ctrl, out) {
    cp.set_local_mac(kLocalMac);
  }

  // Registers an app (of tenant id `tenant`, 0: plain) and plays the fast path's kCtxAttached.
  uint16_t add_app(uint16_t tenant = 0) {
    apps.push_back(std::make_unique<Region>(settings.app_layout.total_bytes()));
    abi::AppRegionView view{apps.back()->data(), settings.app_layout};
    uint16_t ctx = *cp.add_context(view, tenant);
    views.resize(std::max<size_t>(views.size(), ctx + 1u));
    views[ctx] = view;
    cp.attach_context(ctx);
    event(abi::FpEventKind::kCtxAttached, 0, 0, ctx);
    return ctx;
  }

  abi::AppResponse request(uint16_t ctx, abi::AppRequestKind kind, abi::AppRequest r = {}) {
    r.kind = uint32_t(kind);
    r.seq = ++seq_;
    return cp.handle_request(ctx, r, now);
  }
  uint32_t listen(uint16_t ctx, uint16_t port, uint32_t backlog = 16, uint32_t ip = 0) {
    abi::AppRequest r{};
    r.ip = ip;
    r.port = port;
    r.backlog = backlog;
    auto resp = request(ctx, abi::AppRequestKind::kListen, r);
    if (resp.error) throw std::runtime_error("listen failed");
    return resp.id;
  }
  abi::AppResponse connect(uint16_t ctx, uint32_t ip, uint16_t port, uint32_t cookie = 77) {
    abi::AppRequest r{};
    r.ip = ip;
    r.port = port;
    r.id = cookie;
    return request(ctx, abi::AppRequestKind::kConnect, r);
  }

  void rx(const std::vector<uint8_t>& frame) { cp.handle_frame(frame.data(), frame.size(), now); }
  void rx(const PeerSeg& p) { rx(peer_frame(p)); }
  void event(abi::FpEventKind kind, uint32_t flow, int32_t value = 0, uint16_t ctx = 0) {
    cp.handle_event(abi::FpEvent{uint16_t(kind), ctx, flow, value, 0}, now);
  }
  // Moves the clock in 10 ms ticks, like the daemon's timer.
  void advance(TimeMs ms) {
    for (TimeMs t = 0; t < ms; t += 10) {
      now += 10;
      cp.tick(now);
    }
  }

  abi::FlowEntry& flow(uint32_t id) { return *ctrl.flow(id); }
  abi::FlowSlot& slot(uint16_t ctx, uint32_t s) { return *views[ctx].slot(s); }
  const abi::FpCommand* last_command(abi::FpCommandKind kind) const {
    for (auto it = out.commands.rbegin(); it != out.commands.rend(); ++it)
      if (it->kind == uint16_t(kind)) return &*it;
    return nullptr;
  }
  size_t count_commands(abi::FpCommandKind kind) const {
    size_t n = 0;
    for (const auto& c : out.commands) n += c.kind == uint16_t(kind);
    return n;
  }
  const abi::CtlEvent* last_event(abi::CtlEventKind kind) const {
    for (auto it = out.events.rbegin(); it != out.events.rend(); ++it)
      if (it->second.kind == uint16_t(kind)) return &it->second;
    return nullptr;
  }
  // Plays the fast path's answer to a kRemove.
  void ack_remove(uint32_t flow) { event(abi::FpEventKind::kRemoved, flow); }

  // Passive open of one connection from the peer; returns the flow id. The peer's ISN is 1000.
  // A new app listening on port 80 and one connection it accepted, installed: its flow id.
  uint32_t installed_flow() {
    listen(add_app(), 80);
    return accept_one(80, 40000);
  }

  uint32_t accept_one(uint16_t port = 80, uint16_t peer_port = 40000) {
    PeerSeg syn{wire::kTcpSyn, 1000, 0, 65535, 1460, 7, {}, kPeerIp, peer_port, port};
    rx(syn);
    uint32_t iss = out.frames.back().tcp().tcp.seq;
    PeerSeg ack{wire::kTcpAck, 1001, iss + 1, 1000, 0, -1, {}, kPeerIp, peer_port, port};
    rx(ack);
    return last_command(abi::FpCommandKind::kInstall)->flow;
  }

  Settings settings;
  Region ctrl_mem;
  abi::ControlRegionView ctrl;
  Recorder out;
  ControlPlane cp;
  std::vector<std::unique_ptr<Region>> apps;
  std::vector<abi::AppRegionView> views;
  TimeMs now = 100000;

 private:
  uint32_t seq_ = 0;
};

}  // namespace virtuoso::slowpath::testing
