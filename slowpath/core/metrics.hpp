// The status JSON as Prometheus text exposition (format 0.0.4): counters with `_total`, gauges
// without, per-tenant families labelled `tenant` ("host" for the host's own account).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace virtuoso::slowpath {

// `status` is what status_json() builds (fastpath, slowpath, shim, tenants, host_traffic, budgets,
// host_slowpath and the top-level table sizes). Keys it does not know become nothing, so a new
// counter in status never yields a malformed line; derived ratios (cycles_per_*) are left out.
std::string prometheus_text(const nlohmann::json& status);

}  // namespace virtuoso::slowpath
