// What kv-client connections share: the workload (read-only), per-thread results and live counters.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/histogram.hpp"
#include "kv/client/client_options.hpp"
#include "kv/core/keyspace.hpp"
#include "kv/core/zipf.hpp"

namespace virtuoso::kv {

// Per key, for --verify: has this client sent a set, and has one been acknowledged?
enum class KeyState : uint8_t { kUnset = 0, kSetSent = 1, kStored = 2 };

// Shared by every thread; only `key_state` changes during the run.
struct Workload {
  explicit Workload(const ClientOptions& o) : opt(o), keys(o.keys, o.key_size), values(o.size) {
    if (o.dist == KeyDist::kZipf) zipf.emplace(o.keys, o.zipf_s);
    if (o.verify) key_state = std::make_unique<std::atomic<uint8_t>[]>(o.keys);
  }

  const ClientOptions& opt;
  KeySpace keys;
  ValuePattern values;
  std::optional<ZipfGenerator> zipf;
  std::unique_ptr<std::atomic<uint8_t>[]> key_state;  // only with --verify
};

struct ErrorCounts {
  uint64_t connect = 0;   // could not connect
  uint64_t server = 0;    // ERROR / CLIENT_ERROR / SERVER_ERROR / NOT_STORED replies
  uint64_t protocol = 0;  // a reply this client cannot parse or did not ask for
  uint64_t io = 0;        // socket errors and unexpected EOF
  uint64_t stall = 0;     // replies still missing when the run ended
  uint64_t verify = 0;    // wrong value, wrong flags, or a miss after an acknowledged set
  uint64_t total() const { return connect + server + protocol + io + stall + verify; }
  void merge(const ErrorCounts& o) {
    connect += o.connect, server += o.server, protocol += o.protocol;
    io += o.io, stall += o.stall, verify += o.verify;
  }
};

// Measured results of one thread; merged by main at the end.
struct ThreadResult {
  bench::LogHistogram latency_ns;
  uint64_t gets = 0, hits = 0, sets = 0;
  uint64_t bytes = 0;  // sent plus received while measuring
  uint64_t last_completion_ns = 0;
  ErrorCounts errors;
  uint64_t requests() const { return gets + sets; }
};

// Read once a second by main for the progress line; written only by the owning thread.
struct alignas(64) LiveCounters {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> gets{0};
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> errors{0};
  static void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

// One thread's view: shared settings plus its own results, epoll set and clock.
struct ThreadCtx {
  static constexpr unsigned kMaxMessages = 10;  // per thread: the first errors are the telling ones

  ThreadCtx(const Workload& w, const Timeline& t, const std::atomic<bool>& s, ThreadResult& r,
            LiveCounters& l)
      : work(w), opt(w.opt), tl(t), stop(s), result(r), live(l) {}

  bool measuring(uint64_t t) const { return t >= tl.measure_start && t < tl.measure_end; }

  void report(uint32_t conn, const std::string& what) {
    LiveCounters::bump(live.errors);
    if (messages++ < kMaxMessages) {
      std::fprintf(stderr, "kv-client: connection %u: %s\n", conn, what.c_str());
    }
  }

  bool watch(int op, int fd, uint32_t events, uint32_t slot) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u32 = slot;
    return epoll_ctl(epfd, op, fd, &ev) == 0;
  }

  const Workload& work;
  const ClientOptions& opt;
  const Timeline& tl;
  const std::atomic<bool>& stop;
  ThreadResult& result;
  LiveCounters& live;
  int epfd = -1;
  uint64_t now = 0;
  unsigned messages = 0;
};

}  // namespace virtuoso::kv
