// virtuosod's SIGHUP: applying a changed configuration to the running daemon.
#include "config_reload.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ctl_client.hpp"
#include "reload_plan.hpp"

namespace virtuoso::tools {

ConfigReloader::ConfigReloader(std::string path) : path_(std::move(path)) {
  started_text_ = config::read_config_file(path_);
  started_ = config::parse_config(started_text_, path_);
  applied_ = started_;
  applied_text_ = started_text_;
}

std::string ConfigReloader::reload() {
  spdlog::info("reload: reading {}", path_);
  std::string text;
  config::Config now;
  try {
    text = config::read_config_file(path_);
    now = config::parse_config(text, path_);
  } catch (const config::ConfigError& e) {
    spdlog::error("reload: {}; the daemon carries on with the configuration it had", e.what());
    return "reload failed: the configuration file is not valid (see the log)";
  }
  ReloadPlan changes = plan_reload(applied_, applied_text_, now, text);
  ReloadPlan pending = plan_reload(started_, started_text_, now, text);
  if (changes.log_level) spdlog::set_level(spdlog::level::from_str(*changes.log_level));
  std::string ctl = ctl_socket_path(started_.run_dir);
  size_t applied = 0, refused = 0;
  uint64_t budget_generation = 0;
  for (const std::string& request : changes.requests) {
    std::string why;
    auto answer = ctl_change(ctl, request + "\n", why);
    if (!answer) {
      spdlog::warn("reload: {}: not applied: {}", request, why);
      ++refused;
      continue;
    }
    if (request.rfind("tenants ", 0) == 0)
      budget_generation = std::max(budget_generation, answer->value("generation", uint64_t{0}));
    spdlog::info("reload: applied: {}", request);
    ++applied;
  }
  if (budget_generation != 0) {  // the fast path takes budget changes at its next refill
    std::string why;
    if (!ctl_wait_status(ctl, [&](const nlohmann::ordered_json& st) {
          return st["fastpath"].value("budget_generation", uint64_t{0}) >= budget_generation;
        }, why)) {
      spdlog::warn("reload: budget generation {}: {}", budget_generation, why);
    }
  }
  for (const std::string& field : pending.restart_only) {
    spdlog::warn("reload: {} differs from what the daemon started with; it takes effect when the daemon restarts",
                 field);
  }
  applied_ = std::move(now);
  applied_text_ = std::move(text);
  std::string outcome = fmt::format("reloaded: {} change(s) applied, {} refused, {} waiting for a restart", applied,
                                    refused, pending.restart_only.size());
  spdlog::info("{}", outcome);
  return outcome;
}

}  // namespace virtuoso::tools
