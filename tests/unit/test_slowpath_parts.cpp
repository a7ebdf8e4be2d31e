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

TEST_CASE("ARP resolver: waiters resolved by a reply, entries expire after their TTL") {
  ArpResolver r(1000, 3, 5000);
  CHECK(r.wait_for(kPeerIp, 1, 0));
  CHECK_FALSE(r.wait_for(kPeerIp, 2, 0));  // one request for both
  auto w = r.learn(kPeerIp, kPeerMac, 10, false);
  CHECK(w == std::vector<uint32_t>{1, 2});
  CHECK(r.lookup(kPeerIp, 100) == kPeerMac);
  CHECK_FALSE(r.lookup(kPeerIp, 10 + 5001));
  CHECK_FALSE(r.pending());
}

TEST_CASE("ARP resolver: a storm of new senders fills the cache to its bound, no further, what we asked "
          "for still fits, expired entries make room and are forgotten") {
  ArpResolver r(1000, 3, 5000, 64);
  for (uint32_t i = 0; i < 1000; ++i) r.learn(0x0a000000 + i, kPeerMac, 10, true);
  CHECK(r.cache_size() == 64);
  CHECK(r.refused() == 1000 - 64);
  CHECK(r.lookup(0x0a000000 + 63, 10));
  CHECK_FALSE(r.lookup(0x0a000000 + 64, 10));
  r.wait_for(kPeerIp, 7, 20);  // our own resolution: the stalest entry makes way
  CHECK(r.learn(kPeerIp, kPeerMac, 30, false) == std::vector<uint32_t>{7});
  CHECK(r.cache_size() == 64);
  CHECK(r.lookup(kPeerIp, 30) == kPeerMac);
  // Once they expire, new senders are learnt again, and a tick forgets the expired ones.
  r.learn(0x0b000000, kPeerMac, 6000, true);
  CHECK(r.lookup(0x0b000000, 6000));
  r.tick(12000);
  CHECK(r.cache_size() == 0);
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

TEST_CASE("Status: every drop counter by process and reason, the same the drop watch logs") {
  Harness h;
  h.ctrl.header()->stats.drop_bad_ip = 7;
  h.ctrl.header()->stats.ooo_dropped = 2;
  auto j = status_json(h.cp, *h.ctrl.header(), true);
  CHECK(j["drops"]["fastpath"]["drop_bad_ip"] == 7);
  CHECK(j["drops"]["fastpath"]["ooo_dropped"] == 2);
  CHECK(j["drops"]["fastpath"].contains("drop_vxlan_vni"));
  CHECK_FALSE(j["drops"]["fastpath"].contains("rx_frames"));  // not a drop
  CHECK(j["drops"]["slowpath"].contains("bad_frames"));
  CHECK(j["drops"]["slowpath"].contains("syn_dropped_backlog"));
  size_t n = 0;
  for (const auto& [where, reasons] : j["drops"].items()) n += reasons.size();
  CHECK(n == drop_counters(h.cp, *h.ctrl.header()).size());
}

TEST_CASE("Status: fast-path cycles per phase, TSC rate and cycles per segment") {
  Harness h;
  abi::FpStats& st = h.ctrl.header()->stats;
  auto j = status_json(h.cp, *h.ctrl.header(), true);
  CHECK(j["fastpath"]["cycles_per_rx_segment"].is_null());  // nothing counted yet
  CHECK(j["fastpath"]["cycles_per_tx_segment"].is_null());
  st.cycles = {300, 100, 7, 11, 500, 13, 9000};
  st.tsc_hz = 2'000'000'000;
  st.rx_segments = 8;
  st.tx_data_segments = 3;
  st.tx_pure_acks = 2;
  j = status_json(h.cp, *h.ctrl.header(), true);
  const auto& fp = j["fastpath"];
  CHECK(fp["cycles"] == nlohmann::json{{"rx", 300}, {"local", 100}, {"commands", 7}, {"apps", 11},
                                       {"tx", 500}, {"events", 13}, {"idle", 9000}});
  CHECK(fp["tsc_hz"] == 2'000'000'000);
  CHECK(fp["rx_segments"] == 8);
  CHECK(fp["cycles_per_rx_segment"] == 50.0);  // (rx + local) / rx_segments
  CHECK(fp["cycles_per_tx_segment"] == 100.0);  // tx / (data segments + pure ACKs)
}
