// Test support: a fake port, a fake host and a harness that runs the fast path's datapath without EAL.
#pragma once
#include <cstring>
#include <deque>
#include <functional>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

#include "datapath.hpp"
#include "virtuoso/abi/control_region.hpp"
#include "virtuoso/shm/byte_ring.hpp"
#include "virtuoso/wire/arp.hpp"
#include "virtuoso/wire/frame.hpp"

namespace virtuoso::test {

using fastpath::Frame;

// A built frame with its IP header's ECN field set to `ecn` and the header checksum fixed.
inline std::vector<uint8_t> with_ecn(std::vector<uint8_t> f, uint8_t ecn) {
  uint8_t* ip = f.data() + wire::kEthHeaderLen;
  ip[1] = uint8_t((ip[1] & ~3u) | ecn);
  ip[10] = ip[11] = 0;
  wire::store_be16(ip + 10, wire::internet_checksum(ip, 20));
  return f;
}

// Frames in, frames out; buffers come from the heap and are counted so leaks show.
class FakePort final : public fastpath::PacketPort {
 public:
  std::deque<std::vector<uint8_t>> rx;
  std::vector<std::vector<uint8_t>> sent;
  int live_buffers = 0;
  int alloc_budget = 1 << 30;  // how many more alloc() calls succeed
  std::function<void()> on_rx_burst;  // called by every rx_burst (a test's stand-in for its cost)

  uint16_t rx_burst(Frame* frames, uint16_t max) override {
    if (on_rx_burst) on_rx_burst();
    uint16_t n = 0;
    while (n < max && !rx.empty()) {
      Frame f;
      alloc(f);
      if (!rx.front().empty()) std::memcpy(f.data, rx.front().data(), rx.front().size());
      f.len = uint16_t(rx.front().size());
      rx.pop_front();
      frames[n++] = f;
    }
    return n;
  }
  bool alloc(Frame& f) override {
    if (alloc_budget <= 0) return false;
    --alloc_budget;
    ++live_buffers;
    auto* buf = new uint8_t[fastpath::kFrameCapacity]();
    f = {buf, 0, buf};
    return true;
  }
  void free(Frame& f) override {
    delete[] static_cast<uint8_t*>(f.handle);
    --live_buffers;
  }
  void send(Frame& f) override {
    sent.emplace_back(f.data, f.data + f.len);
    free(f);
  }
  void flush() override {}
  fastpath::PortCounters counters() const override {
    fastpath::PortCounters c;
    c.buffers_in_use = uint64_t(live_buffers);
    return c;
  }
};

class FakeHost final : public fastpath::Host {
 public:
  std::vector<uint8_t>* app_region = nullptr;
  int rings = 0;
  int sp_rings = 0;
  int attach_context(uint16_t, const abi::AppLayout& l, Mapping& out) override {
    out = {app_region->data(), l.total_bytes(), 42};
    return 0;
  }
  void detach_context(uint16_t, Mapping& m) override { m = {}; }
  void ring(int) override { ++rings; }
  void ring_slowpath() override { ++sp_rings; }
};

struct ParsedOut {
  wire::TcpFrame f;
  std::vector<uint8_t> payload;
};

// SACK blocks for a segment from the peer: {{start, end}, ...}, the first block first.
inline wire::TcpOptionsOut sack(std::initializer_list<std::pair<uint32_t, uint32_t>> blocks) {
  wire::TcpOptionsOut o;
  for (auto [s, e] : blocks) o.sack[o.n_sack++] = {s, e};
  return o;
}
// The sequence numbers of the data segments among `out`, in order.
inline std::vector<uint32_t> data_seqs(const std::vector<ParsedOut>& out) {
  std::vector<uint32_t> v;
  for (auto& o : out)
    if (!o.payload.empty()) v.push_back(o.f.tcp.seq);
  return v;
}

// One datapath with one app context (ctx 0) and, after establish(), one installed flow (id 0).
class FastpathHarness {
 public:
  static constexpr uint32_t kLocalIp = 0x0a000001;   // 10.0.0.1
  static constexpr uint32_t kRemoteIp = 0x0a000002;  // 10.0.0.2
  static constexpr uint16_t kLocalPort = 7007;
  static constexpr uint16_t kRemotePort = 40000;
  static constexpr wire::MacAddr kLocalMac{2, 0, 0, 0, 0, 1};
  static constexpr wire::MacAddr kRemoteMac{2, 0, 0, 0, 0, 2};

  abi::ControlLayout clayout{64, 64, 64, 64, 64};
  abi::AppLayout alayout{16, 4096, 16384, 64, 64, 64};
  std::vector<uint8_t> control;
  std::vector<uint8_t> app;
  abi::ControlRegionView ctrl;
  abi::AppRegionView view;
  FakePort port;
  FakeHost host;
  fastpath::ManualClock clock;
  fastpath::ScriptedCycles cycles;  // stands still unless a test scripts it
  const fastpath::CycleCounter* counter = &cycles;  // what the datapath reads (restart() takes a new one)
  fastpath::DatapathConfig cfg;
  // Options establish() installs with (abi::kFlowOpt*), and the peer's TSval from the handshake.
  uint8_t tcp_opts = 0;
  uint32_t peer_ts = 0;
  uint32_t ts_offset = 0;
  // A tenant's flow: establish() installs it inside VXLAN with VNI `vni` to `vtep_ip` (0: plain).
  // remote_mac is then the underlay next hop; the 4-tuple is the inner one.
  uint32_t vni = 0;
  uint32_t vtep_ip = 0;
  uint16_t path_mss = 0;  // establish() installs with it (0: no path MTU below the MSS)
  uint16_t tenant = 0;    // and with this tenant id, whose TenantStats count the flow
  uint16_t vxlan_src_port = 0;
  static constexpr wire::MacAddr kInnerLocalMac{2, 0x76, 0x74, 0, 0, 42};
  static constexpr wire::MacAddr kInnerRemoteMac{2, 0, 0, 0, 1, 2};
  std::unique_ptr<fastpath::Datapath> dp;

  FastpathHarness() : control(clayout.total_bytes()), app(alayout.total_bytes()) {
    ctrl = {control.data(), clayout};
    view = {app.data(), alayout};
    ctrl.header()->magic = abi::kControlRegionMagic;
    ctrl.punt().reset();
    ctrl.inject().reset();
    ctrl.cmd().reset();
    ctrl.evt().reset();
    view.atx().reset();
    view.arx().reset();
    view.ctl().reset();
    host.app_region = &app;
    cfg.local_ip = kLocalIp;
    cfg.local_mac = kLocalMac;
    cfg.max_contexts = 4;
    dp = std::make_unique<fastpath::Datapath>(cfg, ctrl, port, host, clock, cycles);
    abi::FpCommand attach{uint16_t(abi::FpCommandKind::kAttachCtx), 0, 0, alayout, 0, 0};
    command(attach);
  }
  ~FastpathHarness() { dp.reset(); }

  // A new datapath on the same regions (after settings it reads only at start, such as
  // budget_settings.backlog_frames), with ctx 0 attached again; no flow is installed.
  void restart() {
    dp.reset();
    dp = std::make_unique<fastpath::Datapath>(cfg, ctrl, port, host, clock, *counter);
    command({uint16_t(abi::FpCommandKind::kAttachCtx), 0, 0, alayout, 0, 0});
  }

  void command(const abi::FpCommand& c) {
    ctrl.cmd().try_push(c);
    dp->poll_once();
  }

  // Installs flow 0 in slot 3: our next seq `iss1`, the peer's next seq `irs1`, window `wnd`.
  void establish(uint32_t iss1 = 1000, uint32_t irs1 = 5000, uint32_t wnd = 65535, uint16_t mss = 1000,
                 uint32_t remote_ip = kRemoteIp) {
    abi::FlowEntry& e = *ctrl.flow(0);
    e = {};
    e.local_ip = kLocalIp;
    e.remote_ip = remote_ip;
    e.local_port = kLocalPort;
    e.remote_port = kRemotePort;
    std::memcpy(e.remote_mac, kRemoteMac.data(), 6);
    e.mss = mss;
    e.ctx = 0;
    e.slot = 3;
    e.gen = 7;
    e.init_snd_una = iss1;
    e.init_rcv_nxt = irs1;
    e.init_snd_wnd = wnd;
    e.tcp_opts = tcp_opts;
    e.init_ts_recent = peer_ts;
    e.ts_offset = ts_offset;
    e.init_rto_us = 1'000'000;
    e.path_mss = path_mss;
    e.tenant = tenant;
    e.vni = vni;
    e.vtep_ip = vtep_ip;
    e.vxlan_src_port = vxlan_src_port;
    std::memcpy(e.inner_local_mac, kInnerLocalMac.data(), 6);
    std::memcpy(e.inner_remote_mac, kInnerRemoteMac.data(), 6);
    *view.slot(3) = {};
    view.slot(3)->gen = 7;
    command({uint16_t(abi::FpCommandKind::kInstall), 0, 0, {}, 0, 0});
  }
  abi::FlowEntry& flow() { return *ctrl.flow(0); }
  abi::FlowSlot& slot() { return *view.slot(3); }

  // A segment from the peer, as the wire would carry it.
  std::vector<uint8_t> peer_frame(uint32_t seq, uint32_t ack, uint8_t flags, const std::string& payload = "",
                                  uint16_t window = 65535, const wire::TcpOptionsOut& opts = {}) {
    std::vector<uint8_t> buf(2048);
    wire::TcpFrameOut o{};
    o.eth_src = kRemoteMac;
    o.eth_dst = kLocalMac;
    o.ip_src = kRemoteIp;
    o.ip_dst = kLocalIp;
    o.tcp = {kRemotePort, kLocalPort, seq, ack, flags, window, opts};
    std::memcpy(buf.data() + wire::tcp_payload_offset(o.tcp.opts), payload.data(), payload.size());
    buf.resize(wire::build_tcp_frame(buf.data(), o, payload.size()));
    return buf;
  }
  void from_peer(uint32_t seq, uint32_t ack, uint8_t flags, const std::string& payload = "",
                 uint16_t window = 65535, const wire::TcpOptionsOut& opts = {}) {
    port.rx.push_back(peer_frame(seq, ack, flags, payload, window, opts));
    dp->poll_once();
  }
  // Several segments in one receive burst (one loop iteration).
  void burst_from_peer(std::vector<std::vector<uint8_t>> frames) {
    for (auto& f : frames) port.rx.push_back(std::move(f));
    dp->poll_once();
  }
  // The clock moves on; the loop runs once.
  void advance_us(uint64_t us) {
    clock.advance_us(us);
    dp->poll_once();
  }

  // The app's side: write bytes into the tx ring and bump.
  void app_send(const std::string& bytes) {
    abi::FlowSlot& s = slot();
    shm::ring_write(view.tx_buf(3), alayout.tx_size, s.tx_head, bytes.data(), bytes.size());
    s.tx_head += uint32_t(bytes.size());
    app_cmd(abi::AppCmdKind::kTxBump);
  }
  // The app sends n segments of 1000 bytes (establish()'s MSS): how many frames left, forgotten.
  size_t app_send_segments(int n) {
    app_send(std::string(size_t(n) * 1000, 'd'));
    return take_sent().size();
  }
  void app_cmd(abi::AppCmdKind kind, uint32_t slot_no = 3, uint32_t gen = 7) {
    view.atx().try_push({slot_no, gen, uint16_t(kind), 0, 0});
    dp->poll_once();
  }
  std::string app_read_all() {
    abi::FlowSlot& s = slot();
    std::string out(s.rx_head - s.rx_tail, '\0');
    shm::ring_read(view.rx_buf(3), alayout.rx_size, s.rx_tail, out.data(), out.size());
    s.rx_tail = s.rx_head;
    return out;
  }

  std::vector<ParsedOut> take_sent() {
    std::vector<ParsedOut> out;
    for (auto& fr : port.sent) {
      auto p = wire::parse_tcp_frame(fr.data(), fr.size());
      if (p.error != wire::FrameError::kOk) continue;
      ParsedOut o{p.f, std::vector<uint8_t>(p.f.payload, p.f.payload + p.f.payload_len)};
      out.push_back(std::move(o));
    }
    port.sent.clear();
    return out;
  }
  std::vector<abi::AppEvent> app_events() {
    std::vector<abi::AppEvent> out;
    abi::AppEvent ev;
    while (view.arx().try_pop(ev) == shm::PopResult::kOk) out.push_back(ev);
    return out;
  }
  std::vector<abi::FpEvent> sp_events() {
    std::vector<abi::FpEvent> out;
    abi::FpEvent ev;
    while (ctrl.evt().try_pop(ev) == shm::PopResult::kOk) out.push_back(ev);
    return out;
  }
  size_t punted() { return punted_frames().size(); }
  std::vector<std::vector<uint8_t>> punted_frames() {
    std::vector<std::vector<uint8_t>> out;
    abi::PacketSlot s;
    while (ctrl.punt().try_pop(s) == shm::PopResult::kOk) out.emplace_back(s.data, s.data + s.len);
    return out;
  }
  // Gives VNI `vni` to tenant `tenant` in the control header's table (kept sorted by VNI), as the
  // slow path does before the fast path starts.
  void add_tenant(uint32_t vni, uint32_t tenant) {
    abi::TenantTable& t = ctrl.header()->tenants;
    uint32_t i = t.count++;
    for (; i > 0 && t.entries[i - 1].vni > vni; --i) t.entries[i] = t.entries[i - 1];
    t.entries[i] = {vni, tenant};
  }
};

}  // namespace virtuoso::test
