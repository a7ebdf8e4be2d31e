// kv-client settings after parsing and the run's timeline shared by all client threads.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace virtuoso::kv {

enum class KeyDist : uint8_t { kUniform, kZipf };

struct ClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 11211;
  uint32_t connections = 1;
  uint32_t threads = 1;
  uint32_t size = 100;      // value bytes
  uint32_t key_size = 16;   // key bytes
  uint64_t keys = 100'000;  // key space
  double get_ratio = 0.9;
  KeyDist dist = KeyDist::kUniform;
  double zipf_s = 0.99;
  uint32_t pipeline = 1;  // requests in flight per connection (closed loop)
  double duration_s = 10;
  double warmup_s = 0;
  double rate = 0;        // requests/s over all connections; 0: closed loop
  uint64_t requests = 0;  // measured requests per connection; 0: run for duration_s
  bool verify = false;
  bool preload = false;
  bool quiet = false;
  uint64_t seed = 1;
  std::string json_path;

  bool open_loop() const { return rate > 0; }
};

// Absolute monotonic times (ns). Requests sent (open loop: scheduled) in
// [measure_start, measure_end) are measured; earlier ones are warm-up.
struct Timeline {
  uint64_t measure_start = 0;
  uint64_t measure_end = std::numeric_limits<uint64_t>::max();
};

// Returns -1 to go on, else the exit code: 0 after --help, non-zero after a bad option (a
// one-line message naming the option has been printed).
int parse_client_options(int argc, char** argv, ClientOptions& opt);

}  // namespace virtuoso::kv
