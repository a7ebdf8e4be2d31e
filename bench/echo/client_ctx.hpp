// What echo-client connections share within one thread: settings, clock, scratch, results, errors.
#pragma once
#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "client_config.hpp"
#include "common/histogram.hpp"

namespace virtuoso::bench {

enum class ErrorKind { kConnect, kVerify, kEof, kIo, kStall };

struct ErrorCounts {
  uint64_t connect = 0, verify = 0, eof = 0, io = 0, stall = 0;
  uint64_t total() const { return connect + verify + eof + io + stall; }
  void add(ErrorKind k) {
    switch (k) {
      case ErrorKind::kConnect: connect++; break;
      case ErrorKind::kVerify: verify++; break;
      case ErrorKind::kEof: eof++; break;
      case ErrorKind::kIo: io++; break;
      case ErrorKind::kStall: stall++; break;
    }
  }
  void merge(const ErrorCounts& o) {
    connect += o.connect, verify += o.verify, eof += o.eof, io += o.io, stall += o.stall;
  }
};

// Read once a second by the main thread for the progress line; written only by the owning thread.
struct alignas(64) LiveCounters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> bytes{0};  // echoed bytes received (one-way bulk: bytes sent)
  std::atomic<uint64_t> errors{0};
  void bump(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

struct BulkStream {
  uint32_t connection = 0;
  uint64_t bytes = 0;  // echoed and verified; one-way: sent (all delivered once complete)
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t tx_checksum = 0;
  uint64_t rx_checksum = 0;  // 0 for one-way streams, which receive nothing
  bool complete = false;
};

struct ThreadResult {
  LogHistogram latency_ns;
  uint64_t requests = 0;  // measured round trips
  uint64_t last_completion_ns = 0;
  ErrorCounts errors;
  std::vector<BulkStream> streams;
};

struct RunCtx {
  static constexpr size_t kScratch = 256 * 1024;
  static constexpr unsigned kMaxMessages = 10;  // per thread: the first errors are the telling ones
  static constexpr uint64_t kStallNs = 10'000'000'000ull;

  RunCtx(const ClientConfig& c, const Timeline& t, const std::atomic<bool>& s, ThreadResult& r,
         LiveCounters& l)
      : cfg(c), tl(t), stop(s), result(r), live(l), rx(kScratch), check(kScratch) {}

  // No new requests once the run is interrupted or, in duration mode, once `t` passes the end.
  bool stopping(uint64_t t) const { return stop.load(std::memory_order_relaxed) || t >= tl.measure_end; }

  void error(ErrorKind kind, uint32_t conn, const std::string& what) {
    result.errors.add(kind);
    live.bump(live.errors, 1);
    if (messages++ < kMaxMessages)
      std::fprintf(stderr, "echo-client: connection %u: %s\n", conn, what.c_str());
  }

  // Registers or re-registers `fd` for `events`, tagged with the connection's slot index.
  bool watch(int op, int fd, uint32_t events, uint32_t slot) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u32 = slot;
    return epoll_ctl(epfd, op, fd, &ev) == 0;
  }

  const ClientConfig& cfg;
  const Timeline& tl;
  const std::atomic<bool>& stop;
  ThreadResult& result;
  LiveCounters& live;
  std::vector<uint8_t> rx;     // receive buffer
  std::vector<uint8_t> check;  // expected bytes for verification
  int epfd = -1;
  uint64_t now = 0;
  uint32_t finished = 0;  // connections of this thread that are done (or failed)
  unsigned messages = 0;
};

}  // namespace virtuoso::bench
