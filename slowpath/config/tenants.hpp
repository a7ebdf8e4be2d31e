// A tenant's configuration ([[tenant]] tables) and the pure questions asked of it: owns, may reach.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "congestion_algo.hpp"

namespace virtuoso::config {

// sockaddr_un::sun_path holds 108 bytes with the terminating NUL.
inline constexpr size_t kMaxUnixSocketPath = 107;

// An IPv4 block, host byte order; `network` has no bits set beyond `len`.
struct Ipv4Prefix {
  uint32_t network = 0;
  unsigned len = 32;  // 1..32

  bool contains(uint32_t ip) const;
  bool overlaps(const Ipv4Prefix& other) const;
  bool operator==(const Ipv4Prefix&) const = default;
};

// How the daemon recognises a tenant's apps; a tenant has at least one rule (see tenant_match.hpp).
struct TenantMatchRules {
  std::vector<uint32_t> uids;
  std::vector<uint32_t> gids;
  std::string cgroup;  // "/a/b": apps whose cgroup v2 path is /a/b or below it; empty: no rule
  std::string socket;  // own app socket run_dir/tenants/<socket>/app.sock; empty: none
  bool operator==(const TenantMatchRules&) const = default;
};

// 0 in any field: no limit beyond the host's.
struct TenantLimits {
  unsigned max_flows = 0;
  unsigned max_listen_ports = 0;
  unsigned max_shm_mb = 0;
  bool operator==(const TenantLimits&) const = default;
};

// A switch-table entry of the tenant's virtual network: inner addresses in `prefix` live behind
// the remote tunnel endpoint `vtep` (an underlay address, reached like any peer of network.ip).
struct TenantRemote {
  Ipv4Prefix prefix;
  uint32_t vtep = 0;
  bool operator==(const TenantRemote&) const = default;
};

inline constexpr size_t kMaxTenantCount = 255;  // tenant ids 1..255 in shared memory; 0 is the host

struct TenantConfig {
  std::string name;                   // [a-z0-9_-]{1,31}, unique
  uint32_t vni = 0;                   // VXLAN network id 1..16777215, unique
  std::vector<Ipv4Prefix> addresses;  // at least one, none overlapping another of this tenant
  TenantMatchRules match;
  unsigned cpu_weight = 100;  // 1..10000
  std::optional<CongestionAlgo> congestion_control;  // the tenant's flows; unset: [tcp]'s
  CongestionByPort congestion_by_port;  // the tenant's listening ports with their own algorithm
  TenantLimits limits;
  std::vector<std::string> reach;  // other tenants this one may connect to on this host
  std::vector<TenantRemote> remotes;  // [[tenant.remote]]: the switch's entries towards other hosts
};

// The address an app of the tenant sends from when it bound none: the first usable address of
// its first block (the block's network address for /31 and /32).
uint32_t tenant_default_ip(const TenantConfig& tenant);

// "a.b.c.d/len" as a tenant's address block or a remote entry's prefix: len 1..32, no host bits
// set, outside 0.0.0.0/8, 127.0.0.0/8 and 224.0.0.0/3. On failure `error` says what is wrong and
// `fix` how to write it.
struct PrefixCheck {
  Ipv4Prefix prefix;
  std::string error;
  std::string fix;
};
PrefixCheck check_tenant_prefix(std::string_view text);

// A remote tunnel endpoint: a unicast IPv4 address (not 0, loopback or multicast).
std::optional<uint32_t> parse_vtep(std::string_view text);

// The remote entry whose prefix holds `ip`, the longest prefix winning; null when none does.
const TenantRemote* tenant_remote_for(const TenantConfig& tenant, uint32_t ip);

// Whether `ip` (host byte order) lies in one of the tenant's address blocks.
bool tenant_owns(const TenantConfig& tenant, uint32_t ip);

// Whether an app of `from` may connect to an address of `to` on this host: always within one
// tenant, otherwise only when `from.reach` names `to` (one direction: `to` needs its own entry).
bool tenant_may_reach(const TenantConfig& from, const TenantConfig& to);

// run_dir/tenants/<socket>/app.sock, or empty when the tenant has no socket of its own.
std::string tenant_socket_path(const std::string& run_dir, const TenantConfig& tenant);

}  // namespace virtuoso::config
