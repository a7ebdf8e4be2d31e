// Sleeping on the app doorbell without losing wake-ups, for any number of threads.
//
// At most one sleeper, the leader, waits on the doorbell eventfd (and on the daemon's socket, to
// notice it going away) and is the only thread that resets it. Every sleeper also waits on its
// own kick fd. Whoever drains events kicks the sleepers those events concern: a sleeper names what
// it waits on (one socket, one epoll set, or anything), and only a change to that wakes it, so
// threads blocked on their own sockets do not wake each other. A wake-up consumed by the leader
// is passed on the same way. A sleeper registers (which sets app_sleeping for the daemon), drains and
// re-checks, and only then waits: an event either lands before that re-check or rings the doorbell.
// All methods need the stack lock.
#pragma once
#include <poll.h>

#include <algorithm>
#include <vector>

#include "kernel_ops.hpp"
#include "virtuoso/abi/app_region.hpp"

namespace virtuoso::shim {

// What a sleeper waits on: one socket or epoll set, the sockets of a poll() call, or (neither
// given) any change at all.
struct Watch {
  const void* one = nullptr;
  const std::vector<const void*>* many = nullptr;
  bool covers(const void* what) const {
    if (one == nullptr && many == nullptr) return true;
    if (one == what) return true;
    return many != nullptr && std::find(many->begin(), many->end(), what) != many->end();
  }
};

struct Sleeper {
  int kick_fd = -1;
  bool kick_is_edge = false;  // an epoll set's kick fd: registered edge-triggered, never reset
  bool leader = false;
  Watch watch;
  bool due = false;  // something it waits on changed since it was last kicked
};

class WakeHub {
 public:
  WakeHub(const KernelOps& k, abi::AppRegionHeader* header, int doorbell_fd, int hangup_fd);

  // Registers `s` for the rest of its blocking call; the first sleeper raises app_sleeping.
  void enter(Sleeper& s);
  // Unregisters `s`; a departing leader hands the doorbell to another sleeper and kicks it.
  void leave(Sleeper& s);
  // Wakes every sleeper but `except` (which may be null) so it re-checks its condition.
  void kick_all(const Sleeper* except);
  // `what` (a socket or an epoll set) changed: the sleepers waiting on it, or on any change,
  // are due a kick.
  void note(const void* what);
  // Kicks the sleepers due one but `except`; true if note() was called since the last time.
  bool kick_due(const Sleeper* except);
  bool idle() const { return sleepers_.empty(); }
  // After fork(): the sleepers were threads of the parent; forget them without kicking.
  void forget_all() {
    sleepers_.clear();
    leader_ = nullptr;
  }
  size_t sleepers() const { return sleepers_.size(); }

  // Appends the fds a poll()-style sleeper waits on besides its own: kick, doorbell and hang-up.
  // Returns how many were appended.
  size_t append_wait_fds(const Sleeper& s, std::vector<struct pollfd>& out) const;
  // After the wait: resets the kick and (leader) the doorbell if they fired. `fds` are the entries
  // append_wait_fds added. Returns true if the daemon's socket hung up.
  bool after_poll(const Sleeper& s, const struct pollfd* fds, size_t n);
  // Leader only: resets the doorbell (after an epoll wait reported it).
  void reset_doorbell();

  int doorbell_fd() const { return doorbell_fd_; }
  int hangup_fd() const { return hangup_fd_; }

 private:
  const KernelOps& k_;
  abi::AppRegionHeader* header_;
  int doorbell_fd_;
  int hangup_fd_;
  std::vector<Sleeper*> sleepers_;
  Sleeper* leader_ = nullptr;
  bool noted_ = false;
};

}  // namespace virtuoso::shim
