// Unit tests of the Prometheus text exposition of the status JSON.
#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "slowpath/core/metrics.hpp"

using nlohmann::json;
using virtuoso::slowpath::prometheus_text;

namespace {
json status() {
  return json::parse(R"({
    "ready": true, "ip": "10.0.0.1", "flows": 3, "time_wait": 1,
    "fastpath": {"rx_frames": 10, "tx_bytes": 1500, "port_buffers_in_use": 7, "tsc_hz": 2600000000,
                 "cycles": {"rx": 100, "idle": 5}, "cycles_per_rx_segment": 12.5},
    "slowpath": {"passive_opens": 2, "retransmit_timeouts": 0},
    "shim": {"sends": 4, "cycles_per_send": 300.0},
    "host_traffic": {"rx_bytes": 64, "tx_segments": 1},
    "budgets": {"host": {"weight": 100, "cycles": 9, "share": 0.5, "budget": -20}},
    "host_slowpath": {"ns": 2000000000, "frames": 3, "budget_ns": 500000, "parked": 1},
    "tenants": [{"name": "web", "apps": 1, "flows": 2, "listeners": 1, "ports_in_use": 1,
                 "traffic": {"rx_bytes": 99}, "cpu": {"cycles": 5, "weight": 300},
                 "slowpath": {"ns": 1000, "requests": 6}}]
  })");
}
std::set<std::string> lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.insert(l);
  return out;
}
}  // namespace

TEST_CASE("metrics: counters end in _total, gauges do not, each family typed once") {
  auto l = lines(prometheus_text(status()));
  CHECK(l.count("# HELP virtuoso_fastpath_rx_frames_total virtuosoctl status: fastpath.rx_frames"));
  CHECK(l.count("# TYPE virtuoso_fastpath_rx_frames_total counter"));
  CHECK(l.count("virtuoso_fastpath_rx_frames_total 10"));
  CHECK(l.count("virtuoso_fastpath_tx_bytes_total 1500"));
  CHECK(l.count("# TYPE virtuoso_fastpath_port_buffers_in_use gauge"));
  CHECK(l.count("virtuoso_fastpath_port_buffers_in_use 7"));
  CHECK(l.count("virtuoso_fastpath_tsc_hertz 2600000000"));
  CHECK(l.count("virtuoso_fastpath_cycles_total{core=\"0\",phase=\"rx\"} 100"));
  CHECK(l.count("virtuoso_fastpath_cycles_total{core=\"0\",phase=\"idle\"} 5"));
  CHECK(l.count("virtuoso_slowpath_passive_opens_total 2"));
  CHECK(l.count("virtuoso_shim_sends_total 4"));
  CHECK(l.count("virtuoso_ready 1"));
  CHECK(l.count("virtuoso_flows 3"));
}

TEST_CASE("metrics: per-tenant families labelled, the host's account as tenant=\"host\", seconds for ns") {
  auto l = lines(prometheus_text(status()));
  CHECK(l.count("virtuoso_tenant_rx_bytes_total{tenant=\"host\"} 64"));
  CHECK(l.count("virtuoso_tenant_rx_bytes_total{tenant=\"web\"} 99"));
  CHECK(l.count("virtuoso_tenant_cpu_cycles_total{tenant=\"web\"} 5"));
  CHECK(l.count("virtuoso_tenant_cpu_weight{tenant=\"web\"} 300"));
  CHECK(l.count("virtuoso_tenant_cpu_budget{tenant=\"host\"} -20"));
  CHECK(l.count("virtuoso_tenant_slowpath_seconds_total{tenant=\"host\"} 2"));
  CHECK(l.count("virtuoso_tenant_slowpath_budget_seconds{tenant=\"host\"} 0.0005"));
  CHECK(l.count("virtuoso_tenant_slowpath_parked{tenant=\"host\"} 1"));
  CHECK(l.count("virtuoso_tenant_slowpath_requests_total{tenant=\"web\"} 6"));
  CHECK(l.count("virtuoso_tenant_flows{tenant=\"web\"} 2"));
}

TEST_CASE("metrics: strings and derived ratios left out, every line well formed, families contiguous") {
  std::string text = prometheus_text(status());
  CHECK(text.find("cycles_per") == std::string::npos);
  CHECK(text.find("share") == std::string::npos);
  CHECK(text.find("10.0.0.1") == std::string::npos);
  std::regex sample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? -?[0-9][0-9.e+-]*$)");
  std::regex type(R"(^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge)$)");
  std::set<std::string> typed;
  std::string current;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind("# HELP ", 0) == 0) {  // each family explained, before its TYPE line
      CHECK(l.size() > 7 + 10);
      continue;
    }
    if (l.rfind("# TYPE ", 0) == 0) {
      REQUIRE(std::regex_match(l, type));
      current = l.substr(7, l.find(' ', 7) - 7);
      CHECK(typed.insert(current).second);  // one TYPE line per family
      continue;
    }
    INFO(l);
    REQUIRE(std::regex_match(l, sample));
    CHECK(l.substr(0, current.size()) == current);  // under its own family's TYPE line
  }
}

TEST_CASE("metrics: an empty or partial status gives no malformed line") {
  CHECK(prometheus_text(json::object()).empty());
  CHECK(prometheus_text(json::parse(R"({"fastpath": "x", "slowpath": [1], "tenants": {}, "budgets": []})")).empty());
}
