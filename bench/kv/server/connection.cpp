// kv-server connection: read, parse and execute every complete request in order, write replies.
#include "kv/server/connection.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kv/core/limits.hpp"

namespace virtuoso::kv {
namespace {

constexpr std::size_t kInitialInput = 16 * 1024;
// Room for one maximal request (a full line and a 1 MiB value) plus the next read.
constexpr std::size_t kMaxInput = 2 * (kMaxLineBytes + kMaxValueBytes + 2);
// Bytes read per readiness event, so that one busy client cannot starve the others.
constexpr std::size_t kReadBudget = 256 * 1024;
// Replies waiting to be written beyond which no further request is executed: a few small
// pipelined gets of a large value must not build gigabytes of output.
constexpr std::size_t kMaxPendingOutput = 4 * 1024 * 1024;

}  // namespace

Connection::Connection(int fd, Executor& executor, WorkerCounters& counters)
    : fd_(fd), executor_(executor), counters_(counters), in_(kInitialInput) {
  counters_.conns_opened.add();
}

Connection::~Connection() {
  ::close(fd_);
  counters_.conns_closed.add();
}

Interest Connection::on_readable(int64_t now_unix) {
  std::size_t budget = kReadBudget;
  // Buffered requests are answered, and their replies written, before anything more is read: a
  // client that pipelines without reading its replies is held back by TCP flow control instead
  // of growing either buffer without bound.
  while (!closing_ && !broken_ && !peer_eof_ && serve_buffered(now_unix)) {
    // Checked only once what was read has been served: nothing is left parked in the buffer
    // waiting for a readiness event that may never come.
    if (budget == 0) break;
    bool eof = false;
    bool drained = false;
    const std::size_t before = in_end_;
    if (!read_some(eof, drained)) break;
    budget -= std::min(budget, in_end_ - before);
    if (eof) peer_eof_ = true;
    if (eof || drained) {
      serve_buffered(now_unix);
      break;
    }
  }
  return next_interest();
}

Interest Connection::on_writable(int64_t now_unix) {
  serve_buffered(now_unix);
  return next_interest();
}

bool Connection::serve_buffered(int64_t now_unix) {
  while (!broken_) {
    const bool input_done = process(now_unix);
    if (!flush()) {
      broken_ = true;
      return false;
    }
    if (out_sent_ < out_.size()) return false;  // the socket is full: wait until writable
    if (input_done) return true;
  }
  return false;
}

Interest Connection::next_interest() const {
  if (broken_) return Interest::kClose;
  if (out_sent_ < out_.size()) return Interest::kWrite;
  if (closing_ || peer_eof_) return Interest::kClose;
  return Interest::kRead;
}

// Returns false when nothing more can be read now (would block, or error). `drained`: the read
// did not fill the space offered, so the socket is empty and another read would only say EAGAIN
// (level-triggered epoll reports whatever arrives later).
bool Connection::read_some(bool& eof, bool& drained) {
  compact_input();
  if (in_end_ == in_.size()) {
    if (in_.size() >= kMaxInput) {
      broken_ = true;  // unreachable while the parser bounds lines and values; kept as a guard
      return false;
    }
    in_.resize(std::min(in_.size() * 2, kMaxInput));
  }
  const std::size_t room = in_.size() - in_end_;
  const ssize_t n = ::read(fd_, in_.data() + in_end_, room);
  if (n > 0) {
    drained = static_cast<std::size_t>(n) < room;
    in_end_ += static_cast<std::size_t>(n);
    counters_.bytes_read.add(static_cast<uint64_t>(n));
    return true;
  }
  if (n == 0) {
    eof = true;
    return true;
  }
  if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) broken_ = true;
  return false;
}

bool Connection::process(int64_t now_unix) {
  // A multi-get cut short by the output bound goes on first. Its keys still point into in_,
  // which is compacted only by a read, and reads wait until every buffered request is answered.
  if (get_in_progress_ && (pending_output() >= kMaxPendingOutput || !continue_get(now_unix))) {
    return false;
  }
  while (!closing_) {
    if (pending_output() >= kMaxPendingOutput) return false;
    const std::string_view input(in_.data() + in_begin_, in_end_ - in_begin_);
    const ParseResult r = parser_.parse(input, request_);
    in_begin_ += r.consumed;
    switch (r.status) {
      case ParseStatus::kNeedMore:
        if (r.consumed == 0 || in_begin_ == in_end_) {
          return true;
        }
        break;  // swallowed part of a refused value: look again at what is left
      case ParseStatus::kRequest:
        if (request_.command == Command::kGet || request_.command == Command::kGets) {
          get_next_key_ = 0;
          if (!continue_get(now_unix)) return false;
        } else if (executor_.execute(request_, now_unix, out_) == Disposition::kClose) {
          closing_ = true;
        }
        break;
      case ParseStatus::kReply:
        counters_.protocol_errors.add();
        out_.append(r.reply);
        break;
      case ParseStatus::kClose:
        counters_.protocol_errors.add();
        out_.append(r.reply);
        closing_ = true;
        break;
    }
  }
  return true;
}

bool Connection::continue_get(int64_t now_unix) {
  const bool done =
      executor_.get_some(request_, now_unix, get_next_key_, out_, out_sent_ + kMaxPendingOutput);
  get_in_progress_ = !done;
  return done;
}

bool Connection::flush() {
  while (out_sent_ < out_.size()) {
    const ssize_t n = ::write(fd_, out_.data() + out_sent_, out_.size() - out_sent_);
    if (n > 0) {
      out_sent_ += static_cast<std::size_t>(n);
      counters_.bytes_written.add(static_cast<uint64_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  out_.clear();
  out_sent_ = 0;
  // A one-off large reply (a big multi-get) should not pin its memory for the connection's life.
  if (out_.capacity() > 4 * kMaxValueBytes) out_.shrink_to_fit();
  return true;
}

void Connection::compact_input() {
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
    if (in_.size() > kInitialInput * 4) in_.resize(kInitialInput);
    return;
  }
  // Move the partial request to the front only when the tail has no room left.
  if (in_begin_ > 0 && in_end_ == in_.size()) {
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
}

}  // namespace virtuoso::kv
