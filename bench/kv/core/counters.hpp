// Per-worker request counters (one writer each) and the server facts that `stats` reports.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace virtuoso::kv {

class Store;

// Written only by the owning worker, read by whichever worker answers `stats`: relaxed atomics
// make the cross-thread read well defined without a locked increment on the hot path.
class Counter {
 public:
  void add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

struct WorkerCounters {
  Counter cmd_get;  // keys looked up, as memcached counts them
  Counter get_hits;
  Counter get_misses;
  Counter cmd_set;
  Counter delete_hits;
  Counter delete_misses;
  Counter cmd_flush;
  Counter conns_opened;
  Counter conns_closed;
  Counter bytes_read;
  Counter bytes_written;
  Counter protocol_errors;  // requests answered ERROR / CLIENT_ERROR
  Counter out_of_memory;    // stores refused with SERVER_ERROR
};

struct ServerInfo {
  std::string_view version;
  int64_t pid = 0;
  int64_t start_time = 0;  // Unix seconds
  uint32_t threads = 1;
  std::vector<const WorkerCounters*> workers;
  const Store* store = nullptr;
};

// Appends the body of a `stats` reply ("STAT name value\r\n"... "END\r\n").
void append_stats(const ServerInfo& info, int64_t now, std::string& out);

}  // namespace virtuoso::kv
