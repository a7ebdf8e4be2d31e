// Slow path, shared-memory producers: waiting lists when queues are full, ordering, doorbells.
#include <catch2/catch.hpp>

#include "core/shm_channels.hpp"
#include "testing/harness.hpp"
#include "virtuoso/shm/atomic.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {
struct Bells : Doorbells {
  int fastpath = 0;
  std::vector<uint16_t> apps;
  void ring_fastpath() override { ++fastpath; }
  void ring_app(uint16_t ctx) override { apps.push_back(ctx); }
};

struct Setup {
  abi::ControlLayout layout{4, 2, 2, 2, 2};
  Region mem{layout.total_bytes()};
  abi::ControlRegionView ctrl{mem.data(), layout};
  abi::AppLayout app_layout{2, 4096, 4096, 2, 2, 2};
  Region app_mem{app_layout.total_bytes()};
  abi::AppRegionView app{app_mem.data(), app_layout};
  ShmChannels ch{ctrl, 4};
  Bells bells;
  Setup() {
    init_control_region(ctrl);
    init_app_region(app, 1);
    ch.add_context(1, app);
  }
  abi::FpCommand cmd(uint32_t flow) {
    abi::FpCommand c{};
    c.kind = uint16_t(abi::FpCommandKind::kRetransmit);
    c.flow = flow;
    return c;
  }
};
}  // namespace

TEST_CASE("Channels: ctl queue full -> events wait and arrive in order, none dropped") {
  Setup s;
  for (uint32_t i = 0; i < 5; ++i) {
    abi::CtlEvent ev{};
    ev.id = i;
    s.ch.push_ctl(1, ev);
  }
  CHECK(s.ch.waiting());
  std::vector<uint32_t> got;
  abi::CtlEvent ev;
  for (int round = 0; round < 5; ++round) {
    while (s.app.ctl().try_pop(ev) == shm::PopResult::kOk) got.push_back(ev.id);
    s.ch.flush(s.bells);
  }
  CHECK(got == std::vector<uint32_t>{0, 1, 2, 3, 4});
  CHECK_FALSE(s.ch.waiting());
}

TEST_CASE("Channels: cmd queue full -> commands wait and keep their order") {
  Setup s;
  for (uint32_t i = 0; i < 4; ++i) s.ch.push_command(s.cmd(i));
  std::vector<uint32_t> got;
  abi::FpCommand c;
  for (int round = 0; round < 4; ++round) {
    while (s.ctrl.cmd().try_pop(c) == shm::PopResult::kOk) got.push_back(c.flow);
    s.ch.flush(s.bells);
  }
  CHECK(got == std::vector<uint32_t>{0, 1, 2, 3});
}

TEST_CASE("Channels: frame replayed as received -> waits until the fast path took the commands before it") {
  Setup s;
  s.ch.push_command(s.cmd(7));  // e.g. kInstall of the flow the frame belongs to
  uint8_t frame[60] = {};
  s.ch.push_frame(frame, sizeof frame, abi::kPacketProcessAsRx);
  CHECK(s.ctrl.inject().empty());
  s.ch.flush(s.bells);
  CHECK(s.ctrl.inject().empty());
  abi::FpCommand c;
  REQUIRE(s.ctrl.cmd().try_pop(c) == shm::PopResult::kOk);
  s.ch.flush(s.bells);
  abi::PacketSlot slot;
  REQUIRE(s.ctrl.inject().try_pop(slot) == shm::PopResult::kOk);
  CHECK(slot.flags == abi::kPacketProcessAsRx);
  CHECK(slot.len == 60);
}

TEST_CASE("Channels: plain frame -> goes out at once") {
  Setup s;
  s.ch.push_command(s.cmd(7));
  uint8_t frame[60] = {};
  s.ch.push_frame(frame, sizeof frame, 0);
  CHECK_FALSE(s.ctrl.inject().empty());
}

TEST_CASE("Channels: consumer sleeping -> doorbell rung after a push, awake -> not rung") {
  Setup s;
  s.ch.push_command(s.cmd(1));
  s.ch.flush(s.bells);
  CHECK(s.bells.fastpath == 0);
  shm::store_seq_cst(s.ctrl.header()->fp_sleeping, 1u);
  s.ch.push_command(s.cmd(2));
  s.ch.flush(s.bells);
  CHECK(s.bells.fastpath == 1);
  s.ch.flush(s.bells);
  CHECK(s.bells.fastpath == 1);  // nothing new: no ring
  shm::store_seq_cst(s.app.header()->app_sleeping, 1u);
  s.ch.push_ctl(1, abi::CtlEvent{});
  s.ch.flush(s.bells);
  CHECK(s.bells.apps == std::vector<uint16_t>{1});
}

TEST_CASE("Channels: context removed -> its waiting events are dropped with it") {
  Setup s;
  for (int i = 0; i < 4; ++i) s.ch.push_ctl(1, abi::CtlEvent{});
  CHECK(s.ch.waiting());
  s.ch.remove_context(1);
  CHECK_FALSE(s.ch.waiting());
  s.ch.push_ctl(1, abi::CtlEvent{});
  CHECK_FALSE(s.ch.waiting());
}
