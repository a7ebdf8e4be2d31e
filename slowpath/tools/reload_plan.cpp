// Comparing two configurations: control requests for what changes at run time, names for the rest.
#include "reload_plan.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/ipv4.hpp"

namespace virtuoso::tools {
namespace {

using config::Config;
using config::TenantConfig;

// Dotted names of the keys under `prefix` whose values differ between the two tables.
void changed_keys(const toml::table* a, const toml::table* b, const std::string& prefix,
                  std::vector<std::string>& out) {
  std::set<std::string> keys;
  for (const toml::table* t : {a, b})
    if (t)
      for (auto&& [k, v] : *t) keys.insert(std::string(k.str()));
  for (const std::string& k : keys) {
    const toml::node* x = a ? a->get(k) : nullptr;
    const toml::node* y = b ? b->get(k) : nullptr;
    if (x && y && x->is_table() && y->is_table()) {
      changed_keys(x->as_table(), y->as_table(), prefix + k + ".", out);
    } else if (!x || !y || toml::node_view<const toml::node>(x) != toml::node_view<const toml::node>(y)) {
      out.push_back(prefix + k);
    }
  }
}

// The changed keys of section `name` if its parsed form differs (a key written out with its
// default value changes nothing); the section's name if only the parsed form tells.
template <typename Section>
void section(const char* name, const Section& was, const Section& now, const toml::table& a, const toml::table& b,
             std::vector<std::string>& out) {
  if (was == now) return;
  std::vector<std::string> keys;
  changed_keys(a[name].as_table(), b[name].as_table(), std::string(name) + ".", keys);
  if (keys.empty()) keys.push_back(name);
  out.insert(out.end(), keys.begin(), keys.end());
}

std::string prefix_text(const config::Ipv4Prefix& p) { return fmt::format("{}/{}", config::format_ipv4(p.network), p.len); }

// Switch entries: removed or moved ones first, then the new ones.
void plan_remotes(const TenantConfig& was, const TenantConfig& now, ReloadPlan& plan) {
  auto find = [](const TenantConfig& t, const config::Ipv4Prefix& p) -> const config::TenantRemote* {
    for (const auto& r : t.remotes)
      if (r.prefix == p) return &r;
    return nullptr;
  };
  for (const auto& r : was.remotes) {
    const auto* n = find(now, r.prefix);
    if (!n || n->vtep != r.vtep) plan.requests.push_back(fmt::format("switch remove {} {}", was.name, prefix_text(r.prefix)));
  }
  for (const auto& r : now.remotes) {
    const auto* w = find(was, r.prefix);
    if (!w || w->vtep != r.vtep)
      plan.requests.push_back(
          fmt::format("switch add {} {} {}", now.name, prefix_text(r.prefix), config::format_ipv4(r.vtep)));
  }
}

void plan_tenant(const TenantConfig& was, const TenantConfig& now, ReloadPlan& plan) {
  if (was.cpu_weight != now.cpu_weight)
    plan.requests.push_back(fmt::format("tenants set {} weight={}", now.name, now.cpu_weight));
  plan_remotes(was, now, plan);
  auto field = [&](const char* name, bool same) {
    if (!same) plan.restart_only.push_back(fmt::format("tenant.{}.{}", now.name, name));
  };
  field("vni", was.vni == now.vni);
  field("addresses", was.addresses == now.addresses);
  field("match", was.match == now.match);
  field("congestion_control", was.congestion_control == now.congestion_control);
  field("congestion_by_port", was.congestion_by_port == now.congestion_by_port);
  field("limits", was.limits == now.limits);
  field("reach", was.reach == now.reach);
}

}  // namespace

ReloadPlan plan_reload(const Config& was, const std::string& was_text, const Config& now, const std::string& now_text) {
  ReloadPlan plan;
  toml::table a = toml::parse(was_text);
  toml::table b = toml::parse(now_text);
  if (was.log_level != now.log_level) {
    plan.log_level = now.log_level;
    plan.requests.push_back("log-level " + now.log_level);
  }
  if (was.run_dir != now.run_dir) plan.restart_only.push_back("run_dir");
  if (was.log_target != now.log_target) plan.restart_only.push_back("log_target");
  if (was.log_socket != now.log_socket) plan.restart_only.push_back("log_socket");
  section("port", was.port, now.port, a, b, plan.restart_only);
  section("fastpath", was.fastpath, now.fastpath, a, b, plan.restart_only);
  section("network", was.network, now.network, a, b, plan.restart_only);
  section("tcp", was.tcp, now.tcp, a, b, plan.restart_only);
  section("apps", was.apps, now.apps, a, b, plan.restart_only);
  section("faults", was.faults, now.faults, a, b, plan.restart_only);
  section("metrics", was.metrics, now.metrics, a, b, plan.restart_only);

  const config::BudgetsConfig& bw = was.budgets;
  const config::BudgetsConfig& bn = now.budgets;
  std::vector<std::string> pairs;
  if (bw.enforce != bn.enforce) pairs.push_back(fmt::format("enforce={}", bn.enforce ? "on" : "off"));
  if (bw.ecn != bn.ecn) pairs.push_back(fmt::format("ecn={}", bn.ecn ? "on" : "off"));
  if (bw.period_us != bn.period_us) pairs.push_back(fmt::format("period_us={}", bn.period_us));
  if (bw.burst_periods != bn.burst_periods) pairs.push_back(fmt::format("burst_periods={}", bn.burst_periods));
  if (!pairs.empty()) plan.requests.push_back(fmt::format("tenants budgets {}", fmt::join(pairs, " ")));
  if (bw.host_cpu_weight != bn.host_cpu_weight)
    plan.requests.push_back(fmt::format("tenants set host weight={}", bn.host_cpu_weight));
  if (bw.backlog_frames != bn.backlog_frames) plan.restart_only.push_back("budgets.backlog_frames");
  if (bw.slowpath_period_us != bn.slowpath_period_us) plan.restart_only.push_back("budgets.slowpath_period_us");

  // Tenants by name; their ids follow their order, so a new, removed or moved tenant needs a restart.
  for (size_t i = 0; i < now.tenants.size(); ++i) {
    const TenantConfig& t = now.tenants[i];
    auto it = std::find_if(was.tenants.begin(), was.tenants.end(), [&](const auto& w) { return w.name == t.name; });
    if (it == was.tenants.end()) {
      plan.restart_only.push_back(fmt::format("tenant.{} (new)", t.name));
    } else if (size_t(it - was.tenants.begin()) != i) {
      plan.restart_only.push_back(fmt::format("tenant.{} (moved)", t.name));
    } else {
      plan_tenant(*it, t, plan);
    }
  }
  for (const TenantConfig& w : was.tenants)
    if (std::none_of(now.tenants.begin(), now.tenants.end(), [&](const auto& t) { return t.name == w.name; }))
      plan.restart_only.push_back(fmt::format("tenant.{} (removed)", w.name));
  return plan;
}

}  // namespace virtuoso::tools
