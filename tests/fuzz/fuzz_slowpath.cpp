// Fuzz target: the slow path's control plane (the unit tests' harness: regions in ordinary memory,
// recorded outputs, a fake clock), driven by a script the input spells out. Steps: app requests of
// any kind with any fields, as a hostile app sends them on its link; segments and ARP frames from
// peers near the connections' sequence numbers or anywhere; an app scribbling over the flow slots
// the slow path reads (ring positions, error, waiting bits); apps coming and going; timer ticks.
// The fast path is played honestly (it is trusted): it answers kRemove with kRemoved and
// kDetachCtx with kCtxDetached, and reports a peer's FIN or the ACK of ours only on flows it has
// installed. Properties after every step:
//   - every answer echoes its request's kind and sequence number, with 0 or an errno value;
//   - every frame the slow path sends is well-formed Ethernet carrying ARP or checksummed TCP;
//   - every fast-path command names a flow entry that exists;
//   - flows, half-open connections and contexts stay within their bounds;
//   - the status report can be built.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/status.hpp"
#include "fuzz_check.hpp"
#include "fuzz_script.hpp"
#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {

// A value near what a connection would use (a few choices), or anything.
uint32_t any_ip(Script& s) {
  static constexpr uint32_t kChoices[] = {0, kLocalIp, kPeerIp, kFarIp, kGatewayIp, 0x7f000001};
  uint8_t c = s.u8();
  return c < 6 * 40 ? kChoices[c % 6] : s.u32();
}
uint16_t any_port(Script& s) {
  uint8_t c = s.u8();
  return c < 200 ? uint16_t(c % 2 ? 80 : 40000 + c % 4) : s.u16();
}

constexpr uint16_t kMaxApps = 4;

void app_request(Harness& h, std::vector<uint16_t>& apps, Script& s) {
  if (apps.empty()) return;
  uint16_t ctx = apps[s.u8() % apps.size()];
  abi::AppRequest r{};
  r.kind = s.u8() % 24;
  r.id = s.u8() < 128 ? s.u8() : s.u32();
  r.slot = s.u8() % 12;
  r.gen = s.u8() % 4;
  r.ip = any_ip(s);
  r.local_ip = any_ip(s);
  r.port = any_port(s);
  r.local_port = any_port(s);
  r.backlog = s.u16();
  r.version = s.u8() < 200 ? abi::kAbiVersion : s.u32();
  r.keep_enabled = s.u8() % 3;
  r.keep_idle_s = s.u16();
  r.keep_intvl_s = s.u16();
  r.keep_cnt = s.u8();
  r.ctx = s.u8() % 6;
  r.flags = s.u8();
  r.seq = s.u32();
  abi::AppResponse resp = h.cp.handle_request(ctx, r, h.now);
  FUZZ_CHECK(resp.kind == r.kind && resp.seq == r.seq);
  FUZZ_CHECK(resp.error >= 0 && resp.error < 4096);
}

// The last TCP segment the slow path sent: a peer answering it gets past handshakes whose
// sequence numbers the fuzzer could never guess.
struct LastSent {
  bool valid = false;
  uint32_t seq = 0, next = 0, ack = 0;
  uint16_t src_port = 0, dst_port = 0;
};

void peer_segment(Harness& h, const LastSent& last, Script& s) {
  PeerSeg p;
  p.flags = s.u8();
  uint8_t how = s.u8();
  if (how < 96 && last.valid) {  // an answer to the last segment sent, give or take a little
    p.seq = last.ack + uint32_t(int32_t(int8_t(s.u8()) / 32));
    p.ack = last.next + uint32_t(int32_t(int8_t(s.u8()) / 32));
  } else {  // near a flow entry's numbers, or anything
    const abi::FlowEntry& e = h.flow(s.u8() % h.settings.max_flows);
    p.seq = how < 192 ? e.rcv_nxt + uint32_t(int32_t(int8_t(s.u8()))) : s.u32();
    p.ack = how < 192 ? e.snd_nxt + uint32_t(int32_t(int8_t(s.u8()))) : s.u32();
  }
  p.window = s.u16();
  if (s.u8() & 1) p.mss = s.u16();
  if (s.u8() & 1) p.wscale = int8_t(s.u8() % 16);
  p.sack_permitted = s.u8() & 1;
  p.timestamps = s.u8() & 1;
  p.ts_val = s.u32();
  p.ts_ecr = s.u32();
  bool answer = how < 96 && last.valid;
  p.src_port = answer ? last.dst_port : any_port(s);
  p.dst_port = answer ? last.src_port : any_port(s);
  p.src_ip = s.u8() < 200 ? kPeerIp : s.u32();
  p.payload.assign(s.u8() % 64, 'p');
  h.rx(p);
}

void arp(Harness& h, Script& s) {
  uint16_t op = s.u8() % 3;
  wire::MacAddr mac = kPeerMac;
  mac[5] = s.u8();
  h.rx(arp_frame(op, any_ip(s), mac, any_ip(s)));
}

// What the fast path says of the flows it holds: the peer's FIN, our FIN acknowledged, a failure.
void fast_path_event(Harness& h, const std::vector<uint32_t>& installed, Script& s) {
  if (installed.empty()) return;
  static constexpr abi::FpEventKind kKinds[] = {abi::FpEventKind::kPeerFin, abi::FpEventKind::kFinAcked,
                                                abi::FpEventKind::kFlowError};
  uint32_t flow = installed[s.u8() % installed.size()];
  h.event(kKinds[s.u8() % 3], flow, int32_t(s.u8() % 8), h.flow(flow).ctx);
}

// The fast path's answers to the commands of the last step.
void play_fast_path(Harness& h, std::vector<uint32_t>& installed) {
  std::vector<abi::FpCommand> cmds = std::move(h.out.commands);
  h.out.commands.clear();
  for (const abi::FpCommand& c : cmds) {
    switch (abi::FpCommandKind(c.kind)) {
      case abi::FpCommandKind::kInstall:
        FUZZ_CHECK(c.flow < h.settings.max_flows);
        installed.push_back(c.flow);
        break;
      case abi::FpCommandKind::kRemove:
        FUZZ_CHECK(c.flow < h.settings.max_flows);
        std::erase(installed, c.flow);
        h.event(abi::FpEventKind::kRemoved, c.flow);
        break;
      case abi::FpCommandKind::kDetachCtx:
        h.event(abi::FpEventKind::kCtxDetached, 0, 0, c.ctx);
        break;
      default:
        break;
    }
  }
}

void scribble(Harness& h, const std::vector<uint16_t>& apps, Script& s) {
  if (apps.empty()) return;
  const abi::AppRegionView& v = h.views[apps[s.u8() % apps.size()]];
  abi::FlowSlot* slot = v.slot(s.u8() % v.layout.n_slots);
  size_t off = s.u8() % sizeof(abi::FlowSlot) & ~size_t{3};
  uint32_t val = s.u32();
  std::memcpy(reinterpret_cast<uint8_t*>(slot) + off, &val, sizeof(val));
}

void check_outputs(Harness& h, LastSent& last) {
  for (const RecordedFrame& f : h.out.frames) {
    if (f.is_arp()) {
      FUZZ_CHECK(wire::parse_arp(f.bytes.data() + 14, f.bytes.size() - 14).has_value());
      continue;
    }
    auto r = wire::parse_tcp_frame(f.bytes.data(), f.bytes.size(), true);
    FUZZ_CHECK(r.error == wire::FrameError::kOk);
    last = {true, r.f.tcp.seq, r.f.tcp.seq + wire::seg_len(r.f.tcp, r.f.payload_len), r.f.tcp.ack,
            r.f.tcp.src_port, r.f.tcp.dst_port};
  }
  h.out.clear();
  FUZZ_CHECK(h.cp.flows() <= h.settings.max_flows);
  FUZZ_CHECK(h.cp.contexts() <= h.settings.max_contexts);
  FUZZ_CHECK(h.cp.half_open() <= 4096);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // the lines hostile input causes, written a million times
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Script s{data, size};
  Settings settings = test_settings();
  settings.app_layout = app_layout(8, 4096, 4096);  // small rings: a fresh harness per input is cheap
  settings.app_layout.ctl_capacity = 16;
  settings.app_layout.atx_capacity = 16;
  settings.app_layout.arx_capacity = 16;
  Harness h(settings);
  std::vector<uint16_t> apps{h.add_app()};
  std::vector<uint32_t> installed;  // flows the fast path holds
  LastSent last;
  for (int step = 0; step < 256 && !s.done(); ++step) {
    switch (s.u8() % 9) {
      case 0:
      case 1: app_request(h, apps, s); break;
      case 2:
      case 3: peer_segment(h, last, s); break;
      case 4: arp(h, s); break;
      case 5: fast_path_event(h, installed, s); break;
      case 6: scribble(h, apps, s); break;
      case 7:
        if (apps.size() < kMaxApps && s.u8() & 1) {
          apps.push_back(h.add_app());
        } else if (!apps.empty()) {
          size_t i = s.u8() % apps.size();
          h.cp.app_disconnected(apps[i], h.now);  // its link closed: the process is gone
          apps.erase(apps.begin() + long(i));
        }
        break;
      case 8: h.advance(10u * (1 + s.u8() % 64)); break;
    }
    // Twice: the answers may bring more commands (a removal completing a detach).
    play_fast_path(h, installed);
    play_fast_path(h, installed);
    check_outputs(h, last);
  }
  nlohmann::json st = status_json(h.cp, *h.ctrl.header(), true);
  FUZZ_CHECK(st.is_object());
  return 0;
}
