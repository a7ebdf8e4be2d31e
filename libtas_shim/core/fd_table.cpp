// The descriptor marks (lock-free reads) and the descriptor -> socket map.
#include "fd_table.hpp"

namespace virtuoso::shim {

FdTable::~FdTable() {
  for (auto& c : chunks_) delete[] c.load(std::memory_order_relaxed);
}

FdTable::Kind FdTable::kind(int fd) const {
  if (fd < 0 || fd >= kMaxFds) return Kind::kNone;
  Chunk* c = chunks_[fd >> kChunkBits].load(std::memory_order_acquire);
  if (c == nullptr) return Kind::kNone;
  return static_cast<Kind>(c[fd & ((1 << kChunkBits) - 1)].load(std::memory_order_acquire));
}

void FdTable::set_kind(int fd, Kind k) {
  std::atomic<Chunk*>& slot = chunks_[fd >> kChunkBits];
  Chunk* c = slot.load(std::memory_order_acquire);
  if (c == nullptr) {
    // Writers hold the stack lock, so nobody else installs this chunk concurrently.
    c = new Chunk[1 << kChunkBits];
    for (int i = 0; i < (1 << kChunkBits); ++i) c[i].store(0, std::memory_order_relaxed);
    slot.store(c, std::memory_order_release);
  }
  c[fd & ((1 << kChunkBits) - 1)].store(static_cast<uint8_t>(k), std::memory_order_release);
}

std::shared_ptr<Socket> FdTable::get(int fd) const {
  auto it = sockets_.find(fd);
  return it == sockets_.end() ? nullptr : it->second;
}

bool FdTable::put(int fd, std::shared_ptr<Socket> s) {
  if (fd < 0 || fd >= kMaxFds) return false;
  sockets_[fd] = std::move(s);
  sockets_count_.store(static_cast<uint32_t>(sockets_.size()), std::memory_order_relaxed);
  set_kind(fd, Kind::kSocket);
  return true;
}

std::shared_ptr<Socket> FdTable::take(int fd) {
  auto it = sockets_.find(fd);
  if (it == sockets_.end()) return nullptr;
  std::shared_ptr<Socket> s = std::move(it->second);
  sockets_.erase(it);
  sockets_count_.store(static_cast<uint32_t>(sockets_.size()), std::memory_order_relaxed);
  set_kind(fd, Kind::kNone);
  return s;
}

bool FdTable::mark_internal(int fd) {
  if (fd < 0 || fd >= kMaxFds) return false;
  set_kind(fd, Kind::kInternal);
  return true;
}

void FdTable::unmark_internal(int fd) {
  if (fd >= 0 && fd < kMaxFds && kind(fd) == Kind::kInternal) set_kind(fd, Kind::kNone);
}

bool FdTable::mark_epoll(int fd) {
  if (fd < 0 || fd >= kMaxFds) return false;
  set_kind(fd, Kind::kEpoll);
  return true;
}

void FdTable::unmark_epoll(int fd) {
  if (fd >= 0 && fd < kMaxFds && kind(fd) == Kind::kEpoll) set_kind(fd, Kind::kNone);
}

}  // namespace virtuoso::shim
