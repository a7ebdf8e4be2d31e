// One kv-client connection: issues gets and sets, matches replies in order, checks values.
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "kv/client/run_state.hpp"
#include "kv/core/reply.hpp"

namespace virtuoso::kv {

class KvConn {
 public:
  enum class Phase : uint8_t { kPreload, kLoad, kDone };

  KvConn(uint32_t id, uint32_t slot, int fd, ThreadCtx& ctx);
  ~KvConn();
  KvConn(const KvConn&) = delete;
  KvConn& operator=(const KvConn&) = delete;

  // Preload sets keys [first, last) once each, then waits for start_load().
  void start_preload(uint64_t first, uint64_t last);
  void start_load();

  // Event handlers; each ends with as many new requests as the phase allows, flushed.
  void on_readable();
  void on_writable();
  void pump();  // issue due requests (open loop, or after the phase changed) and flush

  uint32_t id() const { return id_; }
  Phase phase() const { return phase_; }
  bool failed() const { return fd_ < 0; }
  bool preload_done() const {
    return failed() || (preload_next_ == preload_end_ && inflight_.empty());
  }
  // Load phase over for this connection: nothing more to send and nothing outstanding.
  bool finished() const;
  // Replies are outstanding and none has arrived for `limit_ns`.
  bool stalled(uint64_t now, uint64_t limit_ns) const {
    return !failed() && !inflight_.empty() && now - last_progress_ns_ > limit_ns;
  }
  // Open loop: when the next request is due (ns), or UINT64_MAX.
  uint64_t next_due() const;
  // Marks the connection failed with a stall for each reply still missing.
  void abandon(const char* why);

 private:
  enum class Op : uint8_t { kGet, kSet };
  struct Pending {
    uint64_t key;
    uint64_t start_ns;
    Op op;
    bool measured;
    uint8_t state_at_send;  // KeyState when the get was sent (--verify)
  };

  bool may_issue(uint64_t t) const;
  void issue(uint64_t start_ns);
  void issue_set(uint64_t key, uint64_t start_ns, bool measured);
  void issue_get(uint64_t key, uint64_t start_ns, bool measured);
  void fill();
  bool flush();
  void handle(const Reply& reply);
  void complete_get(const Pending& p, bool hit);
  void complete_set(const Pending& p);
  void check_value(const Pending& p, const Reply& reply);
  void push(const Pending& p);
  void fail(uint64_t ErrorCounts::*kind, const std::string& why);
  void count_bytes(std::size_t n);
  uint64_t next_key();

  uint32_t id_;
  uint32_t slot_;
  int fd_;
  ThreadCtx& ctx_;
  Phase phase_ = Phase::kLoad;
  std::mt19937_64 rng_;
  std::exponential_distribution<double> gap_;  // open loop, in ns
  double next_due_ns_ = 0;

  uint64_t preload_next_ = 0;
  uint64_t preload_end_ = 0;
  uint64_t measured_issued_ = 0;

  std::deque<Pending> inflight_;
  uint64_t last_progress_ns_ = 0;  // last reply, or the send that ended an idle spell
  bool got_value_ = false;         // a VALUE came for the get at the front; its END is next
  std::vector<char> in_;
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  std::string out_;
  std::size_t out_sent_ = 0;
  bool want_write_ = false;
};

}  // namespace virtuoso::kv
