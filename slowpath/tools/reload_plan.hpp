// What an edited configuration file means for a running daemon (virtuosod on SIGHUP): the control
// requests that apply what can change at run time, and the fields that only a restart applies.
//
// At run time: log_level; budgets.enforce, ecn, period_us, burst_periods, host_cpu_weight; each
// tenant's cpu_weight and its [[tenant.remote]] switch entries. Everything else waits for a restart.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace virtuoso::tools {

struct ReloadPlan {
  std::optional<std::string> log_level;   // the new level (virtuosod's own, and the slow path's)
  std::vector<std::string> requests;      // control requests in order, each without its newline
  std::vector<std::string> restart_only;  // dotted names of changed fields ("tcp.min_rto_ms", "tenant.web.vni")
};

// Both configurations valid (parsed); the texts are the files they were parsed from, for the
// names of changed keys.
ReloadPlan plan_reload(const config::Config& was, const std::string& was_text, const config::Config& now,
                       const std::string& now_text);

}  // namespace virtuoso::tools
