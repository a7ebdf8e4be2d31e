// Unit tests of virtuosoctl flows: selecting connections by tenant, port and state, and the table.
#include <catch2/catch.hpp>

#include "tools/flows_view.hpp"

using nlohmann::ordered_json;
using virtuoso::tools::FlowFilter;
using virtuoso::tools::format_flows;
using virtuoso::tools::select_flows;

namespace {
ordered_json status() {
  return ordered_json::parse(R"({
    "tenants": [{"name": "web", "vni": 100}, {"name": "db", "vni": 200}],
    "connections": [
      {"flow": 0, "local": "10.0.0.1:80", "remote": "10.0.0.9:40000", "vni": 0, "state": "ESTABLISHED",
       "congestion_control": "cubic", "cwnd": 14600, "srtt_us": 120, "acked_bytes": 5000, "ce_fraction": 0.12345},
      {"flow": 3, "local": "10.200.0.1:8080", "remote": "10.200.0.2:51000", "vni": 100, "state": "ESTABLISHED",
       "congestion_control": "dctcp", "cwnd": 2920, "srtt_us": 900, "acked_bytes": 1, "ce_fraction": 0.0,
       "dctcp_alpha": 0.0625},
      {"flow": 7, "local": "10.200.0.1:5432", "remote": "10.200.0.2:80", "vni": 200, "state": "SYN_SENT",
       "congestion_control": "cubic", "cwnd": 14600, "srtt_us": 0, "acked_bytes": 0},
      {"flow": 9, "local": "10.1.0.1:1", "remote": "10.1.0.2:2", "vni": 300, "state": "TIME_WAIT"}
    ]})");
}
std::vector<int> ids(const ordered_json& list) {
  std::vector<int> v;
  for (const auto& c : list) v.push_back(c["flow"].get<int>());
  return v;
}
}  // namespace

TEST_CASE("flows: every connection named by its tenant (host for VNI 0, vni-N for an unknown one)") {
  ordered_json all = select_flows(status(), {});
  REQUIRE(ids(all) == std::vector<int>{0, 3, 7, 9});
  CHECK(all[0]["tenant"] == "host");
  CHECK(all[1]["tenant"] == "web");
  CHECK(all[2]["tenant"] == "db");
  CHECK(all[3]["tenant"] == "vni-300");
}

TEST_CASE("flows: filters by tenant, by local or remote port, by state, combined") {
  FlowFilter f;
  f.tenant = "web";
  CHECK(ids(select_flows(status(), f)) == std::vector<int>{3});
  f = {};
  f.port = 80;  // flow 0's local port, flow 7's remote port
  CHECK(ids(select_flows(status(), f)) == std::vector<int>{0, 7});
  f.state = "SYN_SENT";
  CHECK(ids(select_flows(status(), f)) == std::vector<int>{7});
  f = {};
  f.tenant = "nobody";
  CHECK(select_flows(status(), f).empty());
  CHECK(select_flows(ordered_json::parse("{}"), {}).empty());
}

TEST_CASE("flows: an aligned table, a header then one line per connection, missing fields as -") {
  std::string t = format_flows(select_flows(status(), {}));
  std::vector<std::string> lines;
  for (size_t at = 0, nl; (nl = t.find('\n', at)) != std::string::npos; at = nl + 1) lines.push_back(t.substr(at, nl - at));
  REQUIRE(lines.size() == 5);
  CHECK(lines[0].rfind("FLOW", 0) == 0);
  size_t cc = lines[0].find("CC");
  REQUIRE(cc != std::string::npos);
  CHECK(lines[1].substr(cc, 5) == "cubic");
  CHECK(lines[2].substr(cc, 5) == "dctcp");
  // Fractions to three places; ALPHA only for DCTCP.
  size_t ce = lines[0].find("CE_FRAC"), alpha = lines[0].find("ALPHA");
  REQUIRE(ce != std::string::npos);
  REQUIRE(alpha != std::string::npos);
  CHECK(lines[1].substr(ce, 5) == "0.123");
  CHECK(lines[1].substr(alpha, 1) == "-");
  CHECK(lines[2].substr(ce, 5) == "0.000");
  CHECK(lines[2].substr(alpha, 5) == "0.062");
  CHECK(lines[4].substr(cc, 1) == "-");
  CHECK(lines[2].find("web") != std::string::npos);
}
