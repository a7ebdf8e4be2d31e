// echo-client settings after parsing, and the run's timeline shared by all client threads.
#pragma once
#include <cstdint>
#include <limits>
#include <string>

namespace virtuoso::bench {

enum class ClientMode { kClosedLoop, kOpenLoop, kConnectPerRequest, kBulk, kBulkOneWay };

// Both bulk modes run each connection to a byte count and report per-stream throughput.
constexpr bool is_bulk(ClientMode m) { return m == ClientMode::kBulk || m == ClientMode::kBulkOneWay; }

struct ClientConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 7007;
  uint32_t connections = 1;
  uint32_t threads = 1;
  uint32_t size = 64;       // bytes per request
  uint32_t pipeline = 1;    // requests in flight per connection (closed loop)
  double duration_s = 10;
  double warmup_s = 0;
  double rate = 0;          // requests/s over all connections; 0: closed loop
  uint64_t requests = 0;    // per connection; 0: run for duration_s
  bool connect_per_request = false;
  bool verify = false;
  uint64_t bulk_bytes = 0;  // per connection; 0: request/response modes
  bool one_way = false;     // send to a sink server, no echo: bulk_bytes, or 0 for duration_s
  bool quiet = false;
  std::string json_path;

  ClientMode mode() const {
    if (one_way) return ClientMode::kBulkOneWay;
    if (bulk_bytes) return ClientMode::kBulk;
    if (connect_per_request) return ClientMode::kConnectPerRequest;
    return rate > 0 ? ClientMode::kOpenLoop : ClientMode::kClosedLoop;
  }
};

const char* mode_name(ClientMode m);

// Absolute times (monotonic ns) every thread works against. Requests issued (or, in open loop,
// scheduled) in [measure_start, measure_end) are the ones counted; earlier ones are warm-up.
struct Timeline {
  uint64_t t0 = 0;
  uint64_t measure_start = 0;
  uint64_t measure_end = std::numeric_limits<uint64_t>::max();
};

// Parses argv into `cfg`. Returns -1 to go on, or the exit code (0 after --help, non-zero on a bad
// flag, with a message naming the flag already printed).
int parse_client_args(int argc, char** argv, ClientConfig& cfg);

}  // namespace virtuoso::bench
