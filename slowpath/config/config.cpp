// Reads the daemon's TOML file into Config: one reader per section, each value range-checked where
// it is read, then the checks that involve several fields.
#include "config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "congestion_ports.hpp"
#include "faults.hpp"
#include "ipv4.hpp"
#include "table_reader.hpp"
#include "tenant_reader.hpp"

namespace virtuoso::config {
namespace {

constexpr std::string_view kLongestSocketName = "/app.sock";
// One context's region: slots * (rx + tx) bytes. Beyond this an app's memfd gets absurd.
constexpr uint64_t kMaxContextBytes = uint64_t{4} << 30;

bool valid_pci_address(std::string_view s) {
  // [DDDD:]BB:DD.F in hex, the forms EAL's -a accepts.
  auto hex = [&](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i) {
      if (!std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
  };
  if (s.size() == 12) {
    if (!hex(0, 4) || s[4] != ':') return false;
    s.remove_prefix(5);
  }
  return s.size() == 7 && hex(0, 2) && s[2] == ':' && hex(3, 2) && s[5] == '.' && s[6] >= '0' &&
         s[6] <= '7';
}

void read_port(TableReader r, PortConfig& port) {
  r.string("devargs", port.devargs);
  r.string("pci", port.pci);
  r.reject_unknown();
}

void check_port(const std::string& src, const PortConfig& port) {
  if (port.devargs.empty() && port.pci.empty()) {
    config_fail(src, "port", "no port given",
                "set port.devargs (e.g. \"net_tap0,iface=vtap0\") or port.pci (e.g. \"0000:01:00.0\")");
  }
  if (!port.devargs.empty() && !port.pci.empty()) {
    config_fail(src, "port", "both port.devargs and port.pci are set", "keep only one of them");
  }
  if (port.devargs.find_first_of(" \t\r\n") != std::string::npos) {
    config_fail(src, "port.devargs", fmt::format("'{}' contains whitespace", port.devargs),
                "write it as driver0,key=value,... without spaces");
  }
  if (!port.pci.empty() && !valid_pci_address(port.pci)) {
    config_fail(src, "port.pci", fmt::format("'{}' is not a PCI address", port.pci),
                "write it as DDDD:BB:DD.F, e.g. 0000:01:00.0");
  }
}

void read_fastpath(TableReader r, FastpathConfig& fp) {
  r.integer("lcore", fp.lcore, 0, 127);
  r.integer("idle_backoff_us", fp.idle_backoff_us, 0, 100'000);
  r.integer("delayed_ack_us", fp.delayed_ack_us, 0, 500'000);  // RFC 1122 4.2.3.2: at most 0.5 s
  int mode = r.choice("hugepages", {"auto", "on", "off"});
  if (mode >= 0) fp.hugepages = static_cast<HugepageMode>(mode);
  r.integer("memory_mb", fp.memory_mb, 64, 65536);
  r.integer("mbufs", fp.mbufs, 1023, (1 << 20) - 1);
  r.reject_unknown();
}

void read_metrics(TableReader r, MetricsConfig& m) {
  std::string listen;
  r.string("listen", listen);
  r.reject_unknown();
  if (listen.empty()) return;
  size_t colon = listen.rfind(':');
  std::optional<uint32_t> ip = colon == std::string::npos ? std::nullopt : parse_ipv4(listen.substr(0, colon));
  unsigned long port = 0;
  if (ip && colon + 1 < listen.size() && listen.find_first_not_of("0123456789", colon + 1) == std::string::npos)
    port = std::stoul(listen.substr(colon + 1, 6));
  if (!ip || port == 0 || port > 65535) {
    r.fail("listen", fmt::format("'{}' is not an IPv4 address and port", listen),
           "write \"127.0.0.1:9108\" (keep it on loopback unless the network is trusted)");
  }
  m.enabled = true;
  m.ip = *ip;
  m.port = uint16_t(port);
}

void read_budgets(TableReader r, BudgetsConfig& b) {
  r.boolean("enforce", b.enforce);
  r.integer("period_us", b.period_us, 10, 100'000);
  r.integer("burst_periods", b.burst_periods, 1, 1000);
  b.backlog_given = r.has("backlog_frames");
  r.integer("backlog_frames", b.backlog_frames, 0, 65536);
  r.integer("host_cpu_weight", b.host_cpu_weight, 1, 10000);
  r.integer("slowpath_period_us", b.slowpath_period_us, 100, 1'000'000);
  r.boolean("ecn", b.ecn);
  r.reject_unknown();
}

// Parked frames hold packet buffers: the backlogs of the host and every tenant together stay
// within half the pool, so that a flood parked for one tenant never leaves the port without any.
// Unless given, a backlog is as long as that allows, at most 256 frames.
void check_backlogs(const std::string& src, Config& cfg) {
  uint64_t accounts = cfg.tenants.size() + 1;
  uint64_t most = cfg.fastpath.mbufs / 2 / accounts;
  if (!cfg.budgets.backlog_given) cfg.budgets.backlog_frames = unsigned(std::min<uint64_t>(256, most));
  if (cfg.budgets.backlog_frames > most) {
    config_fail(src, "budgets.backlog_frames",
                fmt::format("{} frames for each of {} accounts (host and tenants) is more than half of "
                            "fastpath.mbufs ({})", cfg.budgets.backlog_frames, accounts, cfg.fastpath.mbufs),
                fmt::format("keep it at most {}, or raise fastpath.mbufs", most));
  }
}

uint32_t read_ip(TableReader& r, std::string_view key) {
  std::string text;
  r.string(key, text);
  auto ip = parse_ipv4(text);
  if (!ip) r.fail(key, fmt::format("'{}' is not an IPv4 address", text), "write it as a.b.c.d");
  return *ip;
}

void read_network(TableReader r, NetworkConfig& net) {
  bool has_ip = r.has("ip");
  if (has_ip) net.ip = read_ip(r, "ip");
  r.integer("prefix_len", net.prefix_len, 1, 32);
  if (r.has("gateway")) net.gateway = read_ip(r, "gateway");
  r.integer("mtu", net.mtu, 576, 9000);
  r.reject_unknown();
  if (!has_ip) {
    r.fail("ip", "missing", "add ip = \"a.b.c.d\" (the stack's own address) under [network]");
  }

  uint32_t mask = prefix_mask(net.prefix_len);
  std::string ip = format_ipv4(net.ip);
  bool special = net.ip == 0 || (net.ip >> 28) >= 0xe || (net.ip >> 24) == 127;
  bool net_or_bcast = net.prefix_len <= 30 && ((net.ip & ~mask) == 0 || (net.ip | mask) == ~0u);
  if (special || net_or_bcast) {
    r.fail("ip", fmt::format("{}/{} cannot be a host address", ip, net.prefix_len),
           "use a unicast address that is neither the subnet's network nor its broadcast address");
  }
  if (net.gateway != 0 && (net.gateway == net.ip || (net.gateway & mask) != (net.ip & mask))) {
    r.fail("gateway",
           fmt::format("{} is not another host in {}/{}", format_ipv4(net.gateway),
                       format_ipv4(net.ip & mask), net.prefix_len),
           "use a router on the subnet, or change network.prefix_len");
  }
}

void read_tcp(TableReader r, TcpConfig& tcp, const std::string& source) {
  read_congestion_by_port(r, "congestion_by_port", source, tcp.congestion_by_port);
  r.integer("initial_rto_ms", tcp.initial_rto_ms, 1, 600'000);
  r.integer("min_rto_ms", tcp.min_rto_ms, 1, 600'000);
  r.integer("max_rto_ms", tcp.max_rto_ms, 1, 600'000);
  r.integer("max_retries", tcp.max_retries, 1, 30);
  r.integer("syn_retries", tcp.syn_retries, 1, 30);
  r.integer("time_wait_ms", tcp.time_wait_ms, 0, 600'000);
  r.integer("keepalive_time_s", tcp.keepalive_time_s, 1, 32767);  // Linux's TCP_KEEPIDLE bounds
  r.integer("keepalive_intvl_s", tcp.keepalive_intvl_s, 1, 32767);
  r.integer("keepalive_probes", tcp.keepalive_probes, 1, 127);
  r.integer("challenge_ack_limit", tcp.challenge_ack_limit, 1, 1'000'000);
  r.integer("rst_limit", tcp.rst_limit, 1, 1'000'000);
  r.boolean("timestamps", tcp.timestamps);
  r.boolean("sack", tcp.sack);
  r.boolean("syn_cookies", tcp.syn_cookies);
  r.boolean("pacing", tcp.pacing);
  r.boolean("ecn", tcp.ecn);
  if (int algo = r.choice("congestion_control", congestion_algo_names()); algo >= 0)
    tcp.congestion_control = CongestionAlgo(algo);
  int64_t lo = 0;
  int64_t hi = 0;
  if (r.integer_pair("ephemeral_ports", 1024, 65535, lo, hi)) {
    if (lo >= hi) {
      r.fail("ephemeral_ports", fmt::format("[{}, {}] is empty", lo, hi),
             "write [low, high] with low < high");
    }
    tcp.ephemeral_lo = static_cast<uint16_t>(lo);
    tcp.ephemeral_hi = static_cast<uint16_t>(hi);
  }
  r.reject_unknown();
  if (tcp.min_rto_ms > tcp.initial_rto_ms || tcp.initial_rto_ms > tcp.max_rto_ms) {
    r.fail("initial_rto_ms",
           fmt::format("min_rto_ms {} <= initial_rto_ms {} <= max_rto_ms {} does not hold",
                       tcp.min_rto_ms, tcp.initial_rto_ms, tcp.max_rto_ms),
           "order the three values min <= initial <= max");
  }
}

void read_apps(TableReader r, AppsConfig& apps) {
  r.integer("max_contexts", apps.max_contexts, 1, 4096);
  r.power_of_two("slots_per_context", apps.slots_per_context, 16, 65536);
  r.power_of_two("rx_buffer", apps.rx_buffer, 4096, 1 << 24);
  r.power_of_two("tx_buffer", apps.tx_buffer, 4096, 1 << 24);
  r.integer("max_flows", apps.max_flows, 1, 1 << 20);
  r.reject_unknown();
  uint64_t bytes = uint64_t{apps.slots_per_context} * (uint64_t{apps.rx_buffer} + apps.tx_buffer);
  if (bytes > kMaxContextBytes) {
    r.fail("slots_per_context",
           fmt::format("{} slots of {} + {} bytes make {} MiB per app", apps.slots_per_context,
                       apps.rx_buffer, apps.tx_buffer, bytes >> 20),
           "keep slots_per_context * (rx_buffer + tx_buffer) at most 4096 MiB");
  }
}

void read_top(TableReader& r, Config& cfg) {
  r.string("run_dir", cfg.run_dir);
  if (cfg.run_dir.empty() || cfg.run_dir.front() != '/') {
    r.fail("run_dir", fmt::format("'{}' is not an absolute path", cfg.run_dir),
           "write it as /path/to/dir, e.g. /run/virtuoso");
  }
  if (cfg.run_dir.size() + kLongestSocketName.size() > kMaxUnixSocketPath) {
    r.fail("run_dir", fmt::format("'{}' is too long for a Unix socket path", cfg.run_dir),
           fmt::format("use a directory path of at most {} characters",
                       kMaxUnixSocketPath - kLongestSocketName.size()));
  }
  static const std::vector<std::string_view> kLevels = {"trace", "debug", "info", "warn",
                                                         "error", "critical", "off"};
  int level = r.choice("log_level", kLevels);
  if (level >= 0) cfg.log_level = kLevels[static_cast<size_t>(level)];
  static const std::vector<std::string_view> kTargets = {"stderr", "syslog", "journald"};
  int target = r.choice("log_target", kTargets);
  if (target >= 0) cfg.log_target = static_cast<LogTarget>(target);
  r.string("log_socket", cfg.log_socket);
  if (!cfg.log_socket.empty() && cfg.log_target == LogTarget::kStderr) {
    r.fail("log_socket", "is set but log_target is \"stderr\"",
           "set log_target = \"syslog\" or \"journald\", or remove log_socket");
  }
  if (!cfg.log_socket.empty() && (cfg.log_socket.front() != '/' || cfg.log_socket.size() > kMaxUnixSocketPath)) {
    r.fail("log_socket", fmt::format("'{}' is not an absolute Unix socket path", cfg.log_socket),
           fmt::format("write an absolute path of at most {} characters, e.g. {}", kMaxUnixSocketPath,
                       kDefaultSyslogSocket));
  }
}

}  // namespace

Config parse_config(const std::string& toml_text, const std::string& source_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}: line {}: {}; fix the TOML syntax there", source_name,
                                  e.source().begin.line, e.description()));
  }
  Config cfg;
  TableReader top(&root, "", source_name);
  // Sections first, so that a misspelt section name is reported as such rather than as the
  // missing required field it was meant to hold.
  const toml::table* port = top.table("port");
  const toml::table* fastpath = top.table("fastpath");
  const toml::table* network = top.table("network");
  const toml::table* tcp = top.table("tcp");
  const toml::table* apps = top.table("apps");
  const toml::table* faults = top.table("faults");
  const toml::table* budgets = top.table("budgets");
  const toml::table* metrics = top.table("metrics");
  const toml::array* tenants = top.array("tenant", "write each tenant as a [[tenant]] section");
  read_top(top, cfg);
  top.reject_unknown();
  read_port(TableReader(port, "port", source_name), cfg.port);
  read_fastpath(TableReader(fastpath, "fastpath", source_name), cfg.fastpath);
  read_network(TableReader(network, "network", source_name), cfg.network);
  read_tcp(TableReader(tcp, "tcp", source_name), cfg.tcp, source_name);
  read_apps(TableReader(apps, "apps", source_name), cfg.apps);
  read_faults(TableReader(faults, "faults", source_name), cfg.faults, source_name);
  read_budgets(TableReader(budgets, "budgets", source_name), cfg.budgets);
  read_metrics(TableReader(metrics, "metrics", source_name), cfg.metrics);
  check_port(source_name, cfg.port);
  read_tenants(tenants, cfg, source_name);
  check_backlogs(source_name, cfg);
  return cfg;
}

std::string read_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(fmt::format("{}: cannot open: {}; check the path given to --config", path,
                                  std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw ConfigError(fmt::format("{}: cannot read: {}; check the file", path, std::strerror(errno)));
  }
  return text.str();
}

Config load_config(const std::string& path) { return parse_config(read_config_file(path), path); }

}  // namespace virtuoso::config
