// echo-client bulk stream: send N pseudo-random bytes while reading the echo back and verifying it,
// or (one-way) send them (or send until --duration ends) to a sink, then FIN, and wait for its close.
#pragma once
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "client_ctx.hpp"
#include "common/pattern.hpp"
#include "one_way.hpp"

namespace virtuoso::bench {

class BulkConn {
 public:
  BulkConn(uint32_t id, uint32_t slot, uint64_t total, bool one_way)
      : id_(id), slot_(slot), total_(total), seed_(one_way ? kOneWaySeed : stream_seed(id)),
        one_way_(one_way) {}

  bool open(const sockaddr_in& server, RunCtx& ctx);
  void begin(RunCtx& ctx);
  void on_event(uint32_t events, RunCtx& ctx);
  void tick(RunCtx&) {}
  void check_stall(RunCtx& ctx);
  bool finished() const { return finished_; }
  uint64_t next_due() const { return UINT64_MAX; }
  BulkStream result() const;

 private:
  bool send_more(RunCtx& ctx);
  bool receive(RunCtx& ctx);
  bool await_close(RunCtx& ctx);
  bool set_interest(RunCtx& ctx);
  bool sending() const { return one_way_ ? !shut_wr_ : sent_ < total_; }
  void finish(RunCtx& ctx);
  void fail(ErrorKind kind, const std::string& what, RunCtx& ctx);

  static constexpr size_t kTxChunk = 256 * 1024;

  uint32_t id_;
  uint32_t slot_;
  uint64_t total_;  // one-way for --duration: UINT64_MAX
  uint64_t seed_;
  bool one_way_;
  int fd_ = -1;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
  // Generated but not yet accepted by send(): bytes [sent_, sent_ + tx_len_ - tx_head_).
  std::vector<uint8_t> tx_;
  size_t tx_head_ = 0;
  size_t tx_len_ = 0;
  StreamChecksum tx_sum_;
  StreamChecksum rx_sum_;
  uint64_t start_ns_ = 0;
  uint64_t end_ns_ = 0;
  uint64_t last_progress_ = 0;
  uint32_t interest_ = 0;
  bool shut_wr_ = false;  // one-way: our FIN is queued
  bool finished_ = false;
  bool complete_ = false;
};

}  // namespace virtuoso::bench
