// The pure questions asked of a tenant's configuration: address ownership, reach, socket path.
#include "tenants.hpp"

#include <algorithm>

#include "ipv4.hpp"

namespace virtuoso::config {

bool Ipv4Prefix::contains(uint32_t ip) const {
  return (ip & prefix_mask(len)) == network;
}

bool Ipv4Prefix::overlaps(const Ipv4Prefix& other) const {
  // Two blocks overlap exactly when the shorter one contains the other's network.
  return len <= other.len ? contains(other.network) : other.contains(network);
}

bool tenant_owns(const TenantConfig& tenant, uint32_t ip) {
  return std::any_of(tenant.addresses.begin(), tenant.addresses.end(),
                     [ip](const Ipv4Prefix& p) { return p.contains(ip); });
}

bool tenant_may_reach(const TenantConfig& from, const TenantConfig& to) {
  if (from.name == to.name) return true;
  return std::find(from.reach.begin(), from.reach.end(), to.name) != from.reach.end();
}

std::string tenant_socket_path(const std::string& run_dir, const TenantConfig& tenant) {
  if (tenant.match.socket.empty()) return {};
  return run_dir + "/tenants/" + tenant.match.socket + "/app.sock";
}

uint32_t tenant_default_ip(const TenantConfig& tenant) {
  if (tenant.addresses.empty()) return 0;
  const Ipv4Prefix& p = tenant.addresses.front();
  return p.len >= 31 ? p.network : p.network + 1;
}

const TenantRemote* tenant_remote_for(const TenantConfig& tenant, uint32_t ip) {
  const TenantRemote* best = nullptr;
  for (const TenantRemote& r : tenant.remotes)
    if (r.prefix.contains(ip) && (!best || r.prefix.len > best->prefix.len)) best = &r;
  return best;
}

}  // namespace virtuoso::config
