// Unit tests of what a reload applies at run time and what it leaves for a restart.
#include <catch2/catch.hpp>

#include <string>

#include "config/config.hpp"
#include "tools/reload_plan.hpp"

using virtuoso::config::parse_config;
using virtuoso::tools::plan_reload;
using virtuoso::tools::ReloadPlan;
using Strings = std::vector<std::string>;

namespace {

const std::string kBase = R"(
log_level = "info"
[port]
devargs = "net_null0"
[network]
ip = "10.0.0.2"
[budgets]
enforce = true
period_us = 100
[tcp]
min_rto_ms = 200
[[tenant]]
name = "web"
vni = 100
addresses = ["10.200.0.0/24"]
match = { uids = [1000] }
cpu_weight = 100
[[tenant.remote]]
prefix = "10.200.1.0/24"
vtep = "192.168.1.2"
[[tenant]]
name = "db"
vni = 200
addresses = ["10.201.0.0/24"]
match = { uids = [1001] }
)";

// kBase with each `from` replaced by its `to`.
std::string edited(std::initializer_list<std::pair<std::string, std::string>> edits) {
  std::string s = kBase;
  for (const auto& [from, to] : edits) {
    size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    s.replace(at, from.size(), to);
  }
  return s;
}

ReloadPlan plan(const std::string& now) {
  return plan_reload(parse_config(kBase, "was.toml"), kBase, parse_config(now, "now.toml"), now);
}

}  // namespace

TEST_CASE("reload: the same file changes nothing") {
  ReloadPlan p = plan(kBase);
  CHECK_FALSE(p.log_level);
  CHECK(p.requests.empty());
  CHECK(p.restart_only.empty());
}

TEST_CASE("reload: run-time settings become control requests") {
  ReloadPlan p = plan(edited({{"log_level = \"info\"", "log_level = \"debug\""},
                              {"enforce = true", "enforce = false\necn = false\nhost_cpu_weight = 50"},
                              {"cpu_weight = 100", "cpu_weight = 300"}}));
  CHECK(p.log_level == "debug");
  CHECK(p.requests == Strings{"log-level debug", "tenants budgets enforce=off ecn=off", "tenants set host weight=50",
                              "tenants set web weight=300"});
  CHECK(p.restart_only.empty());
}

TEST_CASE("reload: switch entries added, moved and removed") {
  ReloadPlan moved = plan(edited({{"vtep = \"192.168.1.2\"", "vtep = \"192.168.1.3\""}}));
  CHECK(moved.requests == Strings{"switch remove web 10.200.1.0/24", "switch add web 10.200.1.0/24 192.168.1.3"});
  ReloadPlan added = plan(edited({{"vtep = \"192.168.1.2\"\n",
                                   "vtep = \"192.168.1.2\"\n[[tenant.remote]]\nprefix = \"10.200.2.0/24\"\nvtep = "
                                   "\"192.168.1.4\"\n"}}));
  CHECK(added.requests == Strings{"switch add web 10.200.2.0/24 192.168.1.4"});
  ReloadPlan removed = plan(edited({{"[[tenant.remote]]\nprefix = \"10.200.1.0/24\"\nvtep = \"192.168.1.2\"\n", ""}}));
  CHECK(removed.requests == Strings{"switch remove web 10.200.1.0/24"});
  CHECK(removed.restart_only.empty());
}

TEST_CASE("reload: other changes are named, field by field, for a restart") {
  ReloadPlan p = plan(edited({{"min_rto_ms = 200", "min_rto_ms = 300\nsack = false"},
                              {"ip = \"10.0.0.2\"", "ip = \"10.0.0.3\""},
                              {"vni = 200", "vni = 201"},
                              {"period_us = 100", "period_us = 100\nbacklog_frames = 64"}}));
  CHECK(p.requests.empty());
  CHECK(p.restart_only == Strings{"network.ip", "tcp.min_rto_ms", "tcp.sack", "budgets.backlog_frames",
                                  "tenant.db.vni"});
}

TEST_CASE("reload: a key written out with its default value is no change") {
  ReloadPlan p = plan(edited({{"min_rto_ms = 200", "min_rto_ms = 200\nsack = true"}}));
  CHECK(p.restart_only.empty());
}

TEST_CASE("reload: tenants added, removed or reordered wait for a restart") {
  std::string db = kBase.substr(kBase.rfind("[[tenant]]"));
  std::string without_db = kBase.substr(0, kBase.rfind("[[tenant]]"));
  CHECK(plan(without_db).restart_only == Strings{"tenant.db (removed)"});
  std::string more = kBase + "[[tenant]]\nname = \"cache\"\nvni = 300\naddresses = [\"10.202.0.0/24\"]\nmatch = { uids = [1002] }\n";
  CHECK(plan(more).restart_only == Strings{"tenant.cache (new)"});
  std::string web = kBase.substr(kBase.find("[[tenant]]"), kBase.rfind("[[tenant]]") - kBase.find("[[tenant]]"));
  std::string swapped = kBase.substr(0, kBase.find("[[tenant]]")) + db + web;
  CHECK(plan(swapped).restart_only == Strings{"tenant.db (moved)", "tenant.web (moved)"});
}
