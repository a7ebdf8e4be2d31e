// virtuoso-slowpath: "tenants ..." control requests, changing time protection at run time.
//
//   tenants set NAME weight=W            a tenant's (or, with NAME "host", the host account's) weight
//   tenants budgets KEY=VALUE...         enforce=on|off, ecn=on|off, period_us=N, burst_periods=N
//
// The fast path takes a change at its next refill (one period); the answer carries the settings'
// generation, which the fast path's fastpath.budget_generation reaches once it has.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {

namespace {

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  for (size_t pos = 0; pos < s.size();) {
    size_t end = std::min(s.find(' ', pos), s.size());
    if (end > pos) words.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return words;
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
  if (key == "enforce") {
    if (value != "on" && value != "off") return fmt::format("enforce: '{}' is neither on nor off", value);
    next.enforce = value == "on" ? 1 : 0;
    return {};
  }
  if (key == "ecn") {
    if (value != "on" && value != "off") return fmt::format("ecn: '{}' is neither on nor off", value);
    next.ecn = value == "on" ? 1 : 0;
    return {};
  }
  if (key == "period_us") return parse_number(key, value, 10, 100'000, next.period_us);
  if (key == "burst_periods") return parse_number(key, value, 1, 1000, next.burst_periods);
  return fmt::format("unknown budget setting '{}'; use enforce, ecn, period_us or burst_periods", key);
}

}  // namespace

std::string Daemon::tenants_answer(std::string_view args) {
  std::vector<std::string_view> words = split_words(args);
  abi::BudgetSettings& live = ctrl_.header()->budget_settings;
  abi::BudgetSettings next = live;
  std::string error;
  if (words.size() >= 3 && words[0] == "set") {
    size_t acct = 0;
    if (words[1] != "host") {
      const auto& tenants = settings_.tenants;
      auto it = std::find_if(tenants.begin(), tenants.end(), [&](const auto& t) { return t.name == words[1]; });
      if (it == tenants.end()) error = fmt::format("no tenant named '{}'", words[1]);
      else acct = size_t(it - tenants.begin()) + 1;
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
    if (error.empty() && next.enforce && settings_.tenants.empty())
      error = "plain mode has one account: there is nothing to enforce between";
  } else {
    error = "unknown tenants request; use: tenants set NAME weight=W, tenants budgets KEY=VALUE...";
  }
  if (!error.empty()) return nlohmann::json{{"error", error}}.dump();
  // One writer (this thread); the fast path rereads every field once it sees the new generation.
  uint32_t gen = live.generation + 1;
  shm::store_relaxed(live.enforce, next.enforce);
  shm::store_relaxed(live.ecn, next.ecn);
  shm::store_relaxed(live.period_us, next.period_us);
  shm::store_relaxed(live.burst_periods, next.burst_periods);
  for (size_t i = 0; i <= abi::kMaxTenants; ++i) shm::store_relaxed(live.weight[i], next.weight[i]);
  shm::store_release(live.generation, gen);
  configure_gate();  // the slow path's own budgets follow at once
  spdlog::info("budgets: generation {}: {}", gen, args);
  return nlohmann::json{{"ok", true}, {"generation", gen}}.dump();
}

}  // namespace virtuoso::slowpath
