// Time protection in the datapath, with a scripted cycle counter: whose cycles are whose, parking
// and serving the frames of a tenant out of budget, the bounded backlog, work conservation,
// refills, the host account, and settings changed at run time.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "support/fake_fastpath.hpp"
#include "support/vxlan_frames.hpp"

using namespace virtuoso;
using test::FastpathHarness;
using wire::kTcpAck;
using wire::kTcpPsh;

namespace {

constexpr uint32_t kVniA = 42;  // tenant 1: flow 0, the one that runs out of budget
constexpr uint32_t kVniB = 43;  // tenant 2: a large weight, always funded
constexpr uint32_t kVtep = 0xc0000202;
constexpr uint16_t kPeerSrcPort = 60001;
constexpr uint64_t kPeriod = 10'000'000;  // 10 ms at the harness's 1 GHz: no refill unless a test moves the counter
constexpr uint64_t kStep = 1000;          // cycles between any two counter reads

// Two tenants behind VXLAN; tenant 1's weight is so small that one loop of its work overdraws
// it, tenant 2's and the host's are large. Every counter read moves the clock by kStep.
struct Protected {
  FastpathHarness h;
  explicit Protected(bool enforce = true, uint32_t backlog = 8, bool ecn = false) {
    h.add_tenant(kVniA, 1);
    h.add_tenant(kVniB, 2);
    abi::BudgetSettings& s = h.ctrl.header()->budget_settings;
    s.enforce = enforce ? 1 : 0;
    s.period_us = uint32_t(kPeriod / 1000);
    s.burst_periods = 1;
    s.backlog_frames = backlog;
    s.ecn = ecn ? 1 : 0;
    s.weight[0] = 10000;
    s.weight[1] = 1;  // 500 cycles a period
    s.weight[2] = 10000;
    s.generation = 1;
    h.cycles.set_step(kStep);
    h.restart();
    h.vni = kVniA;
    h.tenant = 1;
    h.vtep_ip = kVtep;
    h.tcp_opts = abi::kFlowOptEcn;  // negotiated in the handshake
    h.establish(1000, 5000, 65535, 1000);  // the install is tenant 1's work: it overdraws it
  }
  const abi::BudgetAccount& account(uint32_t id) { return h.ctrl.header()->budget_accounts[id]; }
  const util::Budgets& budgets() { return h.dp->budgets(); }
  // A segment of tenant 1's flow, and a frame of tenant 2 (a SYN its slow path gets).
  std::vector<uint8_t> a_data(uint32_t seq, const std::string& payload) {
    return test::encapsulate(test::inner_segment(h, seq, 1000, kTcpAck | kTcpPsh, payload), kVniA, kVtep,
                             kPeerSrcPort);
  }
  std::vector<uint8_t> b_frame() {
    return test::encapsulate(test::inner_segment(h, 9000, 0, wire::kTcpSyn), kVniB, kVtep, kPeerSrcPort);
  }
  // A period passes (during one loop); the next loop begins with the refill.
  void next_period() {
    h.cycles.script({kPeriod});
    h.dp->poll_once();
    h.dp->poll_once();
  }
};

}  // namespace

TEST_CASE("budgets: a tenant out of budget has its frames parked while another works, then served in order",
          "[budgets][fastpath]") {
  Protected p;
  FastpathHarness& h = p.h;
  REQUIRE_FALSE(p.budgets().funded(1));
  h.port.rx.push_back(p.a_data(5000, "ab"));
  h.port.rx.push_back(p.b_frame());
  h.port.rx.push_back(p.a_data(5002, "cd"));
  h.dp->poll_once();
  CHECK(h.punted() == 1);  // tenant 2's frame went through at once
  CHECK(h.app_read_all().empty());
  CHECK(p.account(1).deferred_rx == 2);
  CHECK(h.port.live_buffers == 2);  // parked in their port buffers
  h.dp->poll_once();  // no tenant with budget has work: spare time
  CHECK(h.app_read_all() == "abcd");
  CHECK(h.flow().rcv_nxt == 5004);
  CHECK(p.budgets().spare(1) > 0);
  CHECK(h.port.live_buffers == 0);
}

TEST_CASE("budgets: a full backlog drops what does not fit, counted, parked frames are kept, and go "
          "back to the port at exit", "[budgets][fastpath]") {
  Protected p(true, 4);
  FastpathHarness& h = p.h;
  auto tenant2_works_and_1_sends = [&](uint32_t seq) {
    h.port.rx.push_back(p.b_frame());
    for (uint32_t i = 0; i < 6; ++i) h.port.rx.push_back(p.a_data(seq + i, std::string(1, char('a' + i))));
    h.dp->poll_once();
  };
  tenant2_works_and_1_sends(5000);
  CHECK(p.account(1).deferred_rx == 4);
  CHECK(p.account(1).dropped_rx == 2);
  CHECK(h.port.live_buffers == 4);
  h.dp->poll_once();
  CHECK(h.app_read_all() == "abcd");  // e and f were dropped: the peer sends them again
  CHECK(h.flow().rcv_nxt == 5004);
  tenant2_works_and_1_sends(5004);
  CHECK(h.port.live_buffers == 4);
  h.dp.reset();  // the datapath ends with frames parked
  CHECK(h.port.live_buffers == 0);
}

TEST_CASE("budgets: work-conserving: a lone tenant out of budget still gets the core, in the same loop",
          "[budgets][fastpath]") {
  Protected p;
  FastpathHarness& h = p.h;
  REQUIRE_FALSE(p.budgets().funded(1));
  h.port.rx.push_back(p.a_data(5000, "x"));
  h.port.rx.push_back(p.a_data(5001, "y"));
  h.port.rx.push_back(p.a_data(5002, "z"));
  h.dp->poll_once();
  CHECK(h.app_read_all() == "xyz");
  CHECK(p.account(1).deferred_rx == 3);  // parked, and served at once: nobody with budget had work
  CHECK(p.account(1).dropped_rx == 0);
}

TEST_CASE("budgets: a refill funds the tenant again: no starvation", "[budgets][fastpath]") {
  Protected p;
  FastpathHarness& h = p.h;
  REQUIRE_FALSE(p.budgets().funded(1));
  p.next_period();  // overdrawn by its whole cap: one period's share only pays the debt
  CHECK_FALSE(p.budgets().funded(1));
  p.next_period();
  REQUIRE(p.budgets().funded(1));
  h.cycles.set_step(10);  // cheap reads now: its share of the port's read leaves it budget
  h.port.rx.push_back(p.b_frame());
  h.port.rx.push_back(p.a_data(5000, "now"));
  h.dp->poll_once();
  CHECK(h.app_read_all() == "now");  // beside tenant 2's work, not after it
  CHECK(p.account(1).deferred_rx == 0);
}

TEST_CASE("budgets: the app queue of a tenant out of budget waits while another works", "[budgets][fastpath]") {
  Protected p;
  FastpathHarness& h = p.h;
  abi::FlowSlot& s = h.slot();
  shm::ring_write(h.view.tx_buf(3), h.alayout.tx_size, s.tx_head, "xyz", 3);
  s.tx_head += 3;
  h.view.atx().try_push({3, 7, uint16_t(abi::AppCmdKind::kTxBump), 0, 0});
  h.port.rx.push_back(p.b_frame());
  h.dp->poll_once();
  CHECK(h.port.sent.empty());
  CHECK(p.account(1).deferred_apps == 1);
  h.dp->poll_once();  // spare time
  REQUIRE(h.port.sent.size() == 1);
  auto v = wire::parse_vxlan_frame(h.port.sent[0].data(), h.port.sent[0].size());
  REQUIRE(v.error == wire::VxlanError::kOk);
  auto t = wire::parse_tcp_frame(v.f.inner, v.f.inner_len);
  REQUIRE(t.error == wire::FrameError::kOk);
  CHECK(std::string(t.f.payload, t.f.payload + t.f.payload_len) == "xyz");
}

TEST_CASE("budgets: each frame's cycles go to its tenant, junk and unknown VNIs to the host account",
          "[budgets][fastpath]") {
  Protected p(false);
  FastpathHarness& h = p.h;
  uint64_t host = p.budgets().used(0), a = p.budgets().used(1), b = p.budgets().used(2);
  std::vector<uint8_t> junk(60, 0);
  junk[12] = 0x12;  // an ethertype nobody speaks
  h.port.rx.push_back(junk);
  h.port.rx.push_back(test::encapsulate(test::inner_segment(h, 1, 0, wire::kTcpSyn), 77, kVtep, kPeerSrcPort));
  h.dp->poll_once();
  CHECK(p.budgets().used(0) > host);
  CHECK(p.budgets().used(1) == a);
  CHECK(p.budgets().used(2) == b);
  host = p.budgets().used(0);
  h.port.rx.push_back(p.a_data(5000, "q"));
  h.dp->poll_once();
  CHECK(p.budgets().used(1) >= a + kStep);
  CHECK(p.budgets().used(2) == b);
}

TEST_CASE("budgets: not enforcing, nothing waits and everything is charged", "[budgets][fastpath]") {
  Protected p(false);
  FastpathHarness& h = p.h;
  uint64_t before = p.budgets().used(1);
  h.port.rx.push_back(p.b_frame());
  h.port.rx.push_back(p.a_data(5000, "go"));
  h.dp->poll_once();
  CHECK(h.app_read_all() == "go");
  CHECK(p.account(1).deferred_rx == 0);
  CHECK(p.budgets().used(1) > before);
}

TEST_CASE("budgets: new weights and enforcement take effect at the next refill, and accounts are published",
          "[budgets][fastpath]") {
  Protected p;
  FastpathHarness& h = p.h;
  abi::BudgetSettings& s = h.ctrl.header()->budget_settings;
  s.weight[1] = 10000;
  s.generation = 2;
  h.dp->poll_once();
  CHECK(p.budgets().weight(1) == 1);  // not before the refill
  p.next_period();
  CHECK(p.budgets().weight(1) == 10000);
  CHECK(h.dp->stats().budget_generation == 2);
  CHECK(p.account(1).cycles == p.budgets().used(1));
  CHECK(p.account(1).budget == p.budgets().budget(1));
  s.enforce = 0;
  s.generation = 3;
  p.next_period();
  CHECK_FALSE(p.budgets().enforcing());
}

TEST_CASE("budgets: reading the port is charged to the frames it brought, shared by count", "[budgets][fastpath]") {
  Protected p(false);
  FastpathHarness& h = p.h;
  // The port's read of a non-empty burst takes a million cycles.
  h.port.on_rx_burst = [&] {
    if (h.port.rx.empty()) return;
    h.cycles.script({1'000'000});
    (void)h.cycles.now();
  };
  uint64_t host = p.budgets().used(0), a = p.budgets().used(1), b = p.budgets().used(2);
  h.port.rx.push_back(p.a_data(5000, "x"));
  h.port.rx.push_back(p.b_frame());
  h.port.rx.push_back(p.a_data(5001, "y"));
  h.port.rx.push_back(p.b_frame());
  h.dp->poll_once();
  CHECK(p.budgets().used(1) - a >= 500'000);
  CHECK(p.budgets().used(2) - b >= 500'000);
  CHECK(p.budgets().used(0) - host < 100'000);
  // An empty poll is the host's (and no one's, as an idle loop).
  h.port.on_rx_burst = nullptr;
  h.dp->poll_once();
  CHECK(h.app_read_all() == "xy");
}

TEST_CASE("budgets: with ecn, a tenant short of budget answers data with ECE, without, it does not",
          "[budgets][fastpath]") {
  for (bool ecn : {true, false}) {
    Protected p(true, 8, ecn);
    FastpathHarness& h = p.h;
    REQUIRE_FALSE(p.budgets().funded(1));
    h.port.rx.push_back(p.a_data(5000, "data"));
    h.dp->poll_once();  // alone: processed on spare time
    CHECK(h.app_read_all() == "data");
    bool ece = false;
    for (auto& fr : h.port.sent) {
      auto v = wire::parse_vxlan_frame(fr.data(), fr.size());
      REQUIRE(v.error == wire::VxlanError::kOk);
      auto t = wire::parse_tcp_frame(v.f.inner, v.f.inner_len);
      REQUIRE(t.error == wire::FrameError::kOk);
      ece |= (t.f.tcp.flags & wire::kTcpEce) != 0;
    }
    CHECK(ece == ecn);
    CHECK(p.account(1).ecn_marked == (ecn ? 1u : 0u));
  }
}
