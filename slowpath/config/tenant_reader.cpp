// Reads each [[tenant]] table, every value checked where it is read, then the checks across
// tenants: unique names, VNIs and sockets, reach naming real tenants, no rule two tenants share.
#include "tenant_reader.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "congestion_ports.hpp"
#include "ipv4.hpp"

namespace virtuoso::config {
namespace {

constexpr int64_t kMaxVni = (1 << 24) - 1;
constexpr int64_t kMaxId = 0xfffffffeLL;  // (uid_t)-1 means "no id" to the kernel
constexpr size_t kMaxNameLength = 31;
constexpr std::string_view kNameFix = "use 1..31 characters of a-z, 0-9, _ and -";

// [a-z0-9_-]{1,31}: safe as a directory name and in log lines.
bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > kMaxNameLength) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string indexed(std::string_view key, size_t i) {
  return fmt::format("{}[{}]", key, i);
}

std::string tenant_field(size_t t, std::string_view key) {
  return fmt::format("tenant[{}].{}", t, key);
}

// Each element of the string array `key`, type-checked.
std::vector<std::string> read_strings(TableReader& r, std::string_view key,
                                      std::string_view example) {
  std::vector<std::string> out;
  const toml::array* a = r.array(key, fmt::format("write it as {} = {}", key, example));
  if (!a) return out;
  for (size_t i = 0; i < a->size(); ++i) {
    const auto* s = a->get(i)->as_string();
    if (!s) {
      r.fail(indexed(key, i),
             fmt::format("expected a string, got {}", toml_type_name(a->get(i)->type())),
             "put the value in double quotes");
    }
    out.push_back(s->get());
  }
  return out;
}

std::vector<uint32_t> read_ids(TableReader& r, std::string_view key) {
  std::vector<uint32_t> out;
  const toml::array* a = r.array(key, fmt::format("write it as {} = [1000, 1001]", key));
  if (!a) return out;
  if (a->empty()) r.fail(key, "is empty", fmt::format("list at least one id, or remove {}", key));
  for (size_t i = 0; i < a->size(); ++i) {
    const auto* v = a->get(i)->as_integer();
    if (!v) {
      r.fail(indexed(key, i),
             fmt::format("expected an integer, got {}", toml_type_name(a->get(i)->type())),
             fmt::format("write a whole number in 0..{} without quotes", kMaxId));
    }
    if (v->get() < 0 || v->get() > kMaxId) {
      r.fail(indexed(key, i), fmt::format("{} is out of range", v->get()),
             fmt::format("use a value in 0..{}", kMaxId));
    }
    auto id = static_cast<uint32_t>(v->get());
    if (std::find(out.begin(), out.end(), id) != out.end()) {
      r.fail(indexed(key, i), fmt::format("{} is listed twice", id), "list it once");
    }
    out.push_back(id);
  }
  return out;
}

// "a.b.c.d/len" with no host bits set, outside the blocks no tenant can use.
Ipv4Prefix parse_address(TableReader& r, const std::string& field, const std::string& text) {
  PrefixCheck c = check_tenant_prefix(text);
  if (!c.error.empty()) r.fail(field, c.error, c.fix);
  return c.prefix;
}

std::vector<Ipv4Prefix> read_addresses(TableReader& r) {
  std::vector<std::string> texts = read_strings(r, "addresses", "[\"10.0.0.0/24\"]");
  std::vector<Ipv4Prefix> out;
  for (size_t i = 0; i < texts.size(); ++i) {
    Ipv4Prefix p = parse_address(r, indexed("addresses", i), texts[i]);
    for (size_t j = 0; j < out.size(); ++j) {
      if (p.overlaps(out[j])) {
        r.fail(indexed("addresses", i),
               fmt::format("'{}' overlaps {}", texts[i], r.field(indexed("addresses", j))),
               "list each address once, in one block");
      }
    }
    out.push_back(p);
  }
  return out;
}

// [[tenant.remote]] tables: a prefix of the virtual network behind a tunnel endpoint.
std::vector<TenantRemote> read_remotes(TableReader& r, const std::string& where, const std::string& src) {
  std::vector<TenantRemote> out;
  const toml::array* a = r.array("remote", "write each entry as a [[tenant.remote]] section");
  if (!a) return out;
  for (size_t i = 0; i < a->size(); ++i) {
    std::string field = indexed("remote", i);
    const toml::table* t = a->get(i)->as_table();
    if (!t) {
      r.fail(field, fmt::format("expected a table, got {}", toml_type_name(a->get(i)->type())),
             "write each entry as a [[tenant.remote]] section with prefix and vtep");
    }
    TableReader rr(t, where + "." + field, src);
    std::string prefix_text, vtep_text;
    bool has_prefix = rr.has("prefix"), has_vtep = rr.has("vtep");
    rr.string("prefix", prefix_text);
    rr.string("vtep", vtep_text);
    rr.reject_unknown();
    if (!has_prefix) rr.fail("prefix", "missing", "add prefix = \"a.b.c.d/len\": the inner addresses behind it");
    if (!has_vtep) rr.fail("vtep", "missing", "add vtep = \"a.b.c.d\": the remote host's underlay address");
    TenantRemote remote;
    remote.prefix = parse_address(rr, "prefix", prefix_text);
    auto vtep = parse_vtep(vtep_text);
    if (!vtep) {
      rr.fail("vtep", fmt::format("'{}' is not a unicast IPv4 address", vtep_text),
              "write the remote host's underlay address as a.b.c.d");
    }
    remote.vtep = *vtep;
    for (size_t j = 0; j < out.size(); ++j) {
      if (out[j].prefix.network == remote.prefix.network && out[j].prefix.len == remote.prefix.len) {
        rr.fail("prefix", fmt::format("'{}' is also {}", prefix_text, r.field(indexed("remote", j))),
                "list each prefix once");
      }
    }
    out.push_back(remote);
  }
  return out;
}

// "/a/b": absolute, no empty, "." or ".." component, not the root (which would hold every app).
bool valid_cgroup(std::string_view s) {
  if (s.size() < 2 || s.front() != '/' || s.back() == '/') return false;
  size_t pos = 1;
  while (pos <= s.size()) {
    size_t end = std::min(s.find('/', pos), s.size());
    std::string_view part = s.substr(pos, end - pos);
    if (part.empty() || part == "." || part == "..") return false;
    pos = end + 1;
  }
  return true;
}

void read_match(TableReader r, TenantMatchRules& m, const std::string& run_dir) {
  m.uids = read_ids(r, "uids");
  m.gids = read_ids(r, "gids");
  r.string("cgroup", m.cgroup);
  bool has_socket = r.has("socket");
  r.string("socket", m.socket);
  r.reject_unknown();
  if (r.has("cgroup") && !valid_cgroup(m.cgroup)) {
    r.fail("cgroup", fmt::format("'{}' is not a cgroup path below the root", m.cgroup),
           "write it as in /proc/PID/cgroup, e.g. /machine.slice/web.scope, without a trailing /");
  }
  if (has_socket && !valid_name(m.socket)) {
    r.fail("socket", fmt::format("'{}' is not a socket name", m.socket), kNameFix);
  }
  size_t path = run_dir.size() + std::string_view("/tenants//app.sock").size() + m.socket.size();
  if (has_socket && path > kMaxUnixSocketPath) {
    r.fail(
        "socket",
        fmt::format("{}/tenants/{}/app.sock is too long for a Unix socket path", run_dir, m.socket),
        fmt::format("keep run_dir and the socket name within {} characters together",
                    kMaxUnixSocketPath - (path - run_dir.size() - m.socket.size())));
  }
}

void read_limits(TableReader r, TenantLimits& l, const AppsConfig& apps) {
  r.integer("max_flows", l.max_flows, 0, apps.max_flows);
  r.integer("max_listen_ports", l.max_listen_ports, 0, 65535);
  r.integer("max_shm_mb", l.max_shm_mb, 0, 1 << 20);
  r.reject_unknown();
}

TenantConfig read_tenant(const toml::table& t, size_t index, const Config& cfg,
                         const std::string& src) {
  std::string where = fmt::format("tenant[{}]", index);
  TableReader r(&t, where, src);
  const toml::table* match = r.table("match");
  const toml::table* limits = r.table("limits");
  TenantConfig tc;
  bool has_name = r.has("name");
  r.string("name", tc.name);
  std::optional<int64_t> vni = r.any_integer("vni");
  tc.addresses = read_addresses(r);
  r.integer("cpu_weight", tc.cpu_weight, 1, 10000);
  if (int algo = r.choice("congestion_control", congestion_algo_names()); algo >= 0)
    tc.congestion_control = CongestionAlgo(algo);
  read_congestion_by_port(r, "congestion_by_port", src, tc.congestion_by_port);
  tc.reach = read_strings(r, "reach", "[\"other-tenant\"]");
  tc.remotes = read_remotes(r, where, src);
  r.reject_unknown();
  if (!has_name) r.fail("name", "missing", "add name = \"...\" to each [[tenant]]");
  if (!valid_name(tc.name))
    r.fail("name", fmt::format("'{}' is not a tenant name", tc.name), kNameFix);
  if (!vni) r.fail("vni", "missing", "add vni = N, the tenant's VXLAN network id in 1..16777215");
  if (*vni < 1 || *vni > kMaxVni) {
    r.fail("vni", fmt::format("{} is not a VNI (1..{})", *vni, kMaxVni),
           "use a VXLAN network id in that range");
  }
  tc.vni = static_cast<uint32_t>(*vni);
  if (tc.addresses.empty()) {
    r.fail("addresses", "missing or empty",
           "list the tenant's address blocks, e.g. addresses = [\"10.0.0.0/24\"]");
  }
  if (!match) {
    r.fail("match", "missing", "add a [tenant.match] table with uids, gids, cgroup or socket");
  }
  read_match(TableReader(match, where + ".match", src), tc.match, cfg.run_dir);
  const TenantMatchRules& m = tc.match;
  if (m.uids.empty() && m.gids.empty() && m.cgroup.empty() && m.socket.empty()) {
    config_fail(src, where + ".match", "has no rule",
                "set at least one of uids, gids, cgroup or socket");
  }
  read_limits(TableReader(limits, where + ".limits", src), tc.limits, cfg.apps);
  return tc;
}

// The first j < i for which same(j) holds, or i when none does.
template <typename Same>
size_t earlier(size_t i, Same same) {
  size_t j = 0;
  while (j < i && !same(j)) ++j;
  return j;
}

// A uid or gid in two tenants (like a cgroup in two) would leave an app's tenant to chance:
// refused here, where both tenants can be named, rather than when the app attaches.
template <typename Ids>
void check_ids(const std::vector<TenantConfig>& ts, size_t i, std::string_view key,
               std::string_view what, Ids ids, const std::string& src) {
  const auto& mine = ids(ts[i]);
  for (size_t k = 0; k < mine.size(); ++k) {
    size_t j = earlier(i, [&](size_t o) {
      const auto& theirs = ids(ts[o]);
      return std::find(theirs.begin(), theirs.end(), mine[k]) != theirs.end();
    });
    if (j == i) continue;
    config_fail(
        src, tenant_field(i, indexed(key, k)),
        fmt::format(
            "{} {} is also in tenant[{}].{} ('{}'), so an app with it could be either tenant", what,
            mine[k], j, key, ts[j].name),
        fmt::format("give each {} to one tenant", what));
  }
}

void check_reach(const std::vector<TenantConfig>& ts, size_t i, const std::string& src) {
  const auto& reach = ts[i].reach;
  for (size_t k = 0; k < reach.size(); ++k) {
    std::string field = tenant_field(i, indexed("reach", k));
    if (reach[k] == ts[i].name) {
      config_fail(src, field, fmt::format("'{}' is this tenant itself", reach[k]),
                  "remove it: a tenant always reaches its own addresses");
    }
    if (std::find(reach.begin(), reach.begin() + static_cast<ptrdiff_t>(k), reach[k]) !=
        reach.begin() + static_cast<ptrdiff_t>(k)) {
      config_fail(src, field, fmt::format("'{}' is listed twice", reach[k]), "list it once");
    }
    bool known = std::any_of(ts.begin(), ts.end(),
                             [&](const TenantConfig& t) { return t.name == reach[k]; });
    if (!known) {
      std::vector<std::string_view> names;
      for (const auto& t : ts) {
        if (t.name != ts[i].name) names.push_back(t.name);
      }
      config_fail(src, field, fmt::format("no tenant named '{}'", reach[k]),
                  names.empty() ? std::string("define that tenant, or remove the entry")
                                : fmt::format("name one of: {}", fmt::join(names, ", ")));
    }
  }
}

void check_across(const std::vector<TenantConfig>& ts, const std::string& src) {
  for (size_t i = 0; i < ts.size(); ++i) {
    const TenantConfig& t = ts[i];
    size_t j = earlier(i, [&](size_t o) { return ts[o].name == t.name; });
    if (j < i) {
      config_fail(src, tenant_field(i, "name"),
                  fmt::format("'{}' is used by tenant[{}]", t.name, j),
                  "give each tenant its own name");
    }
    j = earlier(i, [&](size_t o) { return ts[o].vni == t.vni; });
    if (j < i) {
      config_fail(src, tenant_field(i, "vni"),
                  fmt::format("{} is used by tenant[{}] ('{}')", t.vni, j, ts[j].name),
                  "give each tenant its own VNI");
    }
    j = earlier(i, [&](size_t o) {
      return !t.match.socket.empty() && ts[o].match.socket == t.match.socket;
    });
    if (j < i) {
      config_fail(src, tenant_field(i, "match.socket"),
                  fmt::format("'{}' is used by tenant[{}] ('{}')", t.match.socket, j, ts[j].name),
                  "give each tenant its own socket");
    }
    j = earlier(i, [&](size_t o) {
      return !t.match.cgroup.empty() && ts[o].match.cgroup == t.match.cgroup;
    });
    if (j < i) {
      config_fail(
          src, tenant_field(i, "match.cgroup"),
          fmt::format("'{}' is also tenant[{}]'s ('{}'), so an app in it could be either tenant",
                      t.match.cgroup, j, ts[j].name),
          "give each tenant its own cgroup");
    }
    check_ids(
        ts, i, "match.uids", "uid",
        [](const TenantConfig& x) -> const auto& { return x.match.uids; }, src);
    check_ids(
        ts, i, "match.gids", "gid",
        [](const TenantConfig& x) -> const auto& { return x.match.gids; }, src);
  }
  for (size_t i = 0; i < ts.size(); ++i) check_reach(ts, i, src);
}

}  // namespace

void read_tenants(const toml::array* tables, Config& cfg, const std::string& source) {
  if (!tables) return;
  if (tables->size() > kMaxTenantCount) {
    config_fail(source, "tenant", fmt::format("{} tenants, at most {}", tables->size(), kMaxTenantCount),
                "merge tenants, or run another daemon");
  }
  for (size_t i = 0; i < tables->size(); ++i) {
    const toml::node* n = tables->get(i);
    if (!n->is_table()) {
      config_fail(source, indexed("tenant", i),
                  fmt::format("expected a table, got {}", toml_type_name(n->type())),
                  "write each tenant as a [[tenant]] section");
    }
    cfg.tenants.push_back(read_tenant(*n->as_table(), i, cfg, source));
  }
  check_across(cfg.tenants, source);
}

}  // namespace virtuoso::config
