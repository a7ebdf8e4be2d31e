// Unit tests of the [[tenant]] config tables: what is read, defaults, and one test per refused
// input, each checking that the one-line error names the field and says how to fix it.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"
#include "support/config_text.hpp"

using virtuoso::config::Config;
using virtuoso::config::ConfigError;
using virtuoso::config::parse_config;

namespace {

constexpr const char* kMinimal = virtuoso::test::kMinimalConfig;

// A tenant valid on its own, named `name` with VNI `vni`; `extra` adds keys to its table and
// `match` replaces its one rule (uid 1000 + vni).
std::string tenant(const std::string& name, int vni, const std::string& extra = "",
                   std::string match = "") {
  if (match.empty()) match = "uids = [" + std::to_string(1000 + vni) + "]";
  return "[[tenant]]\nname = \"" + name + "\"\nvni = " + std::to_string(vni) +
         "\naddresses = [\"10.1.0.0/24\"]\n" + extra + "[tenant.match]\n" + match + "\n";
}

Config parse_with(const std::string& extra) {
  return parse_config(std::string(kMinimal) + extra, "v.toml");
}

// The error for the whole file `text`, or a test failure if it is accepted.
std::string error_in(const std::string& text) { return virtuoso::test::config_error(text); }

std::string error_of(const std::string& extra) {
  return error_in(std::string(kMinimal) + extra);
}

// A tenant table written out in full, for the errors inside one tenant.
std::string raw_tenant(const std::string& body) {
  return "[[tenant]]\n" + body + "\n";
}

constexpr const char* kBody = "name = \"a\"\nvni = 1\naddresses = [\"10.1.0.0/24\"]\n";

}  // namespace

TEST_CASE("tenants: no [[tenant]] table -> plain mode, no tenants", "[config][tenants]") {
  CHECK(parse_with("").tenants.empty());
}

TEST_CASE("tenants: every field of a tenant is read", "[config][tenants]") {
  Config c = parse_with(R"(
[[tenant]]
name = "web-1"
vni = 16777215
addresses = ["10.1.0.0/24", "192.168.5.7/32"]
cpu_weight = 250
congestion_control = "reno"
reach = ["db_2"]
[tenant.match]
uids = [1000, 1001]
gids = [50]
cgroup = "/machine.slice/web"
socket = "web"
[tenant.limits]
max_flows = 100
max_listen_ports = 4
max_shm_mb = 512
[[tenant]]
name = "db_2"
vni = 7
addresses = ["10.1.0.0/16"]
match = { uids = [2000] }
)");
  REQUIRE(c.tenants.size() == 2);
  const auto& t = c.tenants[0];
  CHECK(t.name == "web-1");
  CHECK(t.vni == 16777215);
  REQUIRE(t.addresses.size() == 2);
  CHECK(t.addresses[0].network == 0x0a010000);
  CHECK(t.addresses[0].len == 24);
  CHECK(t.addresses[1].network == 0xc0a80507);
  CHECK(t.addresses[1].len == 32);
  CHECK(t.cpu_weight == 250);
  CHECK(t.congestion_control == virtuoso::config::CongestionAlgo::kReno);
  CHECK(t.reach == std::vector<std::string>{"db_2"});
  CHECK(t.match.uids == std::vector<uint32_t>{1000, 1001});
  CHECK(t.match.gids == std::vector<uint32_t>{50});
  CHECK(t.match.cgroup == "/machine.slice/web");
  CHECK(t.match.socket == "web");
  CHECK(t.limits.max_flows == 100);
  CHECK(t.limits.max_listen_ports == 4);
  CHECK(t.limits.max_shm_mb == 512);
  CHECK(c.tenants[1].name == "db_2");
  CHECK(c.tenants[1].match.uids == std::vector<uint32_t>{2000});
}

TEST_CASE("tenants: omitted optional keys -> weight 100, no limits, reaches no other tenant",
          "[config][tenants]") {
  Config c = parse_with(tenant("a", 1));
  REQUIRE(c.tenants.size() == 1);
  CHECK(c.tenants[0].cpu_weight == 100);
  CHECK_FALSE(c.tenants[0].congestion_control);  // [tcp]'s
  CHECK(c.tenants[0].limits.max_flows == 0);
  CHECK(c.tenants[0].limits.max_listen_ports == 0);
  CHECK(c.tenants[0].limits.max_shm_mb == 0);
  CHECK(c.tenants[0].reach.empty());
  CHECK(c.tenants[0].match.cgroup.empty());
  CHECK(c.tenants[0].match.socket.empty());
}

TEST_CASE("tenants: two tenants may use overlapping addresses (their VNIs differ)",
          "[config][tenants]") {
  Config c = parse_with(tenant("a", 1) + tenant("b", 2));
  REQUIRE(c.tenants.size() == 2);
  CHECK(c.tenants[0].addresses[0].network == c.tenants[1].addresses[0].network);
}

TEST_CASE("tenants: tenant given as a value -> refused, says to write [[tenant]]",
          "[config][tenants]") {
  CHECK(error_in("tenant = 3\n" + std::string(kMinimal)) ==
        "v.toml: tenant: expected an array, got an integer; write each tenant as a [[tenant]] "
        "section");
}

TEST_CASE("tenants: a single [tenant] table -> refused, says to write [[tenant]]",
          "[config][tenants]") {
  CHECK(
      error_of("[tenant]\nname = \"a\"\n") ==
      "v.toml: tenant: expected an array, got a table; write each tenant as a [[tenant]] section");
}

TEST_CASE("tenants: an array element that is not a table -> refused with its index",
          "[config][tenants]") {
  CHECK(error_in("tenant = [1]\n" + std::string(kMinimal))
            .find("v.toml: tenant[0]: expected a table, got an integer; ") == 0);
}

TEST_CASE("tenants: misspelt key in a tenant -> refused with a suggestion", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "vnid = 3\n")) ==
        "v.toml: tenant[0].vnid: unknown key; did you mean tenant[0].vni?");
}

TEST_CASE("tenants: name missing -> refused", "[config][tenants]") {
  CHECK(error_of(raw_tenant("vni = 1\naddresses = [\"10.1.0.0/24\"]\nmatch = { uids = [1] }"))
            .find("v.toml: tenant[0].name: missing; ") == 0);
}

TEST_CASE("tenants: name with capitals or too long -> refused with the allowed characters",
          "[config][tenants]") {
  CHECK(error_of(tenant("Web", 1)) ==
        "v.toml: tenant[0].name: 'Web' is not a tenant name; use 1..31 characters of a-z, 0-9, _ "
        "and -");
  CHECK(error_of(tenant(std::string(32, 'a'), 1))
            .find("tenant[0].name: '" + std::string(32, 'a') + "' is not") != std::string::npos);
  CHECK(error_of(tenant("", 1)).find("tenant[0].name: '' is not a tenant name") !=
        std::string::npos);
  CHECK(parse_with(tenant(std::string(31, 'a'), 1)).tenants[0].name.size() == 31);
}

TEST_CASE("tenants: a name used twice -> refused naming the first user", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1) + tenant("b", 2) + tenant("a", 3)) ==
        "v.toml: tenant[2].name: 'a' is used by tenant[0]; give each tenant its own name");
}

TEST_CASE("tenants: vni missing -> refused", "[config][tenants]") {
  CHECK(error_of(raw_tenant("name = \"a\"\naddresses = [\"10.1.0.0/24\"]\nmatch = { uids = [1] }"))
            .find("v.toml: tenant[0].vni: missing; ") == 0);
}

TEST_CASE("tenants: vni 0 or above 24 bits -> refused as not a VNI", "[config][tenants]") {
  CHECK(
      error_of(tenant("a", 1) + tenant("b", 0)) ==
      "v.toml: tenant[1].vni: 0 is not a VNI (1..16777215); use a VXLAN network id in that range");
  CHECK(error_of(tenant("a", 16777216)).find("tenant[0].vni: 16777216 is not a VNI") !=
        std::string::npos);
}

TEST_CASE("tenants: vni as a string -> refused naming both types", "[config][tenants]") {
  CHECK(error_of(raw_tenant("name = \"a\"\nvni = \"5\""))
            .find("tenant[0].vni: expected an integer, got a string") != std::string::npos);
}

TEST_CASE("tenants: a VNI used twice -> refused naming the first tenant", "[config][tenants]") {
  CHECK(error_of(tenant("a", 5) + tenant("b", 5, "", "uids = [9]")) ==
        "v.toml: tenant[1].vni: 5 is used by tenant[0] ('a'); give each tenant its own VNI");
}

TEST_CASE("tenants: addresses missing or empty -> refused", "[config][tenants]") {
  CHECK(error_of(raw_tenant("name = \"a\"\nvni = 1\nmatch = { uids = [1] }"))
            .find("v.toml: tenant[0].addresses: missing or empty; ") == 0);
  CHECK(error_of(raw_tenant("name = \"a\"\nvni = 1\naddresses = []\nmatch = { uids = [1] }"))
            .find("tenant[0].addresses: missing or empty") != std::string::npos);
}

TEST_CASE("tenants: addresses as a string or with a number -> refused naming the element",
          "[config][tenants]") {
  CHECK(
      error_of(raw_tenant("name = \"a\"\nvni = 1\naddresses = \"10.1.0.0/24\""))
          .find(
              "tenant[0].addresses: expected an array, got a string; write it as addresses = [") !=
      std::string::npos);
  CHECK(error_of(raw_tenant("name = \"a\"\nvni = 1\naddresses = [\"10.1.0.0/24\", 5]")) ==
        "v.toml: tenant[0].addresses[1]: expected a string, got an integer; put the value in "
        "double quotes");
}

TEST_CASE("tenants: a prefix length beyond 32 or missing -> refused as not an address block",
          "[config][tenants]") {
  CHECK(error_of(
            raw_tenant("name = \"a\"\nvni = 1\naddresses = [\"10.1.0.0/24\", \"10.0.0.5/33\"]")) ==
        "v.toml: tenant[0].addresses[1]: '10.0.0.5/33' is not an address block; write a.b.c.d/len "
        "with len "
        "in 1..32, e.g. 10.0.0.0/24, or 10.0.0.5/32 for one address");
  for (const char* bad :
       {"10.0.0.5", "10.0.0.5/", "10.0.0.0/0", "10.0.0.0/08", "10.0.0.0/24x", "10.0.0/24"}) {
    CAPTURE(bad);
    CHECK(error_of(raw_tenant(std::string("name = \"a\"\nvni = 1\naddresses = [\"") + bad + "\"]"))
              .find("tenant[0].addresses[0]: '" + std::string(bad) + "' is not an address block") !=
          std::string::npos);
  }
}

TEST_CASE("tenants: an address block with host bits set -> refused showing both readings",
          "[config][tenants]") {
  CHECK(error_of(raw_tenant("name = \"a\"\nvni = 1\naddresses = [\"10.0.0.5/24\"]")) ==
        "v.toml: tenant[0].addresses[0]: '10.0.0.5/24' has host bits set; write the block as "
        "10.0.0.0/24, "
        "or 10.0.0.5/32 for one address");
}

TEST_CASE("tenants: loopback, 0/8 and multicast blocks -> refused", "[config][tenants]") {
  for (const char* bad :
       {"127.0.0.1/32", "0.0.0.0/8", "224.0.0.0/4", "240.0.0.0/8", "64.0.0.0/2"}) {
    CAPTURE(bad);
    std::string e =
        error_of(raw_tenant(std::string("name = \"a\"\nvni = 1\naddresses = [\"") + bad + "\"]"));
    CHECK(e.find("tenant[0].addresses[0]: '" + std::string(bad) + "' overlaps ") !=
          std::string::npos);
  }
}

TEST_CASE("tenants: a tenant's own addresses overlapping -> refused naming both entries",
          "[config][tenants]") {
  CHECK(error_of(raw_tenant(
            "name = \"a\"\nvni = 1\naddresses = [\"10.0.0.0/24\", \"10.0.0.128/25\"]")) ==
        "v.toml: tenant[0].addresses[1]: '10.0.0.128/25' overlaps tenant[0].addresses[0]; list "
        "each address "
        "once, in one block");
}

TEST_CASE("tenants: cpu_weight outside 1..10000 -> refused", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "cpu_weight = 0\n")) ==
        "v.toml: tenant[0].cpu_weight: 0 is out of range; use a value in 1..10000");
  CHECK(error_of(tenant("a", 1, "cpu_weight = 10001\n")).find("tenant[0].cpu_weight: 10001") !=
        std::string::npos);
}

TEST_CASE("tenants: congestion_by_port -> the tenant's listening ports with their own algorithm",
          "[config][tenants]") {
  Config c = parse_with(tenant("a", 1, "congestion_by_port = { 9000 = \"dctcp\" }\n"));
  REQUIRE(c.tenants.size() == 1);
  CHECK(c.tenants[0].congestion_by_port.at(9000) == virtuoso::config::CongestionAlgo::kDctcp);
  CHECK_THAT(error_of(tenant("a", 1, "congestion_by_port = { 0 = \"dctcp\" }\n")),
             Catch::Contains("tenant[0].congestion_by_port.0: is not a port number"));
}

TEST_CASE("tenants: an unknown congestion_control -> refused with the choices", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "congestion_control = \"vegas\"\n")) ==
        "v.toml: tenant[0].congestion_control: 'vegas' is not a valid choice; use one of: none, reno, cubic, dctcp, timely");
}

TEST_CASE("tenants: limits out of range or above the host's flows -> refused",
          "[config][tenants]") {
  CHECK(error_of(tenant("a", 1) + "[tenant.limits]\nmax_flows = 20000\n") ==
        "v.toml: tenant[0].limits.max_flows: 20000 is out of range; use a value in 0..16384");
  CHECK(error_of(tenant("a", 1) + "[tenant.limits]\nmax_listen_ports = 65536\n")
            .find("tenant[0].limits.max_listen_ports: 65536 is out of range") != std::string::npos);
  CHECK(error_of(tenant("a", 1) + "[tenant.limits]\nmax_shm_mb = -1\n")
            .find("tenant[0].limits.max_shm_mb: -1 is out of range") != std::string::npos);
}

TEST_CASE("tenants: misspelt limit -> refused with a suggestion", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1) + "[tenant.limits]\nmax_flow = 2\n") ==
        "v.toml: tenant[0].limits.max_flow: unknown key; did you mean tenant[0].limits.max_flows?");
}

TEST_CASE("tenants: match missing -> refused", "[config][tenants]") {
  CHECK(error_of(raw_tenant(kBody)) ==
        "v.toml: tenant[0].match: missing; add a [tenant.match] table with uids, gids, cgroup or "
        "socket");
}

TEST_CASE("tenants: match with no rule -> refused", "[config][tenants]") {
  CHECK(error_of(raw_tenant(std::string(kBody) + "match = {}")) ==
        "v.toml: tenant[0].match: has no rule; set at least one of uids, gids, cgroup or socket");
}

TEST_CASE("tenants: misspelt match rule -> refused with a suggestion", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "", "uid = [5]")) ==
        "v.toml: tenant[0].match.uid: unknown key; did you mean tenant[0].match.uids?");
}

TEST_CASE("tenants: empty uid list -> refused", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "", "uids = []")) ==
        "v.toml: tenant[0].match.uids: is empty; list at least one id, or remove uids");
}

TEST_CASE("tenants: uid that is not an id -> refused naming the element", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "", "uids = [1, -1]")) ==
        "v.toml: tenant[0].match.uids[1]: -1 is out of range; use a value in 0..4294967294");
  CHECK(error_of(tenant("a", 1, "", "gids = [4294967295]"))
            .find("tenant[0].match.gids[0]: 4294967295 is out") != std::string::npos);
  CHECK(error_of(tenant("a", 1, "", "gids = [\"wheel\"]"))
            .find("tenant[0].match.gids[0]: expected an integer, got a string") !=
        std::string::npos);
  CHECK(error_of(tenant("a", 1, "", "uids = 5"))
            .find("tenant[0].match.uids: expected an array, got an integer") != std::string::npos);
}

TEST_CASE("tenants: a uid listed twice in one tenant -> refused", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "", "uids = [7, 7]")) ==
        "v.toml: tenant[0].match.uids[1]: 7 is listed twice; list it once");
}

TEST_CASE("tenants: one uid in two tenants -> refused naming both", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "", "uids = [5, 7]") + tenant("b", 2, "", "uids = [7]")) ==
        "v.toml: tenant[1].match.uids[0]: uid 7 is also in tenant[0].match.uids ('a'), so an app "
        "with it could be "
        "either tenant; give each uid to one tenant");
}

TEST_CASE("tenants: one gid in two tenants -> refused naming both", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "", "gids = [50]") + tenant("b", 2, "", "gids = [60, 50]")) ==
        "v.toml: tenant[1].match.gids[1]: gid 50 is also in tenant[0].match.gids ('a'), so an app "
        "with it could be "
        "either tenant; give each gid to one tenant");
}

TEST_CASE("tenants: a uid in one tenant and the same number as a gid in another -> accepted",
          "[config][tenants]") {
  CHECK(parse_with(tenant("a", 1, "", "uids = [7]") + tenant("b", 2, "", "gids = [7]"))
            .tenants.size() == 2);
}

TEST_CASE("tenants: cgroup not an absolute path below the root -> refused", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "", "cgroup = \"machine.slice\"")) ==
        "v.toml: tenant[0].match.cgroup: 'machine.slice' is not a cgroup path below the root; "
        "write it as in "
        "/proc/PID/cgroup, e.g. /machine.slice/web.scope, without a trailing /");
  for (const char* bad : {"/", "", "/a/", "/a//b", "/a/../b", "/./a"}) {
    CAPTURE(bad);
    CHECK(error_of(tenant("a", 1, "", std::string("cgroup = \"") + bad + "\""))
              .find("tenant[0].match.cgroup: '" + std::string(bad) + "' is not a cgroup path") !=
          std::string::npos);
  }
}

TEST_CASE("tenants: one cgroup in two tenants -> refused naming both", "[config][tenants]") {
  CHECK(
      error_of(tenant("a", 1, "", "cgroup = \"/x/y\"") + tenant("b", 2, "", "cgroup = \"/x/y\"")) ==
      "v.toml: tenant[1].match.cgroup: '/x/y' is also tenant[0]'s ('a'), so an app in it could be "
      "either "
      "tenant; give each tenant its own cgroup");
}

TEST_CASE("tenants: nested cgroups in two tenants -> accepted (the longer one wins)",
          "[config][tenants]") {
  CHECK(parse_with(tenant("a", 1, "", "cgroup = \"/x\"") + tenant("b", 2, "", "cgroup = \"/x/y\""))
            .tenants.size() == 2);
}

TEST_CASE("tenants: socket name with a slash -> refused", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "", "socket = \"../a\"")) ==
        "v.toml: tenant[0].match.socket: '../a' is not a socket name; use 1..31 characters of a-z, "
        "0-9, _ and -");
}

TEST_CASE("tenants: one socket in two tenants -> refused naming both", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "", "socket = \"s\"") + tenant("b", 2, "", "socket = \"s\"")) ==
        "v.toml: tenant[1].match.socket: 's' is used by tenant[0] ('a'); give each tenant its own "
        "socket");
}

TEST_CASE("tenants: socket path too long for a Unix socket -> refused", "[config][tenants]") {
  std::string dir = "/" + std::string(80, 'd');
  std::string e = error_in("run_dir = \"" + dir + "\"\n" + kMinimal +
                           tenant("a", 1, "", "socket = \"" + std::string(25, 's') + "\""));
  CHECK(e.find("tenant[0].match.socket: " + dir + "/tenants/") != std::string::npos);
  CHECK(e.find("is too long for a Unix socket path") != std::string::npos);
}

TEST_CASE("tenants: reach naming no tenant -> refused listing the names", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "reach = [\"b\", \"x\"]\n") + tenant("b", 2) + tenant("c", 3)) ==
        "v.toml: tenant[0].reach[1]: no tenant named 'x'; name one of: b, c");
  CHECK(error_of(tenant("a", 1, "reach = [\"x\"]\n"))
            .find("tenant[0].reach[0]: no tenant named 'x'; define") != std::string::npos);
}

TEST_CASE("tenants: reach naming the tenant itself -> refused", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "reach = [\"a\"]\n")) ==
        "v.toml: tenant[0].reach[0]: 'a' is this tenant itself; remove it: a tenant always reaches "
        "its own "
        "addresses");
}

TEST_CASE("tenants: reach naming a tenant twice -> refused", "[config][tenants]") {
  CHECK(error_of(tenant("a", 1, "reach = [\"b\", \"b\"]\n") + tenant("b", 2)) ==
        "v.toml: tenant[0].reach[1]: 'b' is listed twice; list it once");
}

TEST_CASE("tenants: the example file's commented tenant parses once uncommented", "[config][tenants]") {
  auto path = std::filesystem::path(__FILE__).parent_path() / "../../docs/virtuoso.example.toml";
  std::ifstream in(path);
  REQUIRE(in);
  // Uncomment the lines after "# [[tenant]]" that are TOML (a section or key = value), not prose.
  std::string text;
  std::string line;
  bool in_tenant = false;
  while (std::getline(in, line)) {
    in_tenant = in_tenant || line == "# [[tenant]]";
    bool toml_line = line.size() > 2 && (line[2] == '[' || line.find(" = ") != std::string::npos);
    text += (in_tenant && line.rfind("# ", 0) == 0 && toml_line ? line.substr(2) : line) + "\n";
  }
  REQUIRE(in_tenant);
  Config c = parse_config(text, "example");
  REQUIRE(c.tenants.size() == 1);
  CHECK(c.tenants[0].name == "web");
  CHECK(c.tenants[0].cpu_weight == virtuoso::config::TenantConfig{}.cpu_weight);
  CHECK(c.tenants[0].match.socket == "web");
}

TEST_CASE("tenants: [[tenant.remote]] entries are read as prefix -> tunnel endpoint", "[config][tenants]") {
  Config c = parse_with(tenant("a", 1) +
                        "[[tenant.remote]]\nprefix = \"10.1.0.0/24\"\nvtep = \"192.168.9.2\"\n"
                        "[[tenant.remote]]\nprefix = \"10.1.0.128/25\"\nvtep = \"192.168.9.3\"\n");
  REQUIRE(c.tenants.size() == 1);
  const auto& t = c.tenants[0];
  REQUIRE(t.remotes.size() == 2);
  CHECK(t.remotes[0].prefix.network == 0x0a010000);
  CHECK(t.remotes[0].prefix.len == 24);
  CHECK(t.remotes[0].vtep == 0xc0a80902);
  // The longest prefix holding an address wins; none: no entry.
  CHECK(virtuoso::config::tenant_remote_for(t, 0x0a010081)->vtep == 0xc0a80903);
  CHECK(virtuoso::config::tenant_remote_for(t, 0x0a010005)->vtep == 0xc0a80902);
  CHECK(virtuoso::config::tenant_remote_for(t, 0x0a020005) == nullptr);
  CHECK(virtuoso::config::tenant_default_ip(t) == 0x0a010001);
}

TEST_CASE("tenants: a remote entry without vtep, or with a bad one -> refused naming the field",
          "[config][tenants]") {
  CHECK(error_of(tenant("a", 1) + "[[tenant.remote]]\nprefix = \"10.1.0.0/24\"\n")
            .find("v.toml: tenant[0].remote[0].vtep: missing; ") == 0);
  CHECK(error_of(tenant("a", 1) + "[[tenant.remote]]\nprefix = \"10.1.0.0/24\"\nvtep = \"127.0.0.1\"\n")
            .find("v.toml: tenant[0].remote[0].vtep: '127.0.0.1' is not a unicast IPv4 address") == 0);
  CHECK(error_of(tenant("a", 1) + "[[tenant.remote]]\nprefix = \"10.1.0.0/24\"\nvtep = \"10.0.0.2\"\n"
                                  "[[tenant.remote]]\nprefix = \"10.1.0.0/24\"\nvtep = \"10.0.0.3\"\n")
            .find("v.toml: tenant[0].remote[1].prefix: '10.1.0.0/24' is also tenant[0].remote[0]") == 0);
}

TEST_CASE("budgets: defaults, and every key of [budgets] is read", "[config][budgets]") {
  Config d = parse_with(tenant("a", 1));
  CHECK(d.budgets.enforce);
  CHECK(d.budgets.period_us == 100);
  CHECK(d.budgets.burst_periods == 4);
  CHECK(d.budgets.backlog_frames == 256);
  CHECK(d.budgets.host_cpu_weight == 100);
  CHECK(d.budgets.slowpath_period_us == 1000);
  CHECK(d.budgets.ecn);
  Config c = parse_with("[budgets]\nenforce = false\nperiod_us = 250\nburst_periods = 8\nbacklog_frames = 64\n"
                        "host_cpu_weight = 7\nslowpath_period_us = 500\necn = false\n" + tenant("a", 1));
  CHECK(c.budgets.slowpath_period_us == 500);
  CHECK_FALSE(c.budgets.ecn);
  CHECK_FALSE(c.budgets.enforce);
  CHECK(c.budgets.period_us == 250);
  CHECK(c.budgets.burst_periods == 8);
  CHECK(c.budgets.backlog_frames == 64);
  CHECK(c.budgets.host_cpu_weight == 7);
}

TEST_CASE("budgets: bad values name their field", "[config][budgets]") {
  CHECK_THAT(error_of("[budgets]\nperiod_us = 5\n"), Catch::Contains("budgets.period_us"));
  CHECK_THAT(error_of("[budgets]\nenforce = 1\n"), Catch::Contains("budgets.enforce"));
  CHECK_THAT(error_of("[budgets]\nhost_cpu_weight = 0\n"), Catch::Contains("budgets.host_cpu_weight"));
  CHECK_THAT(error_of("[budgets]\nperiod = 100\n"), Catch::Contains("budgets.period"));
}

TEST_CASE("budgets: the backlogs must leave the port half its packet buffers", "[config][budgets]") {
  // 8191 buffers (the default), two accounts (host and one tenant): at most 2047 frames each.
  CHECK_THAT(error_in(std::string(kMinimal) + "[budgets]\nbacklog_frames = 4096\n" + tenant("a", 1)),
             Catch::Contains("budgets.backlog_frames") && Catch::Contains("fastpath.mbufs"));
  // Not given: as long as fits, at most 256.
  std::string many;
  for (int i = 1; i <= 100; ++i) many += tenant(fmt::format("t{}", i), i);
  CHECK(parse_with(many).budgets.backlog_frames == 8191 / 2 / 101);
}
