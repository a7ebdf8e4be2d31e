// virtuosoctl flows: selecting and rendering the daemon's connection list.
#include "flows_view.hpp"

#include <fmt/format.h>

#include "text_table.hpp"

#include <map>
#include <vector>

namespace virtuoso::tools {
namespace {

uint16_t port_of(const std::string& endpoint) {  // "a.b.c.d:port"
  size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos) return 0;
  try {
    return static_cast<uint16_t>(std::stoul(endpoint.substr(colon + 1)));
  } catch (const std::exception&) {
    return 0;
  }
}

std::string text(const nlohmann::ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  if (v.is_number_float()) return fmt::format("{:.3f}", v.get<double>());
  return v.dump();
}

}  // namespace

nlohmann::ordered_json select_flows(const nlohmann::ordered_json& status, const FlowFilter& filter) {
  std::map<uint32_t, std::string> tenant_of_vni;
  if (auto t = status.find("tenants"); t != status.end() && t->is_array()) {
    for (const auto& tenant : *t) tenant_of_vni[tenant.value("vni", 0u)] = tenant.value("name", std::string("?"));
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  auto list = status.find("connections");
  if (list == status.end() || !list->is_array()) return out;
  for (const auto& c : *list) {
    uint32_t vni = c.value("vni", 0u);
    auto it = tenant_of_vni.find(vni);
    std::string tenant = vni == 0 ? "host" : it != tenant_of_vni.end() ? it->second : fmt::format("vni-{}", vni);
    if (filter.tenant && *filter.tenant != tenant) continue;
    if (filter.state && *filter.state != c.value("state", std::string())) continue;
    if (filter.port && port_of(c.value("local", std::string())) != *filter.port &&
        port_of(c.value("remote", std::string())) != *filter.port)
      continue;
    nlohmann::ordered_json row = c;
    row["tenant"] = tenant;
    out.push_back(std::move(row));
  }
  return out;
}

std::string format_flows(const nlohmann::ordered_json& flows) {
  static const std::vector<std::pair<const char*, const char*>> kColumns = {
      {"FLOW", "flow"},     {"TENANT", "tenant"},   {"STATE", "state"},     {"LOCAL", "local"},
      {"REMOTE", "remote"}, {"CC", "congestion_control"}, {"CWND", "cwnd"}, {"SRTT_US", "srtt_us"},
      {"CE_FRAC", "ce_fraction"}, {"ALPHA", "dctcp_alpha"}, {"PACE_B/S", "pacing_rate"},
      {"ACKED", "acked_bytes"}, {"SEGS_IN", "segs_in"}, {"SEGS_OUT", "segs_out"},
      {"RECOVERIES", "recoveries"}, {"RETRANS", "retransmits"}, {"RTO_MS", "rto_ms"}, {"CORE", "core"}};
  std::vector<TableRow> rows;
  rows.emplace_back();
  for (const auto& [head, key] : kColumns) rows.back().push_back(head);
  for (const auto& f : flows) {
    rows.emplace_back();
    for (const auto& [head, key] : kColumns) rows.back().push_back(f.contains(key) ? text(f[key]) : "-");
  }
  return format_table(rows);
}

}  // namespace virtuoso::tools
