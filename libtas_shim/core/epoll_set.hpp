// The stack sockets registered in one kernel epoll instance: interest, level/edge/one-shot state,
// and a ready list fed by socket events, so epoll_wait costs O(ready) rather than O(registered).
//
// Kernel descriptors stay registered in the kernel epoll instance itself; the shim only adds its
// own descriptors (doorbell, kick, daemon hang-up) with reserved data values that are filtered out
// of every result. Stack lock held for everything here.
#pragma once
#include <sys/epoll.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>

#include "socket.hpp"

namespace virtuoso::shim {

class Context;

class EpollSet {
 public:
  // epoll_data values of the shim's own descriptors ("virtuso" + tag): never handed to the app.
  static constexpr uint64_t kDoorbellData = 0x7669727475736f01ULL;
  static constexpr uint64_t kKickData = 0x7669727475736f02ULL;
  static constexpr uint64_t kHangupData = 0x7669727475736f03ULL;
  static bool is_reserved(uint64_t data) {
    return data == kDoorbellData || data == kKickData || data == kHangupData;
  }

  // `release_kick` closes the kick descriptor when the last user of the set is gone (a thread may
  // still be waiting on it after the app closed the epoll fd).
  EpollSet(int epfd, int kick_fd, std::function<void(int)> release_kick)
      : epfd_(epfd), kick_fd_(kick_fd), release_kick_(std::move(release_kick)) {}
  ~EpollSet();
  EpollSet(const EpollSet&) = delete;
  EpollSet& operator=(const EpollSet&) = delete;

  int epfd() const { return epfd_; }
  int kick_fd() const { return kick_fd_; }
  bool empty() const { return interests_.empty(); }
  bool has_queued() const { return !ready_.empty(); }
  size_t size() const { return interests_.size(); }

  // EPOLL_CTL_* for a stack socket; 0 or -errno as epoll_ctl(2) reports it.
  int add(int fd, const std::shared_ptr<Socket>& s, const struct epoll_event& ev);
  int modify(int fd, const struct epoll_event& ev);
  int remove(int fd);
  bool contains(int fd) const { return interests_.count(fd) != 0; }

  // Puts `fd` on the ready list for re-evaluation (an event arrived or the state changed).
  void enqueue(int fd);
  // Writes up to `room` events for ready stack sockets into `out`; returns how many.
  int collect(struct epoll_event* out, int room);

  // Which context's doorbell and hang-up descriptor are registered in the kernel set.
  const Context* registered_ctx = nullptr;
  bool kernel_first = false;  // alternates who fills the result first, so neither side starves

 private:
  struct Interest {
    std::shared_ptr<Socket> sock;
    uint32_t events = 0;
    epoll_data_t data{};
    bool disabled = false;  // EPOLLONESHOT fired; EPOLL_CTL_MOD re-arms
    bool queued = false;
    uint32_t last_mask = 0;  // what the last evaluation saw (edge detection)
    uint64_t rx_seen = 0;
    uint64_t tx_seen = 0;
  };
  void unwatch(Interest& in, int fd);

  int epfd_;
  int kick_fd_;
  std::function<void(int)> release_kick_;
  std::unordered_map<int, Interest> interests_;
  std::deque<int> ready_;
};

// Queues every epoll registration of `s` for re-evaluation.
void touch_watchers(Socket& s);

}  // namespace virtuoso::shim
