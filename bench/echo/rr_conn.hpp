// echo-client request/response connection: pipelined (closed loop) or scheduled (open loop) requests.
#pragma once
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <vector>

#include "client_ctx.hpp"

namespace virtuoso::bench {

class RrConn {
 public:
  // Open loop: requests queue behind this many unanswered ones; their latency still counts from
  // the scheduled time, so an overloaded server shows up as latency, not as a lower offered rate.
  static constexpr size_t kOpenLoopMaxInflight = 4096;

  RrConn(uint32_t id, uint32_t slot) : id_(id), slot_(slot) {}

  bool open(const sockaddr_in& server, RunCtx& ctx);
  void begin(RunCtx& ctx);
  void on_event(uint32_t events, RunCtx& ctx);
  void tick(RunCtx& ctx);  // open loop: issue the requests whose time has come
  void check_stall(RunCtx& ctx);
  bool finished() const { return finished_; }
  uint64_t next_due() const { return finished_ ? std::numeric_limits<uint64_t>::max() : next_due_; }

 private:
  struct Pending {
    uint64_t stamp;  // issue time (closed loop) or scheduled time (open loop)
    bool measured;
  };

  bool open_loop(const RunCtx& ctx) const { return ctx.cfg.rate > 0; }
  bool may_issue(uint64_t stamp, const RunCtx& ctx) const;
  void issue(uint64_t stamp, RunCtx& ctx);
  void refill(RunCtx& ctx);
  bool flush(RunCtx& ctx);
  bool receive(RunCtx& ctx);
  bool consume(const uint8_t* p, size_t n, RunCtx& ctx);
  void complete(RunCtx& ctx);
  bool set_interest(RunCtx& ctx);
  void after_io(RunCtx& ctx);
  void finish(RunCtx& ctx);
  void fail(ErrorKind kind, const std::string& what, RunCtx& ctx);

  uint32_t id_;
  uint32_t slot_;
  int fd_ = -1;
  uint64_t issued_ = 0;  // requests issued so far: the index of the next one
  uint64_t measured_issued_ = 0;
  std::deque<Pending> inflight_;
  size_t resp_off_ = 0;  // bytes of the oldest outstanding echo received so far
  std::vector<uint8_t> out_;
  size_t out_head_ = 0;
  uint64_t interval_ns_ = 0;
  uint64_t next_due_ = std::numeric_limits<uint64_t>::max();
  uint64_t last_progress_ = 0;
  uint32_t interest_ = 0;
  bool finished_ = false;
};

}  // namespace virtuoso::bench
