// Fast-path kRehome (a connection moves to another app's slot after fork()) and kFin (the slow
// path closes a connection no app holds any more).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "support/fake_fastpath.hpp"

using namespace virtuoso;
using test::FastpathHarness;
using wire::kTcpAck;
using wire::kTcpFin;

namespace {

constexpr uint16_t kNewCtx = 1;
constexpr uint32_t kNewSlot = 5;
constexpr uint32_t kNewGen = 9;

// A second app context beside the harness's ctx 0, as another process of the same app would have.
struct OtherContext {
  abi::AppLayout layout;
  std::vector<uint8_t> region;
  abi::AppRegionView view;

  OtherContext(FastpathHarness& h, uint16_t ctx, const abi::AppLayout& l)
      : layout(l), region(l.total_bytes()), view{region.data(), l} {
    view.atx().reset();
    view.arx().reset();
    view.ctl().reset();
    h.sp_events();
    h.host.app_region = &region;
    h.command({uint16_t(abi::FpCommandKind::kAttachCtx), ctx, 0, layout, 0, 0});
    h.host.app_region = &h.app;
    auto evs = h.sp_events();
    REQUIRE(evs.size() == 1);
    REQUIRE(evs[0].kind == uint16_t(abi::FpEventKind::kCtxAttached));
    REQUIRE(evs[0].value == 0);
  }
  abi::FlowSlot& slot(uint32_t i = kNewSlot) { return *view.slot(i); }
  std::vector<abi::AppEvent> app_events() {
    std::vector<abi::AppEvent> out;
    abi::AppEvent ev;
    while (view.arx().try_pop(ev) == shm::PopResult::kOk) out.push_back(ev);
    return out;
  }
  // The new owner's side: write into its tx ring and bump with its slot/gen.
  void app_send(FastpathHarness& h, const std::string& bytes, uint32_t gen = kNewGen) {
    abi::FlowSlot& s = slot();
    shm::ring_write(view.tx_buf(kNewSlot), layout.tx_size, s.tx_head, bytes.data(), bytes.size());
    s.tx_head += uint32_t(bytes.size());
    view.atx().try_push({kNewSlot, gen, uint16_t(abi::AppCmdKind::kTxBump), 0, 0});
    h.dp->poll_once();
  }
};

std::string ring_bytes(const uint8_t* ring, uint32_t size, uint32_t pos, uint32_t len) {
  std::string out(len, '\0');
  shm::ring_read(ring, size, pos, out.data(), len);
  return out;
}

// Sends kRehome and returns the one kRehomed event it must produce.
abi::FpEvent rehome(FastpathHarness& h, uint32_t flow, uint16_t ctx, uint32_t slot, uint32_t gen) {
  h.sp_events();
  abi::FpCommand c{uint16_t(abi::FpCommandKind::kRehome), ctx, flow, {}, slot, gen};
  h.command(c);
  auto evs = h.sp_events();
  REQUIRE(evs.size() == 1);
  REQUIRE(evs[0].kind == uint16_t(abi::FpEventKind::kRehomed));
  CHECK(evs[0].flow == flow);
  return evs[0];
}

// The flow still lives in slot 3 of ctx 0 and works there: bytes the old app sends go out.
void check_still_home(FastpathHarness& h) {
  CHECK(h.flow().ctx == 0);
  CHECK(h.flow().slot == 3);
  CHECK(h.flow().gen == 7);
  h.take_sent();
  uint32_t snd_nxt = h.flow().snd_nxt;
  h.app_send("still");
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.seq == snd_nxt);
  CHECK(std::string(out[0].payload.begin(), out[0].payload.end()) == "still");
}

}  // namespace

TEST_CASE("ESTABLISHED with unread rx and unacked tx: kRehome -> new slot has the same positions, live bytes and RTT") {
  FastpathHarness h;
  h.establish();
  OtherContext other(h, kNewCtx, h.alayout);
  h.app_send("abcdefgh");
  h.advance_us(300);
  h.from_peer(5000, 1008, kTcpAck, "hello");  // acknowledges (an RTT sample) and leaves 5 bytes unread
  h.app_send("ijkl");                         // in flight
  h.slot().tx_nospace = 1;
  const abi::FlowSlot old = h.slot();
  REQUIRE(old.srtt_us != 0);
  REQUIRE(old.rx_head == 5);
  REQUIRE(old.tx_tail == 8);
  REQUIRE(old.tx_head == 12);
  std::memset(&other.slot(), 0x5a, sizeof(abi::FlowSlot));  // a former occupant's leftovers
  other.slot().gen = kNewGen;  // published by the slow path before the command

  abi::FpEvent ev = rehome(h, 0, kNewCtx, kNewSlot, kNewGen);
  CHECK(ev.value == 0);
  CHECK(ev.ctx == kNewCtx);
  const abi::FlowSlot& s = other.slot();
  CHECK(s.rx_head == 5);
  CHECK(s.rx_tail == 0);
  CHECK(s.rx_fin == 0);
  CHECK(s.tx_head == 12);
  CHECK(s.tx_tail == 8);
  CHECK(s.error == 0);
  CHECK(s.tx_nospace == 0);
  CHECK(s.gen == kNewGen);
  CHECK(s.srtt_us == old.srtt_us);
  CHECK(s.rttvar_us == old.rttvar_us);
  CHECK(s.snd_mss == old.snd_mss);
  CHECK(s.retransmits == old.retransmits);
  CHECK(ring_bytes(other.view.rx_buf(kNewSlot), other.layout.rx_size, 0, 5) == "hello");
  // Only what is still needed moves: the unacknowledged bytes, not the 8 acknowledged ones.
  CHECK(ring_bytes(other.view.tx_buf(kNewSlot), other.layout.tx_size, 8, 4) == "ijkl");
  CHECK(h.flow().ctx == kNewCtx);
  CHECK(h.flow().slot == kNewSlot);
  CHECK(h.flow().gen == kNewGen);
}

TEST_CASE("rehomed flow: segment and ACK from the peer -> bytes in the new ring, kRxData to the new context, tx freed there") {
  FastpathHarness h;
  h.establish();
  OtherContext other(h, kNewCtx, h.alayout);
  h.app_send("abcd");
  h.from_peer(5000, 1000, kTcpAck, "hello");
  h.app_events();
  REQUIRE(rehome(h, 0, kNewCtx, kNewSlot, kNewGen).value == 0);

  h.from_peer(5005, 1004, kTcpAck, "world");
  const abi::FlowSlot& s = other.slot();
  CHECK(s.rx_head == 10);
  CHECK(ring_bytes(other.view.rx_buf(kNewSlot), other.layout.rx_size, 0, 10) == "helloworld");
  CHECK(s.tx_tail == 4);
  CHECK(h.slot().rx_head == 5);  // the old slot is no longer written
  CHECK(h.slot().tx_tail == 0);
  CHECK(h.app_events().empty());
  auto evs = other.app_events();
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].kind == uint16_t(abi::AppEventKind::kRxData));
  CHECK(evs[0].slot == kNewSlot);
  CHECK(evs[0].gen == kNewGen);
}

TEST_CASE("ESTABLISHED with out-of-order data past rx_head: kRehome, gap filled -> every byte in order in the new ring") {
  FastpathHarness h;
  h.establish();
  OtherContext other(h, kNewCtx, h.alayout);
  h.from_peer(5005, 1000, kTcpAck, "world");  // held past rx_head in the old ring
  REQUIRE(h.slot().rx_head == 0);
  REQUIRE(rehome(h, 0, kNewCtx, kNewSlot, kNewGen).value == 0);
  h.take_sent();

  h.from_peer(5000, 1000, kTcpAck, "hello");
  CHECK(other.slot().rx_head == 10);
  CHECK(ring_bytes(other.view.rx_buf(kNewSlot), other.layout.rx_size, 0, 10) == "helloworld");
  CHECK(h.flow().rcv_nxt == 5010);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.ack == 5010);
}

TEST_CASE("rehomed flow: kTxBump naming the old slot or the old generation -> refused, the new slot/gen -> data sent") {
  FastpathHarness h;
  h.establish();
  OtherContext other(h, kNewCtx, h.alayout);
  REQUIRE(rehome(h, 0, kNewCtx, kNewSlot, kNewGen).value == 0);
  h.take_sent();
  uint64_t bad = h.dp->stats().app_cmd_bad;

  h.app_send("stale");  // the old app, its old slot 3 and generation 7
  CHECK(h.dp->stats().app_cmd_bad == bad + 1);
  other.view.atx().try_push({kNewSlot, 7, uint16_t(abi::AppCmdKind::kTxBump), 0, 0});
  h.dp->poll_once();
  CHECK(h.dp->stats().app_cmd_bad == bad + 2);
  CHECK(h.take_sent().empty());

  other.app_send(h, "fresh");
  CHECK(h.dp->stats().app_cmd_bad == bad + 2);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.seq == 1000);
  CHECK(std::string(out[0].payload.begin(), out[0].payload.end()) == "fresh");
}

TEST_CASE("ESTABLISHED with bytes written but their bump never processed: kRehome -> the bytes go out from the new slot") {
  FastpathHarness h;
  h.establish();
  OtherContext other(h, kNewCtx, h.alayout);
  shm::ring_write(h.view.tx_buf(3), h.alayout.tx_size, 0, "late", 4);
  h.slot().tx_head = 4;  // the old app's kTxBump would now be refused
  h.take_sent();
  REQUIRE(rehome(h, 0, kNewCtx, kNewSlot, kNewGen).value == 0);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.seq == 1000);
  CHECK(std::string(out[0].payload.begin(), out[0].payload.end()) == "late");
}

TEST_CASE("ESTABLISHED with the old app's kTxFin still queued: kRehome -> the FIN goes out, not refused") {
  FastpathHarness h;
  h.establish();
  OtherContext other(h, kNewCtx, h.alayout);
  h.app_send("last");
  h.take_sent();
  // shutdown(SHUT_WR) in the old app, then the move before the fast path read its queue.
  REQUIRE(h.view.atx().try_push({3, 7, uint16_t(abi::AppCmdKind::kTxFin), 0, 0}));
  REQUIRE(rehome(h, 0, kNewCtx, kNewSlot, kNewGen).value == 0);
  CHECK(h.flow().fp_flags & abi::kFlowFinQueued);
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.flags & kTcpFin);
  CHECK(out[0].f.tcp.seq == 1004);
  CHECK(h.flow().ctx == kNewCtx);
}

TEST_CASE("ESTABLISHED with a full rx ring read but its kRxConsumed never processed: kRehome -> window update sent") {
  FastpathHarness h;
  h.establish();
  OtherContext other(h, kNewCtx, h.alayout);
  uint32_t seq = 5000;
  for (uint32_t left = h.alayout.rx_size; left > 0;) {
    uint32_t n = std::min<uint32_t>(left, 1000);
    h.from_peer(seq, 1000, kTcpAck, std::string(n, 'r'));
    seq += n;
    left -= n;
  }
  h.advance_us(h.cfg.delayed_ack_us);
  auto out = h.take_sent();
  REQUIRE(!out.empty());
  REQUIRE(out.back().f.tcp.window == 0);  // the ring is full
  h.slot().rx_tail = h.slot().rx_head;     // the old app read it all; its kRxConsumed would be refused now
  REQUIRE(rehome(h, 0, kNewCtx, kNewSlot, kNewGen).value == 0);
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].payload.empty());
  CHECK(out[0].f.tcp.ack == seq);
  CHECK(out[0].f.tcp.window == h.alayout.rx_size);
}

TEST_CASE("rehomed flow: kRehome back into the slot it left -> accepted, the old slot was freed") {
  FastpathHarness h;
  h.establish();
  OtherContext other(h, kNewCtx, h.alayout);
  h.from_peer(5000, 1000, kTcpAck, "hello");
  REQUIRE(rehome(h, 0, kNewCtx, kNewSlot, kNewGen).value == 0);
  *h.view.slot(3) = {};
  h.view.slot(3)->gen = 8;
  CHECK(rehome(h, 0, 0, 3, 8).value == 0);
  CHECK(h.slot().rx_head == 5);
  CHECK(ring_bytes(h.view.rx_buf(3), h.alayout.rx_size, 0, 5) == "hello");
  CHECK(h.flow().ctx == 0);
  CHECK(h.flow().gen == 8);
}

TEST_CASE("rehomed flow: kDetachCtx of the context it left -> the flow stays installed and keeps sending") {
  FastpathHarness h;
  h.establish();
  OtherContext other(h, kNewCtx, h.alayout);
  REQUIRE(rehome(h, 0, kNewCtx, kNewSlot, kNewGen).value == 0);
  h.command({uint16_t(abi::FpCommandKind::kDetachCtx), 0, 0, {}, 0, 0});
  auto evs = h.sp_events();
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].kind == uint16_t(abi::FpEventKind::kCtxDetached));
  h.take_sent();
  other.app_send(h, "alive");
  auto out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(std::string(out[0].payload.begin(), out[0].payload.end()) == "alive");
}

TEST_CASE("flow not installed: kRehome -> kRehomed ENOENT, entry unchanged") {
  FastpathHarness h;
  h.establish();
  OtherContext other(h, kNewCtx, h.alayout);
  CHECK(rehome(h, 1, kNewCtx, kNewSlot, kNewGen).value == ENOENT);  // never installed
  h.command({uint16_t(abi::FpCommandKind::kRemove), 0, 0, {}, 0, 0});
  CHECK(rehome(h, 0, kNewCtx, kNewSlot, kNewGen).value == ENOENT);
  CHECK(h.flow().ctx == 0);
  CHECK(h.flow().slot == 3);
  CHECK(h.flow().gen == 7);
  CHECK(rehome(h, h.clayout.max_flows, kNewCtx, kNewSlot, kNewGen).value == EINVAL);  // out of range
}

TEST_CASE("ESTABLISHED: kRehome into a slot another flow holds, or its own -> EINVAL, nothing changed") {
  FastpathHarness h;
  h.establish();
  OtherContext other(h, kNewCtx, h.alayout);
  abi::FlowEntry& e1 = *h.ctrl.flow(1);  // a second connection living in ctx 1 slot 5
  e1 = h.flow();
  e1.remote_port = FastpathHarness::kRemotePort + 1;
  e1.ctx = kNewCtx;
  e1.slot = kNewSlot;
  e1.gen = kNewGen;
  other.slot().gen = kNewGen;
  h.command({uint16_t(abi::FpCommandKind::kInstall), 0, 1, {}, 0, 0});
  REQUIRE(h.sp_events().empty());
  h.from_peer(5000, 1000, kTcpAck, "hello");

  CHECK(rehome(h, 0, kNewCtx, kNewSlot, 10).value == EINVAL);
  CHECK(rehome(h, 0, 0, 3, 10).value == EINVAL);
  CHECK(other.slot().rx_head == 0);
  CHECK(other.slot().gen == kNewGen);
  CHECK(h.ctrl.flow(1)->gen == kNewGen);
  CHECK(h.slot().rx_head == 5);
  check_still_home(h);
}

TEST_CASE("ESTABLISHED: kRehome to a context not attached or a slot out of range -> EINVAL, nothing changed") {
  FastpathHarness h;
  h.establish();
  OtherContext other(h, kNewCtx, h.alayout);
  CHECK(rehome(h, 0, 2, kNewSlot, kNewGen).value == EINVAL);    // never attached
  CHECK(rehome(h, 0, 1000, kNewSlot, kNewGen).value == EINVAL);  // beyond max_contexts
  CHECK(rehome(h, 0, kNewCtx, other.layout.n_slots, kNewGen).value == EINVAL);
  check_still_home(h);
}

TEST_CASE("ESTABLISHED: kRehome to a context with other ring sizes -> EINVAL, nothing copied") {
  FastpathHarness h;
  h.establish();
  abi::AppLayout bigger = h.alayout;
  bigger.rx_size *= 2;
  OtherContext other(h, kNewCtx, bigger);
  h.from_peer(5000, 1000, kTcpAck, "hello");
  CHECK(rehome(h, 0, kNewCtx, kNewSlot, kNewGen).value == EINVAL);
  CHECK(other.slot().rx_head == 0);
  CHECK(ring_bytes(other.view.rx_buf(kNewSlot), bigger.rx_size, 0, 5) == std::string(5, '\0'));
  check_still_home(h);
}

TEST_CASE("ESTABLISHED with bytes beyond the peer's window: kFin -> the FIN goes out after the last of them") {
  FastpathHarness h;
  h.establish(1000, 5000, 2000, 1000);
  h.app_send(std::string(3000, 'x'));
  auto out = h.take_sent();
  REQUIRE(out.size() == 2);  // the window holds two segments
  h.command({uint16_t(abi::FpCommandKind::kFin), 0, 0, {}, 0, 0});
  CHECK(h.take_sent().empty());
  CHECK(h.flow().fp_flags & abi::kFlowFinQueued);

  h.from_peer(5000, 3000, kTcpAck, "", 65535);
  out = h.take_sent();
  REQUIRE(out.size() == 1);
  CHECK(out[0].f.tcp.seq == 3000);
  CHECK(out[0].payload.size() == 1000);
  CHECK(out[0].f.tcp.flags & kTcpFin);
  CHECK(h.flow().snd_nxt == 4001);
  h.sp_events();
  h.from_peer(5000, 4001, kTcpAck);
  auto evs = h.sp_events();
  REQUIRE(evs.size() == 1);
  CHECK(evs[0].kind == uint16_t(abi::FpEventKind::kFinAcked));
}

TEST_CASE("flow not installed or out of range: kFin -> ignored") {
  FastpathHarness h;
  h.establish();
  h.take_sent();
  h.sp_events();
  h.command({uint16_t(abi::FpCommandKind::kFin), 0, 1, {}, 0, 0});
  h.command({uint16_t(abi::FpCommandKind::kFin), 0, h.clayout.max_flows, {}, 0, 0});
  CHECK(h.take_sent().empty());
  CHECK(h.sp_events().empty());
  CHECK(h.ctrl.flow(1)->fp_flags == 0);
  CHECK(h.flow().fp_flags == 0);
}
