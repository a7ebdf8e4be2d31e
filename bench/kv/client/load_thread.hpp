// One kv-client thread: connects its share of connections, preloads, then drives the load.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "kv/client/kv_conn.hpp"
#include "kv/client/run_state.hpp"

namespace virtuoso::kv {

class LoadThread {
 public:
  // Connections [first, first + count) of the run's opt.connections.
  LoadThread(ThreadCtx& ctx, uint32_t first, uint32_t count)
      : ctx_(ctx), first_(first), count_(count) {}
  ~LoadThread();

  // `wait_for_start` returns once every thread has connected (and preloaded) and the timeline
  // is set; it must be called exactly once whatever happens before it.
  void run(const std::function<void()>& wait_for_start);

  static constexpr uint64_t kStallNs = 10'000'000'000ull;     // no reply for this long: give up
  static constexpr uint64_t kStopGraceNs = 2'000'000'000ull;  // after an interrupt, drain this long

 private:
  void connect_all();
  void preload();
  void drive();
  // Serves events until `done` holds; false if interrupted or nothing is left to wait for.
  template <typename Done>
  void loop(Done done);
  int timeout_ms() const;
  void pump_due();
  void check_stalls();

  ThreadCtx& ctx_;
  uint32_t first_;
  uint32_t count_;
  std::vector<std::unique_ptr<KvConn>> conns_;
  uint64_t min_due_ = UINT64_MAX;  // open loop: earliest next_due over connections
};

}  // namespace virtuoso::kv
