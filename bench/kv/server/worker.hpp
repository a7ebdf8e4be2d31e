// One kv-server worker thread: its own epoll set, the shared listening socket, its connections.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "kv/core/counters.hpp"
#include "kv/core/executor.hpp"
#include "kv/server/connection.hpp"

namespace virtuoso::kv {

class Worker {
 public:
  // Throws std::system_error if the epoll set cannot be made.
  Worker(int listen_fd, Store& store, const ServerInfo& info, WorkerCounters& counters);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Serves until `stop` becomes true (checked at least every kStopCheckMs).
  void run(const std::atomic<bool>& stop);

  static constexpr int kStopCheckMs = 100;

 private:
  struct Slot {
    std::unique_ptr<Connection> conn;
    Interest registered;  // what epoll watches now, to skip redundant epoll_ctl calls
  };

  void accept_one();
  void serve(int fd, uint32_t events, int64_t now_unix);
  void apply(int fd, Slot& slot, Interest interest);

  int listen_fd_;
  int epoll_fd_;
  WorkerCounters& counters_;
  Executor executor_;
  // Keyed by fd, not by pointer: an event for a connection closed earlier in the same batch
  // then finds nothing (or a new connection, which a spurious wake-up does not harm).
  std::unordered_map<int, Slot> conns_;
};

}  // namespace virtuoso::kv
