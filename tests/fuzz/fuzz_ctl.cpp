// Fuzz target: the requests virtuosoctl (or anyone who can reach ctl.sock) sends, one text line
// each, against a control plane with two tenants and a published fault injector. Properties after
// every line: the answer is one JSON object, either an error message or a success (ok, or the
// status); nothing throws; the status can still be built.
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/ctl_requests.hpp"
#include "core/status.hpp"
#include "fuzz_check.hpp"
#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Settings settings = tenant_names_settings({"a", "b"});
  Harness h(settings);
  h.ctrl.header()->faults.fp_injector = 1;  // the fast path runs with the injector
  abi::FaultSettings config_faults = abi::kNoFaultSettings;
  int budget_changes = 0;
  CtlTarget target{h.cp, *h.ctrl.header(), config_faults, settings.tenants, true, [&] { ++budget_changes; }};
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (int line = 0; line < 64 && !text.empty(); ++line) {
    size_t nl = text.find('\n');
    std::string_view request = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    std::string answer = answer_ctl_request(target, request);
    spdlog::set_level(spdlog::level::off);  // a "log-level" request must not make the run log
    nlohmann::json j = nlohmann::json::parse(answer, nullptr, false);
    FUZZ_CHECK(j.is_object());
    bool error = j.contains("error");
    FUZZ_CHECK(!error || j["error"].is_string());
    FUZZ_CHECK(error || j.contains("ok") || j.contains("fastpath"));
    FUZZ_CHECK(h.ctrl.header()->faults.generation % 2 == 0);  // never left mid-publication
  }
  FUZZ_CHECK(status_json(h.cp, *h.ctrl.header(), true).is_object());
  return 0;
}
