// The doorbell leader / kicked followers protocol (see wake_hub.hpp).
#include "wake_hub.hpp"

#include <algorithm>

#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::shim {

WakeHub::WakeHub(const KernelOps& k, abi::AppRegionHeader* header, int doorbell_fd, int hangup_fd)
    : k_(k), header_(header), doorbell_fd_(doorbell_fd), hangup_fd_(hangup_fd) {}

void WakeHub::enter(Sleeper& s) {
  sleepers_.push_back(&s);
  if (leader_ == nullptr) {
    leader_ = &s;
    s.leader = true;
  }
  // seq_cst: the daemon pushes, fences, then reads this flag; our caller drains after this store.
  if (sleepers_.size() == 1) shm::store_seq_cst(header_->app_sleeping, uint32_t{1});
}

void WakeHub::leave(Sleeper& s) {
  auto it = std::find(sleepers_.begin(), sleepers_.end(), &s);
  if (it == sleepers_.end()) return;
  sleepers_.erase(it);
  if (leader_ == &s) {
    s.leader = false;
    leader_ = nullptr;
    if (!sleepers_.empty()) {
      leader_ = sleepers_.front();
      leader_->leader = true;
      ring_eventfd(k_, leader_->kick_fd);  // it must start watching the doorbell
    }
  }
  if (sleepers_.empty()) shm::store_release(header_->app_sleeping, uint32_t{0});
}

void WakeHub::kick_all(const Sleeper* except) {
  for (Sleeper* s : sleepers_) {
    if (s != except) ring_eventfd(k_, s->kick_fd);
  }
}

void WakeHub::note(const void* what) {
  noted_ = true;
  for (Sleeper* s : sleepers_) {
    if (s->watch.covers(what)) s->due = true;
  }
}

bool WakeHub::kick_due(const Sleeper* except) {
  bool noted = noted_;
  noted_ = false;
  for (Sleeper* s : sleepers_) {
    if (!s->due) continue;
    s->due = false;
    if (s != except) ring_eventfd(k_, s->kick_fd);
  }
  return noted;
}

size_t WakeHub::append_wait_fds(const Sleeper& s, std::vector<struct pollfd>& out) const {
  size_t before = out.size();
  out.push_back({s.kick_fd, POLLIN, 0});
  if (s.leader) {
    out.push_back({doorbell_fd_, POLLIN, 0});
    if (hangup_fd_ >= 0) out.push_back({hangup_fd_, POLLRDHUP, 0});
  }
  return out.size() - before;
}

bool WakeHub::after_poll(const Sleeper& s, const struct pollfd* fds, size_t n) {
  bool hangup = false;
  for (size_t i = 0; i < n; ++i) {
    if (fds[i].revents == 0) continue;
    if (fds[i].fd == s.kick_fd && !s.kick_is_edge) {
      drain_eventfd(k_, s.kick_fd);
    } else if (fds[i].fd == doorbell_fd_ && s.leader) {
      drain_eventfd(k_, doorbell_fd_);
    } else if (fds[i].fd == hangup_fd_) {
      hangup = (fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    }
  }
  return hangup;
}

void WakeHub::reset_doorbell() { drain_eventfd(k_, doorbell_fd_); }

}  // namespace virtuoso::shim
