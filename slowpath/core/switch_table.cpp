// Control plane: the virtual switch's remote entries changed at run time (virtuosoctl switch).
// Connections through an entry that no longer routes their peer to the same tunnel endpoint end.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

#include "control_plane.hpp"
#include "log_format.hpp"

namespace virtuoso::slowpath {

namespace {
bool same_prefix(const config::Ipv4Prefix& a, const config::Ipv4Prefix& b) {
  return a.network == b.network && a.len == b.len;
}
}  // namespace

config::TenantConfig* ControlPlane::tenant_named(std::string_view name, std::string& error) {
  for (config::TenantConfig& t : s_.tenants)
    if (t.name == name) return &t;
  error = s_.tenants.empty() ? "no tenants are configured (plain mode)"
                             : fmt::format("no tenant is named '{}'", name);
  return nullptr;
}

std::string ControlPlane::switch_add(std::string_view tenant_name, std::string_view prefix, std::string_view vtep) {
  std::string error;
  config::TenantConfig* t = tenant_named(tenant_name, error);
  if (!t) return error;
  config::PrefixCheck p = config::check_tenant_prefix(prefix);
  if (!p.error.empty()) return p.error + ": " + p.fix;
  auto ip = config::parse_vtep(vtep);
  if (!ip) return fmt::format("'{}' is not a unicast IPv4 address for the remote host's tunnel endpoint", vtep);
  auto it = std::find_if(t->remotes.begin(), t->remotes.end(),
                         [&](const config::TenantRemote& r) { return same_prefix(r.prefix, p.prefix); });
  if (it != t->remotes.end()) {
    if (it->vtep == *ip) return {};  // already so
    it->vtep = *ip;                  // moved to another host
  } else {
    t->remotes.push_back({p.prefix, *ip});
  }
  spdlog::info("switch: tenant {}: {} -> {}", t->name, prefix, vtep);
  end_rerouted(*t);
  return {};
}

std::string ControlPlane::switch_remove(std::string_view tenant_name, std::string_view prefix) {
  std::string error;
  config::TenantConfig* t = tenant_named(tenant_name, error);
  if (!t) return error;
  config::PrefixCheck p = config::check_tenant_prefix(prefix);
  if (!p.error.empty()) return p.error + ": " + p.fix;
  auto it = std::find_if(t->remotes.begin(), t->remotes.end(),
                         [&](const config::TenantRemote& r) { return same_prefix(r.prefix, p.prefix); });
  if (it == t->remotes.end()) return fmt::format("tenant {} has no switch entry for {}", t->name, prefix);
  t->remotes.erase(it);
  spdlog::info("switch: tenant {}: {} removed", t->name, prefix);
  end_rerouted(*t);
  return {};
}

// A connection of the tenant whose peer the table now puts behind another endpoint, or nowhere,
// has lost its path: it fails with EHOSTUNREACH (a RST goes the old way, so the peer hears of it).
// Connections inside this host (the peer's tunnel endpoint is our own address) do not use entries.
void ControlPlane::end_rerouted(const config::TenantConfig& t) {
  auto lost = [&](const FourTuple& tuple, const PeerPath& path) {
    if (tuple.vni != t.vni || path.vtep == s_.local_ip) return false;
    const config::TenantRemote* r = config::tenant_remote_for(t, tuple.remote_ip);
    return !r || r->vtep != path.vtep;
  };
  for (uint32_t flow = 0; flow < conns_.size(); ++flow) {
    Conn& c = conns_[flow];
    if (c.state == ConnState::kFree || c.state == ConnState::kRemoving || !lost(c.tuple, c.path)) continue;
    ++stats_.switch_flows_ended;
    if (c.state == ConnState::kSynSent) {
      connect_failed(flow, EHOSTUNREACH);
    } else {
      fail_flow(flow, c, EHOSTUNREACH, true);
    }
  }
  for (auto it = half_open_.begin(); it != half_open_.end();) {
    if (lost(it->first, it->second.path)) {
      ++stats_.switch_flows_ended;
      --listeners_.at(it->second.listener).half_open;
      it = half_open_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace virtuoso::slowpath
