// One echo-client thread: its own epoll set and the connections given to it, run to completion.
#pragma once
#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <vector>

#include "client_config.hpp"
#include "client_ctx.hpp"

namespace virtuoso::bench {

class ClientThread {
 public:
  ClientThread(const ClientConfig& cfg, const Timeline& tl, const std::atomic<bool>& stop,
               const sockaddr_in& server, std::vector<uint32_t> conn_ids);
  ~ClientThread();
  ClientThread(const ClientThread&) = delete;
  ClientThread& operator=(const ClientThread&) = delete;

  // Thread body: connect (where the mode connects up front), count down `ready`, wait for `go`
  // (the timeline is set by then), run every connection to completion.
  void run(std::latch& ready, std::latch& go);

  const ThreadResult& result() const { return result_; }
  LiveCounters& live() { return live_; }
  bool done() const { return done_.load(std::memory_order_acquire); }

 private:
  template <class Conn>
  void run_conns(std::vector<Conn>& conns, bool connect_first, std::latch& ready, std::latch& go);
  template <class Conn>
  void drive(std::vector<Conn>& conns);

  const ClientConfig& cfg_;
  sockaddr_in server_;
  std::vector<uint32_t> conn_ids_;
  ThreadResult result_;
  LiveCounters live_;
  RunCtx ctx_;
  std::atomic<bool> done_{false};
};

}  // namespace virtuoso::bench
