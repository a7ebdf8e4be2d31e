// Tenant matching by credentials, and the parser of /proc/PID/cgroup text.
#include "tenant_match.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace virtuoso::config {
namespace {

// How well one tenant matches: the strongest rule, then the cgroup prefix's length. Higher wins.
struct Score {
  int rank = 0;  // 0: no rule matches
  size_t cgroup_len = 0;

  auto operator<=>(const Score&) const = default;
};

constexpr int kRankUid = 1;
constexpr int kRankSupplementaryGid = 2;
constexpr int kRankGid = 3;
constexpr int kRankCgroup = 4;

bool has(const std::vector<uint32_t>& ids, uint32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

Score score(const TenantMatchRules& rules, const AppCredentials& app) {
  if (!rules.cgroup.empty() && cgroup_has_prefix(app.cgroup, rules.cgroup)) {
    return {kRankCgroup, rules.cgroup.size()};
  }
  if (has(rules.gids, app.gid)) return {kRankGid, 0};
  for (uint32_t g : app.supplementary_gids) {
    if (has(rules.gids, g)) return {kRankSupplementaryGid, 0};
  }
  if (has(rules.uids, app.uid)) return {kRankUid, 0};
  return {};
}

MatchHow how_of(int rank) {
  switch (rank) {
    case kRankCgroup:
      return MatchHow::kCgroup;
    case kRankGid:
      return MatchHow::kGid;
    case kRankSupplementaryGid:
      return MatchHow::kSupplementaryGid;
    default:
      return MatchHow::kUid;
  }
}

}  // namespace

TenantMatch match_tenant(std::span<const TenantConfig> tenants, const AppCredentials& app) {
  if (app.tenant_socket) {
    size_t t = *app.tenant_socket;
    if (t >= tenants.size() || tenants[t].match.socket.empty())
      return {kNoMatch, MatchHow::kUnknownSocket};
    return {t, MatchHow::kOwnSocket};
  }
  if (tenants.empty()) return {kNoMatch, MatchHow::kNoTenants};
  Score best;
  size_t winner = kNoMatch;
  size_t rival = kNoMatch;
  for (size_t i = 0; i < tenants.size(); ++i) {
    Score s = score(tenants[i].match, app);
    if (s.rank == 0 || s < best) continue;
    if (s == best) {
      rival = i;
      continue;
    }
    best = s;
    winner = i;
    rival = kNoMatch;
  }
  if (winner == kNoMatch) return {kNoMatch, MatchHow::kNoRuleMatches};
  if (rival != kNoMatch) return {kNoMatch, MatchHow::kAmbiguous, {winner, rival}};
  return {winner, how_of(best.rank)};
}

std::string describe_match(std::span<const TenantConfig> tenants, const TenantMatch& m) {
  auto name = [&](size_t i) { return i < tenants.size() ? tenants[i].name : std::string("?"); };
  switch (m.how) {
    case MatchHow::kOwnSocket:
      return fmt::format("tenant '{}' (its own socket)", name(m.tenant));
    case MatchHow::kCgroup:
      return fmt::format("tenant '{}' (cgroup {})", name(m.tenant), tenants[m.tenant].match.cgroup);
    case MatchHow::kGid:
      return fmt::format("tenant '{}' (gid)", name(m.tenant));
    case MatchHow::kSupplementaryGid:
      return fmt::format("tenant '{}' (supplementary gid)", name(m.tenant));
    case MatchHow::kUid:
      return fmt::format("tenant '{}' (uid)", name(m.tenant));
    case MatchHow::kNoTenants:
      return "no tenant (none configured)";
    case MatchHow::kNoRuleMatches:
      return "no tenant (no tenant's match rules fit this app)";
    case MatchHow::kAmbiguous:
      return fmt::format("no tenant ('{}' and '{}' match equally well)", name(m.tied[0]),
                         name(m.tied[1]));
    case MatchHow::kUnknownSocket:
      return "no tenant (the socket belongs to no configured tenant)";
  }
  return "no tenant";
}

bool cgroup_has_prefix(std::string_view path, std::string_view prefix) {
  if (prefix.empty() || path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

std::optional<std::string> parse_proc_cgroup(std::string_view text) {
  constexpr std::string_view kUnified = "0::";
  constexpr std::string_view kDeleted = " (deleted)";
  while (!text.empty()) {
    size_t eol = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(std::min(eol + 1, text.size()));
    if (line.substr(0, kUnified.size()) != kUnified) continue;
    std::string_view path = line.substr(kUnified.size());
    if (path.size() > kDeleted.size() && path.substr(path.size() - kDeleted.size()) == kDeleted) {
      path.remove_suffix(kDeleted.size());
    }
    if (path.empty() || path.front() != '/') return std::nullopt;
    return std::string(path);
  }
  return std::nullopt;
}

}  // namespace virtuoso::config
