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
  std::size_t pending_output() const { return out_.size() - out_sent_; }
  Interest on_readable(int64_t now_unix);
  Interest on_writable(int64_t now_unix);

 private:
  bool read_some(bool& eof, bool& drained);
  // Executes buffered requests until input runs out or kMaxPendingOutput bytes of replies wait.
  // Returns true if it stopped for want of input.
  bool process(int64_t now_unix);
  // Executes and writes in turns; true once every buffered request is answered and written.
  bool serve_buffered(int64_t now_unix);
  // Answers more keys of the get in request_; true once its reply is complete.
  bool continue_get(int64_t now_unix);
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
  bool get_in_progress_ = false;  // request_ is a multi-get answered up to get_next_key_
  std::size_t get_next_key_ = 0;
  bool peer_eof_ = false;  // the peer sent FIN: answer what is buffered, then close
  bool closing_ = false;   // after quit or a fatal parse error: flush, then close
  bool broken_ = false;    // socket error: close at once
};

}  // namespace virtuoso::kv
