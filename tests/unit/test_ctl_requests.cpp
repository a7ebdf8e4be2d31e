// virtuosoctl's requests on ctl.sock, answered without a socket: each kind, and malformed ones
// answered with an error that names the problem (never an exception, whatever the bytes).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/ctl_requests.hpp"
#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {
struct CtlHarness {
  Settings settings = tenant_names_settings({"a"});
  Harness h{settings};
  abi::FaultSettings config_faults = abi::kNoFaultSettings;
  int budget_changes = 0;
  CtlTarget target{h.cp, *h.ctrl.header(), config_faults, settings.tenants, true, [this] { ++budget_changes; }};

  nlohmann::json ask(std::string_view line) { return nlohmann::json::parse(answer_ctl_request(target, line)); }
};
}  // namespace

TEST_CASE("ctl: status, and status with connections, as JSON") {
  CtlHarness c;
  auto st = c.ask("status\r");
  CHECK(st.contains("fastpath"));
  CHECK(st.contains("faults"));
  CHECK_FALSE(st.contains("connections"));
  CHECK(c.ask("status connections")["connections"].is_array());
}

TEST_CASE("ctl: faults set -> published with a new even generation, and clear keeps the seed") {
  CtlHarness c;
  c.h.ctrl.header()->faults.fp_injector = 1;
  auto a = c.ask("faults set seed=9 tx.loss=0.5");
  REQUIRE(a["ok"] == true);
  CHECK(a["generation"] == 2);
  CHECK(c.h.ctrl.header()->faults.settings.tx.loss == Approx(0.5));
  auto b = c.ask("faults clear");
  CHECK(b["generation"] == 4);
  CHECK(c.h.ctrl.header()->faults.settings.tx.loss == 0);
  CHECK(c.h.ctrl.header()->faults.settings.seed == 9);
}

TEST_CASE("ctl: faults set without the fast path's injector -> error saying how to turn it on") {
  CtlHarness c;
  auto a = c.ask("faults set tx.loss=0.5");
  CHECK(a["error"].get<std::string>().find("enabled = true") != std::string::npos);
  CHECK(c.h.ctrl.header()->faults.generation == 0);
}

TEST_CASE("ctl: malformed requests -> an error naming what is wrong, nothing changed") {
  CtlHarness c;
  c.h.ctrl.header()->faults.fp_injector = 1;
  CHECK(c.ask("faults set tx.loss=2")["error"].get<std::string>().find("loss") != std::string::npos);
  CHECK(c.ask("tenants set nobody weight=5")["error"] == "no tenant named 'nobody'");
  CHECK(c.ask("tenants set a weight=0")["error"].get<std::string>().find("weight") != std::string::npos);
  CHECK(c.ask("tenants budgets period_us=5")["error"].get<std::string>().find("period_us") != std::string::npos);
  CHECK(c.ask("switch add a not-a-prefix 192.0.2.7").contains("error"));
  CHECK(c.ask("log-level loud")["error"].get<std::string>().find("not a log level") != std::string::npos);
  CHECK(c.ask("reboot")["error"] == "unknown request");
  CHECK(c.h.ctrl.header()->faults.generation == 0);
  CHECK(c.h.ctrl.header()->budget_settings.generation == 0);
  CHECK(c.budget_changes == 0);
}

TEST_CASE("ctl: a request that is not UTF-8 -> an error answer, not an exception") {
  CtlHarness c;
  auto a = c.ask("tenants set \xff\xfe weight=5");
  CHECK(a["error"].is_string());
}

TEST_CASE("ctl: tenants set and budgets -> published under a new generation, the gate told") {
  CtlHarness c;
  CHECK(c.ask("tenants set a weight=300")["generation"] == 1);
  CHECK(c.h.ctrl.header()->budget_settings.weight[1] == 300);
  CHECK(c.ask("tenants budgets enforce=on period_us=200")["generation"] == 2);
  CHECK(c.h.ctrl.header()->budget_settings.enforce == 1);
  CHECK(c.h.ctrl.header()->budget_settings.period_us == 200);
  CHECK(c.budget_changes == 2);
}
