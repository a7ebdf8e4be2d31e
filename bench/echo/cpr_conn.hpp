// echo-client connect-per-request slot: connect, send one request, read its echo, close, repeat.
#pragma once
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "client_ctx.hpp"

namespace virtuoso::bench {

class CprConn {
 public:
  CprConn(uint32_t id, uint32_t slot, const sockaddr_in& server) : id_(id), slot_(slot), server_(server) {}

  void begin(RunCtx& ctx) { start_next(ctx); }
  void on_event(uint32_t events, RunCtx& ctx);
  void tick(RunCtx&) {}
  void check_stall(RunCtx& ctx);
  bool finished() const { return phase_ == Phase::kDone; }
  uint64_t next_due() const { return UINT64_MAX; }

 private:
  enum class Phase { kConnecting, kExchanging, kDone };

  bool may_issue(const RunCtx& ctx) const;
  void start_next(RunCtx& ctx);
  void on_connected(RunCtx& ctx);
  bool send_rest(RunCtx& ctx);
  bool receive(RunCtx& ctx);
  void complete(RunCtx& ctx);
  void close_fd(RunCtx& ctx);
  void fail(ErrorKind kind, const std::string& what, RunCtx& ctx);

  uint32_t id_;
  uint32_t slot_;
  sockaddr_in server_;
  int fd_ = -1;
  Phase phase_ = Phase::kConnecting;
  uint64_t index_ = 0;  // requests started on this slot: seeds the verify pattern
  uint64_t measured_started_ = 0;
  uint64_t stamp_ = 0;  // when the connect began: latency covers setup + round trip
  size_t sent_ = 0;
  size_t received_ = 0;
};

}  // namespace virtuoso::bench
