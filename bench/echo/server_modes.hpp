// echo-server's two multi-threaded modes besides one epoll set per thread: a thread per connection
// with blocking calls, and worker threads sharing one epoll set (EPOLLONESHOT). Echo only.
#pragma once
#include <atomic>
#include <cstdint>

namespace virtuoso::bench {

struct ModeStats {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> resets{0};
  std::atomic<uint32_t> in_call{0};       // threads inside a socket call (or epoll wait) now
  std::atomic<uint32_t> most_in_call{0};  // the most seen at once
};

// Counts the calling thread as inside a socket call for its lifetime.
class InCall {
 public:
  explicit InCall(ModeStats& s) : s_(s) {
    uint32_t n = s_.in_call.fetch_add(1) + 1;
    uint32_t m = s_.most_in_call.load();
    while (n > m && !s_.most_in_call.compare_exchange_weak(m, n)) {
    }
  }
  ~InCall() { s_.in_call.fetch_sub(1); }
  InCall(const InCall&) = delete;
  InCall& operator=(const InCall&) = delete;

 private:
  ModeStats& s_;
};

// Accepts on `listen_fd` (blocking) and serves each connection on its own thread with blocking
// recv/send (SO_RCVTIMEO bounds each wait so the stop flag is seen). Returns once `stop` is set
// and every connection thread has ended.
void run_blocking(int listen_fd, const std::atomic<bool>& stop, ModeStats& stats);

// `threads` workers wait on one shared epoll set; each ready connection is armed EPOLLONESHOT, so
// exactly one worker serves it until it re-arms it. Returns once `stop` is set.
void run_shared_epoll(int listen_fd, unsigned threads, const std::atomic<bool>& stop, ModeStats& stats);

}  // namespace virtuoso::bench
