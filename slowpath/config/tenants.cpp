// The pure questions asked of a tenant's configuration: address ownership, reach, socket path.
#include "tenants.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

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

PrefixCheck check_tenant_prefix(std::string_view text) {
  size_t slash = text.find('/');
  auto ip = parse_ipv4(text.substr(0, slash));
  unsigned len = 0;
  bool ok = ip && slash != std::string_view::npos && slash + 1 < text.size();
  if (ok) {
    const char* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data() + slash + 1, end, len);
    ok = ec == std::errc() && p == end && len >= 1 && len <= 32 && text[slash + 1] != '0';
  }
  if (!ok) {
    return {{}, fmt::format("'{}' is not an address block", text),
            "write a.b.c.d/len with len in 1..32, e.g. 10.0.0.0/24, or 10.0.0.5/32 for one address"};
  }
  Ipv4Prefix p{*ip & prefix_mask(len), len};
  if (p.network != *ip) {
    return {p, fmt::format("'{}' has host bits set", text),
            fmt::format("write the block as {}/{}, or {}/32 for one address", format_ipv4(p.network), len,
                        format_ipv4(*ip))};
  }
  static const Ipv4Prefix kReserved[] = {{0x00000000, 8}, {0x7f000000, 8}, {0xe0000000, 3}};
  for (const auto& reserved : kReserved) {
    if (p.overlaps(reserved)) {
      return {p, fmt::format("'{}' overlaps {}/{}", text, format_ipv4(reserved.network), reserved.len),
              "use unicast addresses outside 0.0.0.0/8, 127.0.0.0/8 and 224.0.0.0/3"};
    }
  }
  return {p, {}, {}};
}

std::optional<uint32_t> parse_vtep(std::string_view text) {
  auto ip = parse_ipv4(text);
  if (!ip || *ip == 0 || (*ip >> 24) == 127 || (*ip >> 24) >= 224) return std::nullopt;
  return ip;
}

const TenantRemote* tenant_remote_for(const TenantConfig& tenant, uint32_t ip) {
  const TenantRemote* best = nullptr;
  for (const TenantRemote& r : tenant.remotes)
    if (r.prefix.contains(ip) && (!best || r.prefix.len > best->prefix.len)) best = &r;
  return best;
}

}  // namespace virtuoso::config
