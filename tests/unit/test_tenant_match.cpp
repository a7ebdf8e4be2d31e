// Unit tests of tenant matching by credentials, the /proc/PID/cgroup parser, and the address and
// reach questions asked of a tenant.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/tenant_match.hpp"

using virtuoso::config::AppCredentials;
using virtuoso::config::Ipv4Prefix;
using virtuoso::config::kNoMatch;
using virtuoso::config::match_tenant;
using virtuoso::config::MatchHow;
using virtuoso::config::parse_proc_cgroup;
using virtuoso::config::TenantConfig;

namespace {

TenantConfig make(const std::string& name, std::vector<uint32_t> uids,
                  std::vector<uint32_t> gids = {}, std::string cgroup = "",
                  std::string socket = "") {
  TenantConfig t;
  t.name = name;
  t.addresses = {Ipv4Prefix{0x0a010000, 24}};
  t.match.uids = std::move(uids);
  t.match.gids = std::move(gids);
  t.match.cgroup = std::move(cgroup);
  t.match.socket = std::move(socket);
  return t;
}

AppCredentials app(uint32_t uid, uint32_t gid, std::string cgroup = "",
                   std::vector<uint32_t> supplementary = {}) {
  AppCredentials a;
  a.uid = uid;
  a.gid = gid;
  a.cgroup = std::move(cgroup);
  a.supplementary_gids = std::move(supplementary);
  return a;
}

}  // namespace

TEST_CASE("tenant match: no tenants configured -> no match, kNoTenants", "[tenants]") {
  auto m = match_tenant({}, app(1000, 1000));
  CHECK_FALSE(m.matched());
  CHECK(m.tenant == kNoMatch);
  CHECK(m.how == MatchHow::kNoTenants);
}

TEST_CASE("tenant match: uid listed by one tenant -> that tenant, by uid", "[tenants]") {
  std::vector<TenantConfig> ts = {make("a", {1000}), make("b", {2000})};
  auto m = match_tenant(ts, app(2000, 5));
  CHECK(m.tenant == 1);
  CHECK(m.how == MatchHow::kUid);
}

TEST_CASE("tenant match: credentials no tenant lists -> no match, kNoRuleMatches", "[tenants]") {
  std::vector<TenantConfig> ts = {make("a", {1000}, {50}, "/x")};
  auto m = match_tenant(ts, app(3000, 60, "/y"));
  CHECK_FALSE(m.matched());
  CHECK(m.how == MatchHow::kNoRuleMatches);
}

TEST_CASE("tenant match: gid in one tenant beats uid in another", "[tenants]") {
  std::vector<TenantConfig> ts = {make("by-uid", {1000}), make("by-gid", {}, {50})};
  auto m = match_tenant(ts, app(1000, 50));
  CHECK(m.tenant == 1);
  CHECK(m.how == MatchHow::kGid);
}

TEST_CASE("tenant match: a supplementary gid matches, and beats uid", "[tenants]") {
  std::vector<TenantConfig> ts = {make("by-uid", {1000}), make("by-gid", {}, {70})};
  auto m = match_tenant(ts, app(1000, 50, "", {60, 70}));
  CHECK(m.tenant == 1);
  CHECK(m.how == MatchHow::kSupplementaryGid);
}

TEST_CASE("tenant match: primary gid beats a supplementary gid", "[tenants]") {
  std::vector<TenantConfig> ts = {make("supp", {}, {70}), make("primary", {}, {50})};
  auto m = match_tenant(ts, app(1, 50, "", {70}));
  CHECK(m.tenant == 1);
  CHECK(m.how == MatchHow::kGid);
}

TEST_CASE("tenant match: cgroup prefix beats gid and uid", "[tenants]") {
  std::vector<TenantConfig> ts = {make("ids", {1000}, {50}), make("cg", {}, {}, "/machine.slice")};
  auto m = match_tenant(ts, app(1000, 50, "/machine.slice/web.scope"));
  CHECK(m.tenant == 1);
  CHECK(m.how == MatchHow::kCgroup);
}

TEST_CASE("tenant match: longer cgroup prefix beats shorter, whatever the order", "[tenants]") {
  std::vector<TenantConfig> ts = {make("inner", {}, {}, "/a/b"), make("outer", {}, {}, "/a")};
  CHECK(match_tenant(ts, app(1, 1, "/a/b/c")).tenant == 0);
  std::vector<TenantConfig> rev = {make("outer", {}, {}, "/a"), make("inner", {}, {}, "/a/b")};
  CHECK(match_tenant(rev, app(1, 1, "/a/b/c")).tenant == 1);
  CHECK(match_tenant(rev, app(1, 1, "/a/x")).tenant == 0);
}

TEST_CASE("tenant match: cgroup prefix matches whole components only", "[tenants]") {
  std::vector<TenantConfig> ts = {make("a", {}, {}, "/a/b")};
  CHECK(match_tenant(ts, app(1, 1, "/a/b")).tenant == 0);
  CHECK(match_tenant(ts, app(1, 1, "/a/b/c")).tenant == 0);
  CHECK_FALSE(match_tenant(ts, app(1, 1, "/a/bc")).matched());
  CHECK_FALSE(match_tenant(ts, app(1, 1, "/a")).matched());
  CHECK_FALSE(match_tenant(ts, app(1, 1, "")).matched());
}

TEST_CASE("tenant match: own socket decides even when credentials match another tenant",
          "[tenants]") {
  std::vector<TenantConfig> ts = {make("cg", {1000}, {}, "/x"), make("sock", {}, {}, "", "sock")};
  AppCredentials a = app(1000, 1000, "/x/y");
  a.tenant_socket = 1;
  auto m = match_tenant(ts, a);
  CHECK(m.tenant == 1);
  CHECK(m.how == MatchHow::kOwnSocket);
}

TEST_CASE("tenant match: an app on a tenant's socket is never another tenant, even matching none",
          "[tenants]") {
  std::vector<TenantConfig> ts = {make("a", {1000}, {}, "", "a")};
  AppCredentials a = app(99, 99);
  a.tenant_socket = 0;
  CHECK(match_tenant(ts, a).tenant == 0);
}

TEST_CASE("tenant match: socket index of no socket-owning tenant -> kUnknownSocket", "[tenants]") {
  std::vector<TenantConfig> ts = {make("a", {1000})};
  AppCredentials a = app(1000, 1);
  a.tenant_socket = 0;  // "a" has no socket of its own
  CHECK(match_tenant(ts, a).how == MatchHow::kUnknownSocket);
  a.tenant_socket = 5;
  CHECK_FALSE(match_tenant(ts, a).matched());
  CHECK(match_tenant(ts, a).how == MatchHow::kUnknownSocket);
}

TEST_CASE("tenant match: a socket-owning tenant is still matched by its other rules on app.sock",
          "[tenants]") {
  std::vector<TenantConfig> ts = {make("a", {1000}, {}, "", "a")};
  CHECK(match_tenant(ts, app(1000, 1)).tenant == 0);
  CHECK_FALSE(match_tenant(ts, app(1001, 1)).matched());
}

TEST_CASE("tenant match: supplementary gids in two tenants -> kAmbiguous naming both",
          "[tenants]") {
  std::vector<TenantConfig> ts = {make("a", {}, {60}), make("b", {}, {70})};
  auto m = match_tenant(ts, app(1, 1, "", {60, 70}));
  CHECK_FALSE(m.matched());
  CHECK(m.how == MatchHow::kAmbiguous);
  CHECK(m.tied[0] == 0);
  CHECK(m.tied[1] == 1);
  CHECK(virtuoso::config::describe_match(ts, m) == "no tenant ('a' and 'b' match equally well)");
}

TEST_CASE("tenant match: a tie below a stronger match is no ambiguity", "[tenants]") {
  std::vector<TenantConfig> ts = {make("a", {}, {60}), make("b", {}, {70}), make("c", {}, {50})};
  auto m = match_tenant(ts, app(1, 50, "", {60, 70}));
  CHECK(m.tenant == 2);
  CHECK(m.how == MatchHow::kGid);
}

TEST_CASE("tenant match: describe_match says which tenant and which rule", "[tenants]") {
  std::vector<TenantConfig> ts = {make("web", {1000}, {}, "/m/web", "web")};
  using virtuoso::config::describe_match;
  CHECK(describe_match(ts, match_tenant(ts, app(1, 1, "/m/web/x"))) ==
        "tenant 'web' (cgroup /m/web)");
  CHECK(describe_match(ts, match_tenant(ts, app(1000, 1))) == "tenant 'web' (uid)");
  CHECK(describe_match(ts, match_tenant(ts, app(2, 2))) ==
        "no tenant (no tenant's match rules fit this app)");
}

TEST_CASE("tenant match: a config from the file matches as its rules say", "[tenants]") {
  auto c = virtuoso::config::parse_config(R"(
[port]
devargs = "net_null0"
[network]
ip = "10.0.0.2"
[[tenant]]
name = "a"
vni = 1
addresses = ["10.1.0.0/24"]
match = { uids = [1000], cgroup = "/srv" }
[[tenant]]
name = "b"
vni = 2
addresses = ["10.1.0.0/24"]
match = { gids = [1000], socket = "b" }
)",
                                          "t.toml");
  CHECK(match_tenant(c.tenants, app(1000, 1000)).tenant == 1);
  CHECK(match_tenant(c.tenants, app(1000, 1000, "/srv/app")).tenant == 0);
  CHECK(match_tenant(c.tenants, app(1000, 5)).tenant == 0);
  CHECK(virtuoso::config::tenant_socket_path(c.run_dir, c.tenants[1]) ==
        "/run/virtuoso/tenants/b/app.sock");
  CHECK(virtuoso::config::tenant_socket_path(c.run_dir, c.tenants[0]).empty());
}

TEST_CASE("proc cgroup: a v2-only file -> its path", "[tenants]") {
  CHECK(parse_proc_cgroup("0::/user.slice/user-1000.slice/session-3.scope\n") ==
        "/user.slice/user-1000.slice/session-3.scope");
}

TEST_CASE("proc cgroup: a hybrid file -> the v2 line's path, v1 lines skipped", "[tenants]") {
  CHECK(
      parse_proc_cgroup(
          "12:cpu,cpuacct:/docker/abc\n1:name=systemd:/init.scope\n0::/system.slice/x.service\n") ==
      "/system.slice/x.service");
}

TEST_CASE("proc cgroup: a v1-only file -> nullopt", "[tenants]") {
  CHECK_FALSE(parse_proc_cgroup("12:cpu,cpuacct:/docker/abc\n1:name=systemd:/init.scope\n"));
  CHECK_FALSE(parse_proc_cgroup(""));
}

TEST_CASE("proc cgroup: no final newline, root path and a deleted cgroup are read", "[tenants]") {
  CHECK(parse_proc_cgroup("0::/a/b") == "/a/b");
  CHECK(parse_proc_cgroup("0::/\n") == "/");
  CHECK(parse_proc_cgroup("0::/gone/x (deleted)\n") == "/gone/x");
}

TEST_CASE("proc cgroup: a v2 line without an absolute path -> nullopt", "[tenants]") {
  CHECK_FALSE(parse_proc_cgroup("0::\n"));
  CHECK_FALSE(parse_proc_cgroup("0::relative\n"));
}

TEST_CASE("tenant_owns: addresses inside a block are owned, others are not", "[tenants]") {
  TenantConfig t = make("a", {1});
  t.addresses = {Ipv4Prefix{0x0a010000, 24}, Ipv4Prefix{0xc0a80507, 32}};
  CHECK(virtuoso::config::tenant_owns(t, 0x0a010000));
  CHECK(virtuoso::config::tenant_owns(t, 0x0a0100ff));
  CHECK(virtuoso::config::tenant_owns(t, 0xc0a80507));
  CHECK_FALSE(virtuoso::config::tenant_owns(t, 0x0a010100));
  CHECK_FALSE(virtuoso::config::tenant_owns(t, 0xc0a80508));
}

TEST_CASE("ipv4 prefix: overlap holds exactly when one block contains the other", "[tenants]") {
  Ipv4Prefix a{0x0a000000, 8};
  Ipv4Prefix b{0x0a010000, 16};
  Ipv4Prefix c{0x0b000000, 8};
  CHECK(a.overlaps(b));
  CHECK(b.overlaps(a));
  CHECK_FALSE(a.overlaps(c));
  CHECK_FALSE(Ipv4Prefix{0x0a000000, 25}.overlaps(Ipv4Prefix{0x0a000080, 25}));
}

TEST_CASE("tenant_may_reach: own tenant always, another only when listed, one direction",
          "[tenants]") {
  TenantConfig a = make("a", {1});
  TenantConfig b = make("b", {2});
  a.reach = {"b"};
  using virtuoso::config::tenant_may_reach;
  CHECK(tenant_may_reach(a, a));
  CHECK(tenant_may_reach(a, b));
  CHECK_FALSE(tenant_may_reach(b, a));
}
