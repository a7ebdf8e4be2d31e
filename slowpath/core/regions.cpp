// Control and app region initialisation.
#include "regions.hpp"

#include <algorithm>
#include <cstring>

namespace virtuoso::slowpath {

abi::ControlLayout control_layout(uint32_t max_flows) {
  return abi::ControlLayout{max_flows, kPuntCapacity, kInjectCapacity, kCmdCapacity, kEvtCapacity};
}

abi::AppLayout app_layout(uint32_t slots, uint32_t rx_buffer, uint32_t tx_buffer) {
  return abi::AppLayout{slots, rx_buffer, tx_buffer, kAtxCapacity, kArxCapacity, kCtlCapacity};
}

void init_control_region(const abi::ControlRegionView& v) {
  abi::ControlHeader* h = v.header();
  std::memset(static_cast<void*>(h), 0, sizeof(abi::ControlHeader));
  h->magic = abi::kControlRegionMagic;
  h->version = abi::kAbiVersion;
  h->max_flows = v.layout.max_flows;
  h->punt_capacity = v.layout.punt_capacity;
  h->inject_capacity = v.layout.inject_capacity;
  h->cmd_capacity = v.layout.cmd_capacity;
  h->evt_capacity = v.layout.evt_capacity;
  v.punt().reset();
  v.inject().reset();
  v.cmd().reset();
  v.evt().reset();
}

void init_app_region(const abi::AppRegionView& v, uint16_t ctx_id) {
  abi::AppRegionHeader* h = v.header();
  std::memset(static_cast<void*>(h), 0, sizeof(abi::AppRegionHeader));
  h->magic = abi::kAppRegionMagic;
  h->version = abi::kAbiVersion;
  h->ctx_id = ctx_id;
  h->n_slots = v.layout.n_slots;
  h->rx_size = v.layout.rx_size;
  h->tx_size = v.layout.tx_size;
  h->atx_capacity = v.layout.atx_capacity;
  h->arx_capacity = v.layout.arx_capacity;
  h->ctl_capacity = v.layout.ctl_capacity;
  h->region_bytes = v.layout.total_bytes();
  v.atx().reset();
  v.arx().reset();
  v.ctl().reset();
  std::memset(static_cast<void*>(v.slot(0)), 0, size_t{v.layout.n_slots} * sizeof(abi::FlowSlot));
}

void write_tenant_table(abi::TenantTable& table, const std::vector<config::TenantConfig>& tenants) {
  table = abi::TenantTable{};
  size_t n = std::min<size_t>(tenants.size(), abi::kMaxTenants);  // the config allows no more
  for (size_t i = 0; i < n; ++i) table.entries[i] = abi::TenantVni{tenants[i].vni, uint32_t(i + 1)};
  std::sort(table.entries, table.entries + n, [](const abi::TenantVni& a, const abi::TenantVni& b) { return a.vni < b.vni; });
  table.count = uint32_t(n);
}

void write_budget_settings(abi::BudgetSettings& s, const config::BudgetsConfig& b,
                           const std::vector<config::TenantConfig>& tenants) {
  s = abi::BudgetSettings{};
  s.enforce = b.enforce && !tenants.empty() ? 1 : 0;
  s.period_us = b.period_us;
  s.burst_periods = b.burst_periods;
  s.backlog_frames = tenants.empty() ? 0 : b.backlog_frames;
  s.ecn = b.ecn ? 1 : 0;
  s.weight[0] = b.host_cpu_weight;
  size_t n = std::min<size_t>(tenants.size(), abi::kMaxTenants);
  for (size_t i = 0; i < n; ++i) s.weight[i + 1] = tenants[i].cpu_weight;
  s.generation = 1;
}

}  // namespace virtuoso::slowpath
