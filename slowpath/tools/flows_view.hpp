// virtuosoctl flows: the connections of a `status connections` answer, each named by its tenant,
// filtered and rendered as an aligned table (or kept as JSON).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace virtuoso::tools {

struct FlowFilter {
  std::optional<std::string> tenant;  // a tenant's name, or "host" for plain-mode connections
  std::optional<uint16_t> port;       // the local or the remote port
  std::optional<std::string> state;   // SYN_SENT, ESTABLISHED, ... (as the daemon names them)
};

// The connections of `status` (the daemon's JSON with "connections" and "tenants") that pass
// `filter`, each with a "tenant" field added (the tenant whose VNI it has, "host" for VNI 0).
nlohmann::ordered_json select_flows(const nlohmann::ordered_json& status, const FlowFilter& filter);

// One line per connection under a header line, columns aligned.
std::string format_flows(const nlohmann::ordered_json& flows);

}  // namespace virtuoso::tools
