// Level-triggered, edge-triggered and one-shot reporting of stack sockets (see epoll_set.hpp).
#include "epoll_set.hpp"

#include <errno.h>

#include <algorithm>

#include "readiness.hpp"

namespace virtuoso::shim {
namespace {

constexpr uint32_t kInBits = EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | EPOLLPRI;
constexpr uint32_t kOutBits = EPOLLOUT | EPOLLWRNORM;
// Flags that select behaviour rather than events.
constexpr uint32_t kModeBits = EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP;

}  // namespace

EpollSet::~EpollSet() {
  for (auto& [fd, in] : interests_) unwatch(in, fd);
  if (release_kick_) release_kick_(kick_fd_);
}

void EpollSet::unwatch(Interest& in, int fd) {
  auto& w = in.sock->watches;
  w.erase(std::remove_if(w.begin(), w.end(),
                         [&](const EpollWatch& x) { return x.set == this && x.fd == fd; }),
          w.end());
}

int EpollSet::add(int fd, const std::shared_ptr<Socket>& s, const struct epoll_event& ev) {
  if (interests_.count(fd) != 0) return -EEXIST;
  Interest in;
  in.sock = s;
  in.events = ev.events;
  in.data = ev.data;
  interests_.emplace(fd, std::move(in));
  s->watches.push_back({this, fd});
  enqueue(fd);
  return 0;
}

int EpollSet::modify(int fd, const struct epoll_event& ev) {
  auto it = interests_.find(fd);
  if (it == interests_.end()) return -ENOENT;
  if (ev.events & EPOLLEXCLUSIVE) return -EINVAL;
  Interest& in = it->second;
  in.events = ev.events;
  in.data = ev.data;
  in.disabled = false;
  in.last_mask = 0;  // like Linux, a modify reports current readiness again, even edge-triggered
  enqueue(fd);
  return 0;
}

int EpollSet::remove(int fd) {
  auto it = interests_.find(fd);
  if (it == interests_.end()) return -ENOENT;
  unwatch(it->second, fd);
  interests_.erase(it);
  return 0;  // a stale ready_ entry is skipped: only entries marked queued are evaluated
}

void EpollSet::enqueue(int fd) {
  auto it = interests_.find(fd);
  if (it == interests_.end() || it->second.queued) return;
  it->second.queued = true;
  ready_.push_back(fd);
}

int EpollSet::collect(struct epoll_event* out, int room) {
  int n = 0;
  // Entries re-queued during this pass (level-triggered, still ready) wait for the next call.
  for (size_t pass = ready_.size(); pass > 0 && n < room; --pass) {
    int fd = ready_.front();
    ready_.pop_front();
    auto it = interests_.find(fd);
    if (it == interests_.end() || !it->second.queued) continue;
    Interest& in = it->second;
    in.queued = false;
    if (in.disabled) continue;
    Socket& s = *in.sock;
    uint32_t want = (in.events & ~kModeBits) | EPOLLERR | EPOLLHUP;
    uint32_t rep = poll_mask(s) & want;
    bool edge = (rep & ~in.last_mask) != 0 || (in.rx_seen != s.rx_seq && (rep & kInBits)) ||
                (in.tx_seen != s.tx_seq && (rep & kOutBits));
    in.last_mask = rep;
    in.rx_seen = s.rx_seq;
    in.tx_seen = s.tx_seq;
    if (rep == 0) continue;
    if ((in.events & EPOLLET) && !edge) continue;
    out[n].events = rep;
    out[n].data = in.data;
    ++n;
    if (in.events & EPOLLONESHOT) {
      in.disabled = true;
    } else if (!(in.events & EPOLLET)) {
      in.queued = true;  // level-triggered: reported again while it stays ready
      ready_.push_back(fd);
    }
  }
  return n;
}

void touch_watchers(Socket& s) {
  for (const EpollWatch& w : s.watches) w.set->enqueue(w.fd);
}

}  // namespace virtuoso::shim
