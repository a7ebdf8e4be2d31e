// Which tenant an app belongs to, decided from its credentials and the config: pure, no I/O.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenants.hpp"

namespace virtuoso::config {

// What the daemon knows of an app when it attaches (SO_PEERCRED, /proc/PID/cgroup, the socket).
struct AppCredentials {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> supplementary_gids;  // may be empty when not looked up
  std::string cgroup;                        // unified-hierarchy path; empty when unknown
  std::optional<size_t>
      tenant_socket;  // index of the tenant whose own socket it used; nullopt: app.sock
};

inline constexpr size_t kNoMatch = static_cast<size_t>(-1);

// How the tenant was chosen, strongest first, or why none was.
enum class MatchHow {
  kOwnSocket,         // the app connected to the tenant's own socket
  kCgroup,            // the longest matching match.cgroup prefix
  kGid,               // the app's primary gid is in match.gids
  kSupplementaryGid,  // one of its supplementary gids is
  kUid,               // its uid is in match.uids
  kNoTenants,         // plain mode: nothing configured
  kNoRuleMatches,     // tenants are configured and none has a rule for this app
  kAmbiguous,         // two tenants match equally well (`tied`)
  kUnknownSocket,     // tenant_socket names no tenant with a socket of its own
};

struct TenantMatch {
  size_t tenant = kNoMatch;  // index into the tenants, or kNoMatch
  MatchHow how = MatchHow::kNoTenants;
  size_t tied[2] = {kNoMatch, kNoMatch};  // kAmbiguous: two tenants that matched equally well

  bool matched() const { return tenant != kNoMatch; }
};

// A tenant's own socket decides outright. Otherwise the most specific rule wins: a cgroup prefix
// (the longer the better) beats the primary gid, which beats a supplementary gid, which beats the
// uid. Two tenants matching equally well give kAmbiguous with kNoMatch as `tenant`: the config
// loader refuses the statically visible cases, so only supplementary gids can get here.
TenantMatch match_tenant(std::span<const TenantConfig> tenants, const AppCredentials& app);

// One line for a log or the app's error, e.g. "tenant 'web' (cgroup /machine.slice/web)".
std::string describe_match(std::span<const TenantConfig> tenants, const TenantMatch& m);

// Whether `prefix` ("/a/b") is `path` or one of its ancestors, component by component:
// "/a/b" is a prefix of "/a/b/c" but not of "/a/bc".
bool cgroup_has_prefix(std::string_view path, std::string_view prefix);

// The cgroup v2 path ("0::/path" line) in the text of /proc/PID/cgroup; v1 lines
// ("N:controllers:/path") are skipped, a " (deleted)" suffix dropped. nullopt when there is no
// v2 line (a v1-only host) or its path is not absolute.
std::optional<std::string> parse_proc_cgroup(std::string_view text);

}  // namespace virtuoso::config
