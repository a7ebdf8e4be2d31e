// Slow path building blocks: keyed hash and ISNs, ARP resolver, port table, status JSON.
#include <catch2/catch.hpp>

#include <cerrno>

#include "core/arp_resolver.hpp"
#include "core/keyed_hash.hpp"
#include "core/port_table.hpp"
#include "core/status.hpp"
#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

TEST_CASE("SipHash-2-4: reference vectors (key 00..0f)") {
  uint64_t k0 = 0x0706050403020100ULL;
  uint64_t k1 = 0x0f0e0d0c0b0a0908ULL;
  uint8_t msg[15];
  for (uint8_t i = 0; i < 15; ++i) msg[i] = i;
  CHECK(siphash24(k0, k1, msg, 0) == 0x726fdb47dd0e0e31ULL);
  CHECK(siphash24(k0, k1, msg, 15) == 0xa129ca6149be45e5ULL);
}

TEST_CASE("ISN: depends on the 4-tuple and the key, and grows by 250 per millisecond") {
  KeyedHash a(1, 2);
  KeyedHash b(1, 3);
  FourTuple t{kLocalIp, kPeerIp, 80, 40000};
  FourTuple u{kLocalIp, kPeerIp, 80, 40001};
  CHECK(a.initial_seq(t, 0) != a.initial_seq(u, 0));
  CHECK(a.initial_seq(t, 0) != b.initial_seq(t, 0));
  CHECK(a.initial_seq(t, 1000) - a.initial_seq(t, 0) == 250000u);
}

TEST_CASE("ARP resolver: waiters resolved by a reply; entries expire after their TTL") {
  ArpResolver r(1000, 3, 5000);
  CHECK(r.wait_for(kPeerIp, 1, 0));
  CHECK_FALSE(r.wait_for(kPeerIp, 2, 0));  // one request for both
  auto w = r.learn(kPeerIp, kPeerMac, 10, false);
  CHECK(w == std::vector<uint32_t>{1, 2});
  CHECK(r.lookup(kPeerIp, 100) == kPeerMac);
  CHECK_FALSE(r.lookup(kPeerIp, 10 + 5001));
  CHECK_FALSE(r.pending());
}

TEST_CASE("ARP resolver: no reply -> resent every interval, failed after the last try") {
  ArpResolver r(1000, 3, 5000);
  r.wait_for(kPeerIp, 9, 0);
  CHECK(r.tick(999).resend.empty());
  CHECK(r.tick(1000).resend == std::vector<uint32_t>{kPeerIp});
  CHECK(r.tick(2000).resend == std::vector<uint32_t>{kPeerIp});
  auto e = r.tick(3000);
  CHECK(e.resend.empty());
  CHECK(e.failed == std::vector<uint32_t>{9});
  CHECK_FALSE(r.pending());
}

TEST_CASE("ARP resolver: cancelled last waiter -> request abandoned") {
  ArpResolver r(1000, 3, 5000);
  r.wait_for(kPeerIp, 9, 0);
  r.cancel(9);
  CHECK_FALSE(r.pending());
}

TEST_CASE("Port table: connect search skips reserved ports and taken 4-tuples") {
  PortTable p(100, 103);
  REQUIRE(p.reserve(101, Reservation{}));
  std::vector<uint16_t> got;
  for (int i = 0; i < 4; ++i) {
    auto port = p.pick_for_connect(0, [&](uint16_t x) { return std::find(got.begin(), got.end(), x) == got.end(); });
    if (port) got.push_back(*port);
  }
  std::sort(got.begin(), got.end());
  CHECK(got == std::vector<uint16_t>{100, 102, 103});
}

TEST_CASE("Port table: unused port for bind avoids ports connections use") {
  PortTable p(100, 101);
  p.add_connection(100);
  CHECK(p.pick_unused() == uint16_t(101));
  p.reserve(101, Reservation{});
  CHECK_FALSE(p.pick_unused());
  p.remove_connection(100);
  CHECK(p.pick_unused() == uint16_t(100));
}

TEST_CASE("Status: JSON names every counter, tables and readiness") {
  Harness h;
  uint16_t ctx = h.add_app();
  h.listen(ctx, 80);
  h.accept_one();
  h.ctrl.header()->stats.rx_frames = 42;
  auto j = status_json(h.cp, *h.ctrl.header(), true);
  CHECK(j["ready"] == false);  // fp_ready not set yet
  CHECK(j["ip"] == "10.0.0.1");
  CHECK(j["mac"] == "02:00:00:00:00:01");
  CHECK(j["contexts"] == 1);
  CHECK(j["listeners"] == 1);
  CHECK(j["flows"] == 1);
  CHECK(j["half_open"] == 0);
  CHECK(j["fastpath"]["rx_frames"] == 42);
  CHECK(j["fastpath"].contains("app_cmd_bad"));
  CHECK(j["slowpath"]["passive_opens"] == 1);
  CHECK(j["slowpath"].contains("rsts_sent"));
  CHECK(j["slowpath"].contains("syn_dropped_backlog"));
  h.ctrl.header()->fp_ready = 1;
  CHECK(status_json(h.cp, *h.ctrl.header(), true)["ready"] == true);
  CHECK(status_json(h.cp, *h.ctrl.header(), false)["ready"] == false);
}
