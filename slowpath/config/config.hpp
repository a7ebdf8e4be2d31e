// The daemon's configuration: one TOML file, parsed and range-checked into plain structs.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "congestion_algo.hpp"
#include "tenants.hpp"
#include "virtuoso/abi/fault_settings.hpp"

namespace virtuoso::config {

enum class HugepageMode { kAuto, kOn, kOff };

struct PortConfig {
  std::string devargs;  // DPDK virtual device devargs, e.g. "net_tap0,iface=vtap0,mac=02:00:00:00:00:01"
  std::string pci;      // or a PCI address given to EAL with -a (empty: none, and --no-pci is passed)
  bool operator==(const PortConfig&) const = default;
};

struct FastpathConfig {
  unsigned lcore = 1;                  // the dedicated lcore the loop runs on
  unsigned idle_backoff_us = 0;        // 0: pure busy poll; else sleep on a doorbell up to this long when idle
  HugepageMode hugepages = HugepageMode::kAuto;
  unsigned memory_mb = 512;            // EAL memory with --no-huge
  unsigned mbufs = 8191;               // mempool size
  unsigned delayed_ack_us = 200;       // longest wait for a reply to carry the ACK of one small segment
  bool operator==(const FastpathConfig&) const = default;
};

// [metrics]: the status counters in the Prometheus text format over HTTP, off unless `listen` is set.
struct MetricsConfig {
  bool enabled = false;
  uint32_t ip = 0;  // host byte order
  uint16_t port = 0;
  bool operator==(const MetricsConfig&) const = default;
};

// Time protection: per-tenant CPU-time budgets of the fast path (tenants' cpu_weight, and the host
// account's weight for the host's own apps and work no tenant caused). Plain mode never defers.
struct BudgetsConfig {
  bool enforce = true;            // false: charge and report only
  unsigned period_us = 100;       // refill period
  unsigned burst_periods = 4;     // a budget holds at most this many periods' share
  unsigned backlog_frames = 256;  // received frames parked per tenant while out of budget
  bool backlog_given = false;     // backlog_frames was in the file (else: 256, or less to fit mbufs)
  unsigned host_cpu_weight = 100;
  unsigned slowpath_period_us = 1000;  // the slow path's refill period (its work comes in larger pieces)
  bool ecn = true;  // a tenant short of budget sets ECE on its flows' ACKs, so ECN senders slow down
  bool operator==(const BudgetsConfig&) const = default;
};

struct NetworkConfig {
  uint32_t ip = 0;          // host byte order
  unsigned prefix_len = 24;
  uint32_t gateway = 0;     // 0: none (off-subnet peers unreachable)
  unsigned mtu = 1500;
  bool operator==(const NetworkConfig&) const = default;
};

struct TcpConfig {
  unsigned initial_rto_ms = 1000;  // RFC 6298 2.1
  unsigned min_rto_ms = 200;
  unsigned max_rto_ms = 60000;
  unsigned max_retries = 8;        // then the connection fails with ETIMEDOUT
  unsigned syn_retries = 6;
  unsigned time_wait_ms = 2000;
  unsigned keepalive_time_s = 7200;  // SO_KEEPALIVE without TCP_KEEPIDLE / INTVL / CNT
  unsigned keepalive_intvl_s = 75;
  unsigned keepalive_probes = 9;
  unsigned challenge_ack_limit = 1000;  // per second, whole stack (RFC 5961 10)
  unsigned rst_limit = 1000;  // resets for segments to no connection, per second (bursts of 50)
  bool timestamps = true;  // offer RFC 7323 timestamps
  bool sack = true;        // offer RFC 2018 selective acknowledgements
  bool ecn = true;         // request and accept RFC 3168 ECN
  bool syn_cookies = true; // RFC 4987: answer SYNs statelessly when a listener's half-open table is full
  bool pacing = true;      // spread a flow's segments at its rate (congestion window / round trip)
  CongestionAlgo congestion_control = CongestionAlgo::kCubic;  // per flow leaving the host
  CongestionByPort congestion_by_port;  // the host's listening ports with their own algorithm
  uint16_t ephemeral_lo = 32768;
  uint16_t ephemeral_hi = 60999;
  bool operator==(const TcpConfig&) const = default;
};

struct AppsConfig {
  unsigned max_contexts = 64;
  unsigned slots_per_context = 1024;  // power of two
  unsigned rx_buffer = 65536;         // bytes per flow, power of two
  unsigned tx_buffer = 65536;
  unsigned max_flows = 16384;         // flow table entries, all contexts together
  bool operator==(const AppsConfig&) const = default;
};

// The fault injector on the fast path's port (tests and loss benchmarks).
struct FaultsConfig {
  bool enabled = false;  // wrap the port; default: whether [faults.rx] or [faults.tx] sets a fault
  abi::FaultSettings settings = abi::kNoFaultSettings;
  bool operator==(const FaultsConfig&) const = default;
};

// Where virtuosod writes its own log lines and its children's: stderr (the journal under systemd
// takes it from there), a syslog socket (RFC 3164 datagrams), or journald's native socket.
enum class LogTarget { kStderr, kSyslog, kJournald };
inline constexpr const char* kDefaultSyslogSocket = "/dev/log";
inline constexpr const char* kDefaultJournaldSocket = "/run/systemd/journal/socket";

struct Config {
  std::string run_dir = "/run/virtuoso";
  std::string log_level = "info";
  LogTarget log_target = LogTarget::kStderr;
  std::string log_socket;  // the socket for syslog or journald; empty: the target's usual one
  PortConfig port;
  FastpathConfig fastpath;
  BudgetsConfig budgets;
  MetricsConfig metrics;
  NetworkConfig network;
  TcpConfig tcp;
  AppsConfig apps;
  FaultsConfig faults;
  std::vector<TenantConfig> tenants;  // [[tenant]] tables; empty: plain mode, no tenants
};

// Thrown for a missing, unreadable or malformed file; what() is one line naming the file, the
// field (e.g. "network.ip") and what is wrong with it, and how to fix it.
class ConfigError : public std::runtime_error {
 public:
  // Control characters the text quotes from the file (a key or value with a newline, the TOML
  // parser's excerpt) are escaped, so the error stays one line.
  explicit ConfigError(const std::string& what) : std::runtime_error(one_line(what)) {}

 private:
  static std::string one_line(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (c == '\n') {
        out += "\\n";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20 || c == 0x7f) {
        static constexpr char kHex[] = "0123456789abcdef";
        out += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
      } else {
        out += char(c);
      }
    }
    return out;
  }
};

Config load_config(const std::string& path);
// The file's text; ConfigError naming the file if it cannot be opened or read.
std::string read_config_file(const std::string& path);
Config parse_config(const std::string& toml_text, const std::string& source_name);

}  // namespace virtuoso::config
