// ARP cache and pending resolutions.
#include "arp_resolver.hpp"

#include <algorithm>

namespace virtuoso::slowpath {

std::optional<wire::MacAddr> ArpResolver::lookup(uint32_t ip, TimeMs now) const {
  auto it = cache_.find(ip);
  if (it == cache_.end() || now - it->second.seen > ttl_ms_) return std::nullopt;
  return it->second.mac;
}

std::vector<uint32_t> ArpResolver::learn(uint32_t ip, const wire::MacAddr& mac, TimeMs now, bool create) {
  auto pend = pending_.find(ip);
  bool known = cache_.count(ip) != 0;
  bool asked = pend != pending_.end();
  if (!create && !known && !asked) return {};
  if (!known && !make_room(now, asked)) return {};
  cache_[ip] = Entry{mac, now};
  if (pend == pending_.end()) return {};
  std::vector<uint32_t> waiters = std::move(pend->second.waiters);
  pending_.erase(pend);
  return waiters;
}

bool ArpResolver::wait_for(uint32_t ip, uint32_t waiter, TimeMs now) {
  auto [it, inserted] = pending_.try_emplace(ip);
  if (inserted) it->second.next = now + retry_ms_;
  it->second.waiters.push_back(waiter);
  return inserted;
}

void ArpResolver::cancel(uint32_t waiter) {
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto& w = it->second.waiters;
    w.erase(std::remove(w.begin(), w.end(), waiter), w.end());
    // Nobody waits any more: stop asking.
    it = w.empty() ? pending_.erase(it) : std::next(it);
  }
}

void ArpResolver::prune(TimeMs now) {
  last_prune_ = now;
  std::erase_if(cache_, [&](const auto& kv) { return now - kv.second.seen > ttl_ms_; });
}

bool ArpResolver::make_room(TimeMs now, bool asked) {
  if (cache_.size() < max_entries_) return true;
  if (now - last_prune_ >= 1000) prune(now);
  if (cache_.size() < max_entries_) return true;
  if (!asked) {
    ++refused_;
    return false;
  }
  auto stalest = std::min_element(cache_.begin(), cache_.end(),
                                  [](const auto& a, const auto& b) { return a.second.seen < b.second.seen; });
  cache_.erase(stalest);
  return true;
}

ArpResolver::Expired ArpResolver::tick(TimeMs now) {
  Expired out;
  if (now - last_prune_ >= ttl_ms_) prune(now);
  for (auto it = pending_.begin(); it != pending_.end();) {
    Pending& p = it->second;
    if (now < p.next) {
      ++it;
      continue;
    }
    if (p.sent >= tries_) {
      out.failed.insert(out.failed.end(), p.waiters.begin(), p.waiters.end());
      it = pending_.erase(it);
      continue;
    }
    ++p.sent;
    p.next = now + retry_ms_;
    out.resend.push_back(it->first);
    ++it;
  }
  return out;
}

}  // namespace virtuoso::slowpath
