// Unit tests of virtuosoctl stats and watch: what is picked from a status answer, and the rates.
#include <catch2/catch.hpp>

#include "tools/stats_view.hpp"

using nlohmann::ordered_json;
using virtuoso::tools::format_rates;
using virtuoso::tools::format_stats;
using virtuoso::tools::stats_of;
using virtuoso::tools::stats_rates;

namespace {
// A status answer as the daemon gives it, cut to what stats reads, with traffic scaled by `k`.
ordered_json status(uint64_t k) {
  ordered_json s = ordered_json::parse(R"({
    "ready": true, "flows": 2,
    "fastpath": {"rx_frames": 0, "tx_frames": 0, "rx_bytes": 0, "tx_bytes": 0, "drop_bad_eth": 0,
                 "drop_bad_tcp": 0, "drop_vxlan_vni": 0, "ooo_dropped": 0, "loops": 0,
                 "rx_segments": 0, "tsc_hz": 2000000000, "fast_retransmits": 1,
                 "cycles": {"rx": 0, "local": 0, "commands": 0, "apps": 0, "tx": 0, "events": 0, "idle": 0},
                 "cycles_per_rx_segment": null, "cycles_per_tx_segment": 500.0},
    "slowpath": {"bad_frames": 0, "syn_dropped_backlog": 0, "active_opens": 4},
    "budgets": {"host": {"weight": 100, "cycles": 0, "share": 0.25}},
    "host_traffic": {"rx_segments": 0, "rx_bytes": 0, "tx_segments": 0, "tx_bytes": 0},
    "tenants": [{"name": "web", "vni": 100,
                 "cpu": {"weight": 300, "cycles": 0, "share": 0.75, "dropped_rx": 0},
                 "traffic": {"rx_segments": 0, "rx_bytes": 0, "tx_segments": 0, "tx_bytes": 0}}]})");
  auto& fp = s["fastpath"];
  fp["rx_frames"] = 10 * k;
  fp["tx_frames"] = 12 * k;
  fp["rx_bytes"] = 15000 * k;
  fp["tx_bytes"] = 800 * k;
  fp["drop_bad_eth"] = 3 * k;
  fp["drop_vxlan_vni"] = k;
  fp["rx_segments"] = 9 * k;
  fp["cycles"]["rx"] = 3000 * k;
  fp["cycles"]["tx"] = 1000 * k;
  fp["cycles"]["idle"] = 4000 * k;
  s["slowpath"]["bad_frames"] = 2 * k;
  s["drops"] = {{"fastpath", {{"drop_bad_eth", 3 * k}, {"drop_vxlan_vni", k}, {"ooo_dropped", 0}}},
                {"slowpath", {{"bad_frames", 2 * k}, {"syn_dropped_backlog", 0}}}};
  s["budgets"]["host"]["cycles"] = 1000 * k;
  s["host_traffic"]["rx_bytes"] = 1000 * k;
  s["tenants"][0]["cpu"]["cycles"] = 3000 * k;
  s["tenants"][0]["traffic"]["rx_bytes"] = 10000 * k;
  s["tenants"][0]["traffic"]["rx_segments"] = 7 * k;
  s["tenants"][0]["cpu"]["dropped_rx"] = 5 * k;
  return s;
}
}  // namespace

TEST_CASE("stats: port, core, the status's drops by process and reason, TCP counters, accounts host first") {
  ordered_json s = stats_of(status(1));
  CHECK(s["ready"] == true);
  CHECK(s["port"]["rx_frames"] == 10);
  CHECK(s["port"]["tx_bytes"] == 800);
  REQUIRE(s["cores"].size() == 1);
  CHECK(s["cores"][0]["cycles"]["rx"] == 3000);
  CHECK(s["cores"][0]["cycles_per_rx_segment"].is_null());  // nothing counted: no made-up figure
  CHECK(s["drops"]["fastpath"]["drop_bad_eth"] == 3);
  CHECK(s["drops"]["fastpath"]["drop_vxlan_vni"] == 1);
  CHECK(s["drops"]["fastpath"]["ooo_dropped"] == 0);
  CHECK(s["drops"]["slowpath"]["bad_frames"] == 2);
  CHECK_FALSE(s["drops"]["fastpath"].contains("loops"));
  CHECK(s["tcp"]["fastpath"]["fast_retransmits"] == 1);
  CHECK(s["tcp"]["slowpath"]["active_opens"] == 4);
  REQUIRE(s["tenants"].size() == 2);
  CHECK(s["tenants"][0]["name"] == "host");
  CHECK(s["tenants"][0]["rx_bytes"] == 1000);
  CHECK(s["tenants"][1]["name"] == "web");
  CHECK(s["tenants"][1]["weight"] == 300);
  CHECK(s["tenants"][1]["dropped_rx"] == 5);
}

TEST_CASE("stats: the text lists non-zero drops only, and every account") {
  std::string text = format_stats(stats_of(status(1)));
  CHECK(text.find("drop_bad_eth") != std::string::npos);
  CHECK(text.find("bad_frames") != std::string::npos);
  CHECK(text.find("ooo_dropped") == std::string::npos);
  CHECK(text.find("web") != std::string::npos);
  CHECK(text.find("75.0%") != std::string::npos);
  CHECK(format_stats(stats_of(status(0))).find("none") != std::string::npos);
}

TEST_CASE("watch: rates over the interval, shares of the cycles charged in it") {
  ordered_json r = stats_rates(stats_of(status(1)), stats_of(status(3)), 2.0);
  CHECK(r["rx_frames_per_s"] == Approx(10.0));      // 20 frames in 2 s
  CHECK(r["rx_bits_per_s"] == Approx(8 * 15000.0));  // 30000 bytes in 2 s
  CHECK(r["drops_per_s"] == Approx((6 + 2 + 4) / 2.0));  // bad_eth 6, vxlan_vni 2, bad_frames 4
  CHECK(r["fastpath_busy"] == Approx(0.5));          // 8000 busy of 16000 cycles
  REQUIRE(r["accounts"].size() == 2);
  CHECK(r["accounts"][0]["cycle_share"] == Approx(0.25));
  CHECK(r["accounts"][1]["cycle_share"] == Approx(0.75));
  CHECK(r["accounts"][1]["rx_bits_per_s"] == Approx(8 * 10000.0));
  CHECK(r["accounts"][1]["dropped_rx_per_s"] == Approx(5.0));
  CHECK(format_rates(r).find("fast path busy 50.0%") != std::string::npos);
}

TEST_CASE("watch: a counter that went backwards (the daemon restarted) counts as no change") {
  ordered_json r = stats_rates(stats_of(status(3)), stats_of(status(1)), 1.0);
  CHECK(r["rx_frames_per_s"] == Approx(0.0));
  CHECK(r["drops_per_s"] == Approx(0.0));
  CHECK(r["fastpath_busy"] == Approx(0.0));
  CHECK(r["accounts"][1]["cycle_share"] == Approx(0.0));
}

TEST_CASE("watch: a tenant new since the last sample starts from zero") {
  ordered_json before = stats_of(status(1));
  before["tenants"].erase(1);
  ordered_json r = stats_rates(before, stats_of(status(1)), 1.0);
  CHECK(r["accounts"][1]["rx_bits_per_s"] == Approx(8 * 10000.0));
}
