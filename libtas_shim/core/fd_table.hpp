// Which descriptors are stack sockets or the shim's own, readable without a lock on every call.
//
// Every read(), write() and close() in the process asks "is this fd ours?", so that answer comes
// from a lock-free two-level array of one byte per descriptor. The socket objects themselves live
// in a map that is only touched with the stack lock held.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "socket.hpp"

namespace virtuoso::shim {

class FdTable {
 public:
  enum class Kind : uint8_t { kNone = 0, kSocket = 1, kInternal = 2, kEpoll = 3 };
  static constexpr int kMaxFds = 1 << 22;  // beyond every RLIMIT_NOFILE Linux allows (nr_open)

  FdTable() = default;
  ~FdTable();
  FdTable(const FdTable&) = delete;
  FdTable& operator=(const FdTable&) = delete;

  // Lock-free; a hint for the fast pass-through decision.
  Kind kind(int fd) const;
  bool any_sockets() const { return sockets_count_.load(std::memory_order_relaxed) != 0; }

  // Stack lock held for all of these.
  std::shared_ptr<Socket> get(int fd) const;
  // False if fd is out of range.
  bool put(int fd, std::shared_ptr<Socket> s);
  std::shared_ptr<Socket> take(int fd);
  bool mark_internal(int fd);
  void unmark_internal(int fd);
  // An epoll instance with stack sockets registered (its close() must drop the shim's set).
  bool mark_epoll(int fd);
  void unmark_epoll(int fd);
  template <typename Fn>
  void for_each(Fn&& fn) {
    for (auto& [fd, s] : sockets_) fn(fd, s);
  }

 private:
  static constexpr int kChunkBits = 12;
  static constexpr int kChunks = kMaxFds >> kChunkBits;
  using Chunk = std::atomic<uint8_t>;
  void set_kind(int fd, Kind k);

  std::atomic<Chunk*> chunks_[kChunks] = {};
  std::unordered_map<int, std::shared_ptr<Socket>> sockets_;
  std::atomic<uint32_t> sockets_count_{0};
};

}  // namespace virtuoso::shim
