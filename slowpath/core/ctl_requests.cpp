// virtuosoctl's requests on ctl.sock: parse one line, act on the control plane and the control
// region, answer in JSON. Faults and budget settings reach the fast path through the control
// region, published like a seqlock (faults) or under a generation (budgets).
#include "ctl_requests.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <nlohmann/json.hpp>

#include "status.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {
namespace {

// Every answer goes out through here: error messages quote the request, which may be any bytes,
// and what is not valid UTF-8 is replaced rather than thrown out of the slow path's loop.
std::string answer(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string error_json(std::string_view message) { return answer(nlohmann::json{{"error", message}}); }

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  for (size_t pos = 0; pos < s.size();) {
    size_t end = std::min(s.find(' ', pos), s.size());
    if (end > pos) words.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return words;
}

// "LEVEL": the slow path's log level from now on (spdlog's names; "warn" also as "warning").
std::string log_level_answer(std::string_view name) {
  static constexpr std::string_view kNames[] = {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"};
  if (std::find(std::begin(kNames), std::end(kNames), name) == std::end(kNames)) {
    return error_json(fmt::format("'{}' is not a log level; use trace, debug, info, warn, error, critical or off", name));
  }
  spdlog::level::level_enum level = spdlog::level::from_str(std::string(name == "warning" ? "warn" : name));
  spdlog::info("log level {} from virtuosoctl", name);
  spdlog::set_level(level);
  return answer(nlohmann::json{{"ok", true}});
}

// "add TENANT PREFIX VTEP" / "remove TENANT PREFIX": the virtual switch's remote entries.
std::string switch_answer(ControlPlane& cp, std::string_view args) {
  std::vector<std::string_view> words = split_words(args);
  std::string error;
  if (words.size() == 4 && words[0] == "add") {
    error = cp.switch_add(words[1], words[2], words[3]);
  } else if (words.size() == 3 && words[0] == "remove") {
    error = cp.switch_remove(words[1], words[2]);
  } else {
    error = "unknown switch request; use: switch add TENANT PREFIX VTEP, switch remove TENANT PREFIX";
  }
  if (!error.empty()) return error_json(error);
  return answer(nlohmann::json{{"ok", true}});
}

// "set PAIRS" changes the named settings and keeps the others; "clear" turns every fault off
// (the seed stays). Published like a seqlock: odd generation while the settings are written.
std::string faults_answer(CtlTarget& t, std::string_view args) {
  while (!args.empty() && args.front() == ' ') args.remove_prefix(1);
  abi::FaultControl& block = t.header.faults;
  abi::FaultSettings now = faults_in_effect(t.header, t.config_faults);
  abi::FaultSettings next = now;
  if (args.substr(0, 4) == "set ") {
    if (std::string bad = abi::apply_fault_spec(args.substr(4), next); !bad.empty()) return error_json(bad);
  } else if (args == "clear") {
    next = abi::kNoFaultSettings;
    next.seed = now.seed;
  } else if (!args.empty()) {
    return error_json("unknown faults request; use: faults set KEY=VALUE..., faults clear");
  }
  if (!args.empty()) {
    if (!t.fp_attached || shm::load_acquire(block.fp_injector) != 1) {
      return error_json("the fast path runs without the fault injector; set enabled = true under [faults] "
                        "in the config and restart the daemon");
    }
    uint32_t gen = block.generation;
    shm::store_relaxed(block.generation, gen + 1);
    std::atomic_thread_fence(std::memory_order_release);
    block.settings = next;
    shm::store_release(block.generation, gen + 2);
    spdlog::info("faults: generation {}: {}", gen + 2, abi::format_fault_spec(next));
  }
  return answer(nlohmann::json{{"ok", true},
                               {"generation", block.generation},
                               {"settings", abi::format_fault_spec(faults_in_effect(t.header, t.config_faults))}});
}

// "KEY=N" with N in [lo, hi]; an error message naming the key otherwise.
std::string parse_number(std::string_view key, std::string_view value, uint32_t lo, uint32_t hi, uint32_t& out) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc{} || end != value.data() + value.size() || v < lo || v > hi)
    return fmt::format("{}: '{}' is not a whole number from {} to {}", key, value, lo, hi);
  out = v;
  return {};
}

// Applies "KEY=VALUE" to the budget settings `next` (a copy); an error message if it cannot.
std::string apply_budget_pair(std::string_view pair, abi::BudgetSettings& next) {
  size_t eq = pair.find('=');
  if (eq == std::string_view::npos) return fmt::format("'{}': write KEY=VALUE", pair);
  std::string_view key = pair.substr(0, eq), value = pair.substr(eq + 1);
  if (key == "enforce" || key == "ecn") {
    if (value != "on" && value != "off") return fmt::format("{}: '{}' is neither on nor off", key, value);
    (key == "enforce" ? next.enforce : next.ecn) = value == "on" ? 1 : 0;
    return {};
  }
  if (key == "period_us") return parse_number(key, value, 10, 100'000, next.period_us);
  if (key == "burst_periods") return parse_number(key, value, 1, 1000, next.burst_periods);
  return fmt::format("unknown budget setting '{}'; use enforce, ecn, period_us or burst_periods", key);
}

//   tenants set NAME weight=W            a tenant's (or, with NAME "host", the host account's) weight
//   tenants budgets KEY=VALUE...         enforce=on|off, ecn=on|off, period_us=N, burst_periods=N
// The fast path takes a change at its next refill (one period); the answer carries the settings'
// generation, which the fast path's fastpath.budget_generation reaches once it has.
std::string tenants_answer(CtlTarget& t, std::string_view args) {
  std::vector<std::string_view> words = split_words(args);
  abi::BudgetSettings& live = t.header.budget_settings;
  abi::BudgetSettings next = live;
  std::string error;
  if (words.size() >= 3 && words[0] == "set") {
    size_t acct = 0;
    if (words[1] != "host") {
      auto it = std::find_if(t.tenants.begin(), t.tenants.end(), [&](const auto& x) { return x.name == words[1]; });
      if (it == t.tenants.end()) error = fmt::format("no tenant named '{}'", words[1]);
      else acct = size_t(it - t.tenants.begin()) + 1;
    }
    for (size_t i = 2; i < words.size() && error.empty(); ++i) {
      std::string_view pair = words[i];
      if (pair.substr(0, 7) != "weight=") {
        error = fmt::format("'{}': a tenant's setting is weight=W", pair);
        break;
      }
      error = parse_number("weight", pair.substr(7), 1, 10000, next.weight[acct]);
    }
  } else if (words.size() >= 2 && words[0] == "budgets") {
    for (size_t i = 1; i < words.size() && error.empty(); ++i) error = apply_budget_pair(words[i], next);
    if (error.empty() && next.enforce && t.tenants.empty())
      error = "plain mode has one account: there is nothing to enforce between";
  } else {
    error = "unknown tenants request; use: tenants set NAME weight=W, tenants budgets KEY=VALUE...";
  }
  if (!error.empty()) return error_json(error);
  // One writer (this thread); the fast path rereads every field once it sees the new generation.
  uint32_t gen = live.generation + 1;
  shm::store_relaxed(live.enforce, next.enforce);
  shm::store_relaxed(live.ecn, next.ecn);
  shm::store_relaxed(live.period_us, next.period_us);
  shm::store_relaxed(live.burst_periods, next.burst_periods);
  for (size_t i = 0; i <= abi::kMaxTenants; ++i) shm::store_relaxed(live.weight[i], next.weight[i]);
  shm::store_release(live.generation, gen);
  if (t.budgets_changed) t.budgets_changed();  // the slow path's own budgets follow at once
  spdlog::info("budgets: generation {}: {}", gen, args);
  return answer(nlohmann::json{{"ok", true}, {"generation", gen}});
}

}  // namespace

abi::FaultSettings faults_in_effect(const abi::ControlHeader& header, const abi::FaultSettings& config_faults) {
  const abi::FaultControl& block = header.faults;
  return block.generation == 0 ? config_faults : block.settings;
}

std::string answer_ctl_request(CtlTarget& t, std::string_view request) {
  while (!request.empty() && (request.back() == '\r' || request.back() == ' ')) request.remove_suffix(1);
  if (request == "status" || request == "status connections") {
    nlohmann::json status = status_json(t.cp, t.header, t.fp_attached);
    status["faults"] = faults_status_json(t.header, faults_in_effect(t.header, t.config_faults));
    if (request != "status") status["connections"] = connections_json(t.cp);
    auto level = spdlog::level::to_string_view(spdlog::get_level());
    status["log_level"] = std::string(level.data(), level.size());
    return answer(status);
  }
  if (request.substr(0, 10) == "log-level ") return log_level_answer(request.substr(10));
  if (request == "faults" || request.substr(0, 7) == "faults ") return faults_answer(t, request.substr(6));
  if (request.substr(0, 7) == "switch ") return switch_answer(t.cp, request.substr(7));
  if (request.substr(0, 8) == "tenants ") return tenants_answer(t, request.substr(8));
  return error_json("unknown request");
}

}  // namespace virtuoso::slowpath
