// One echo-server thread: its own epoll set, the shared listening socket, the connections it accepted.
#pragma once
#include <netinet/in.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "one_way.hpp"

namespace virtuoso::bench {

struct EchoWorkerOptions {
  uint64_t work_ns = 0;       // busy work per request
  uint64_t request_size = 0;  // bytes that make one request for work accounting; 0: each read
  size_t buffer_bytes = 64 * 1024;
  bool sink = false;            // read and discard, never write (one-way bulk)
  bool verify_pattern = false;  // sink only: check each connection against the one-way pattern
};

struct EchoWorkerStats {
  uint64_t accepted = 0;
  uint64_t bytes = 0;   // echoed, or received in sink mode
  uint64_t resets = 0;  // connections that ended in an error rather than an orderly close
  uint64_t mismatched_bytes = 0;  // --verify-pattern: received bytes that differ from the pattern
  uint64_t mismatched_conns = 0;  // --verify-pattern: connections with at least one such byte
};

class EchoWorker {
 public:
  EchoWorker(int listen_fd, const EchoWorkerOptions& opts, const std::atomic<bool>& stop);
  ~EchoWorker();
  EchoWorker(const EchoWorker&) = delete;
  EchoWorker& operator=(const EchoWorker&) = delete;

  // Creates the epoll set and registers the listening socket; false with `err` set on failure.
  bool init(std::string& err);
  // Serves until the stop flag is set; then closes every connection it owns.
  void run();
  const EchoWorkerStats& stats() const { return stats_; }

 private:
  struct Conn {
    int fd = -1;
    sockaddr_in peer{};
    std::vector<uint8_t> buf;
    size_t head = 0;  // next byte to send back
    size_t tail = 0;  // end of received bytes
    bool peer_closed = false;
    uint32_t interest = 0;
    uint64_t work_carry = 0;
    OneWayVerifier pattern;  // sink with --verify-pattern only
  };

  void accept_ready();
  void on_conn_event(Conn& c, uint32_t events);
  // Each returns false when the connection failed and must be closed.
  bool read_some(Conn& c);
  bool write_some(Conn& c);
  bool sink_some(Conn& c);
  bool update_interest(Conn& c);
  void do_work(Conn& c, size_t bytes);
  void close_conn(Conn& c, bool reset);
  void report_pattern(const Conn& c);

  int listen_fd_;
  int epfd_ = -1;
  EchoWorkerOptions opts_;
  const std::atomic<bool>& stop_;
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;
  // Sink mode: one receive buffer for every connection of this thread, and the expected bytes.
  std::vector<uint8_t> sink_rx_;
  std::vector<uint8_t> expected_;
  EchoWorkerStats stats_;
};

}  // namespace virtuoso::bench
