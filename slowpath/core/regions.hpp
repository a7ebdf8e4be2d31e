// Layouts and first-time initialisation of the regions the slow path creates.
#pragma once
#include <cstdint>
#include <vector>

#include "config/config.hpp"
#include "config/tenants.hpp"

#include "virtuoso/abi/app_region.hpp"
#include "virtuoso/abi/control_region.hpp"

namespace virtuoso::slowpath {

inline constexpr uint32_t kPuntCapacity = 1024;
inline constexpr uint32_t kInjectCapacity = 1024;
inline constexpr uint32_t kCmdCapacity = 4096;
inline constexpr uint32_t kEvtCapacity = 4096;
inline constexpr uint32_t kAtxCapacity = 4096;
inline constexpr uint32_t kArxCapacity = 4096;
inline constexpr uint32_t kCtlCapacity = 1024;

abi::ControlLayout control_layout(uint32_t max_flows);
abi::AppLayout app_layout(uint32_t slots, uint32_t rx_buffer, uint32_t tx_buffer);

// Writes the header and empties the queues of a zero-filled region of layout.total_bytes().
void init_control_region(const abi::ControlRegionView& v);
// The tenants' VNIs for the fast path, sorted by VNI; tenant i of the config is id i + 1.
void write_tenant_table(abi::TenantTable& table, const std::vector<config::TenantConfig>& tenants);
// Time protection's settings for the fast path: the host account's weight and each tenant's
// (id i + 1), enforcement only with tenants (plain mode has one account, nothing to protect).
void write_budget_settings(abi::BudgetSettings& s, const config::BudgetsConfig& b,
                           const std::vector<config::TenantConfig>& tenants);
// Writes the header, empties the queues and zeroes every slot (generation 0: never used).
void init_app_region(const abi::AppRegionView& v, uint16_t ctx_id);

}  // namespace virtuoso::slowpath
