// The requests virtuosoctl sends on ctl.sock, one text line each, answered with one JSON document:
// "status", "status connections", "log-level LEVEL", "faults [set KEY=VALUE... | clear]",
// "switch add|remove ...", "tenants set|budgets ...". No sockets here: the daemon passes the line
// in and writes the answer out, so unit tests and the fuzzer drive every request directly.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/tenants.hpp"
#include "control_plane.hpp"
#include "virtuoso/abi/control_region.hpp"
#include "virtuoso/abi/fault_settings.hpp"

namespace virtuoso::slowpath {

struct CtlTarget {
  ControlPlane& cp;
  abi::ControlHeader& header;                       // faults and budget settings are published here
  const abi::FaultSettings& config_faults;          // [faults] as the config says
  const std::vector<config::TenantConfig>& tenants;  // the configured tenants, for their names
  bool fp_attached = false;                         // the fast path runs (it owns the injector)
  std::function<void()> budgets_changed;            // after a "tenants" change (the slow path's gate)
};

// The answer to one request line (trailing '\r' and spaces ignored): {"error": ...} for anything
// malformed, never an exception.
std::string answer_ctl_request(CtlTarget& t, std::string_view request);

// What the fast path runs with: the config's [faults] until a "faults" request published others.
abi::FaultSettings faults_in_effect(const abi::ControlHeader& header, const abi::FaultSettings& config_faults);

}  // namespace virtuoso::slowpath
