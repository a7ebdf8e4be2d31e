// One client connection of kv-server: input buffering, request dispatch, buffered replies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kv/core/counters.hpp"
#include "kv/core/executor.hpp"
#include "kv/core/request.hpp"

namespace virtuoso::kv {

// What the connection needs from its event loop next.
enum class Interest : uint8_t { kRead, kWrite, kClose };

class Connection {
 public:
  Connection(int fd, Executor& executor, WorkerCounters& counters);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }
  Interest on_readable(int64_t now_unix);
  Interest on_writable();

 private:
  bool read_some(bool& eof, bool& drained);
  void process(int64_t now_unix);
  // Writes as much pending output as the socket takes; false on a fatal socket error.
  bool flush();
  Interest next_interest() const;
  void compact_input();

  int fd_;
  Executor& executor_;
  WorkerCounters& counters_;
  RequestParser parser_;
  Request request_;
  std::vector<char> in_;
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  std::string out_;
  std::size_t out_sent_ = 0;
  bool closing_ = false;  // after quit, a fatal parse error or the peer's EOF: flush, then close
  bool broken_ = false;   // socket error: close at once
};

}  // namespace virtuoso::kv
