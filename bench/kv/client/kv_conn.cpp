// kv-client connection: request generation, in-order reply matching, verification, buffered I/O.
#include "kv/client/kv_conn.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <utility>

#include "common/clock.hpp"
#include "common/pattern.hpp"
#include "kv/core/limits.hpp"

namespace virtuoso::kv {
namespace {

constexpr std::size_t kInitialInput = 64 * 1024;
constexpr std::size_t kMaxInput = kMaxValueBytes + 4 * kMaxLineBytes;
// Open loop keeps sending on schedule while replies lag, but not without bound: past this many
// in flight, due requests wait (their latency still counts from the scheduled time).
constexpr std::size_t kMaxOpenLoopInflight = 4096;
constexpr uint32_t kMinPreloadDepth = 32;
constexpr std::size_t kMaxPendingOutput = 4 * 1024 * 1024;

std::string printable_prefix(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 60)) {
    if (c == '\r' || c == '\n') break;
    out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  }
  return out;
}

}  // namespace

KvConn::KvConn(uint32_t id, uint32_t slot, int fd, ThreadCtx& ctx)
    : id_(id),
      slot_(slot),
      fd_(fd),
      ctx_(ctx),
      rng_(bench::splitmix64(ctx.opt.seed ^ (uint64_t{id} << 32))),
      in_(kInitialInput) {
  if (ctx.opt.open_loop()) {
    const double per_conn_per_ns = ctx.opt.rate / ctx.opt.connections / 1e9;
    gap_ = std::exponential_distribution<double>(per_conn_per_ns);
  }
}

KvConn::~KvConn() {
  if (fd_ >= 0) ::close(fd_);
}

void KvConn::start_preload(uint64_t first, uint64_t last) {
  phase_ = Phase::kPreload;
  preload_next_ = first;
  preload_end_ = last;
  pump();
}

void KvConn::start_load() {
  if (failed()) return;
  phase_ = Phase::kLoad;
  next_due_ns_ = static_cast<double>(ctx_.now);
  if (ctx_.opt.open_loop()) next_due_ns_ += gap_(rng_);
  pump();
}

uint64_t KvConn::next_due() const {
  if (failed() || phase_ != Phase::kLoad || !ctx_.opt.open_loop()) return UINT64_MAX;
  return static_cast<uint64_t>(next_due_ns_);
}

bool KvConn::may_issue(uint64_t t) const {
  if (phase_ != Phase::kLoad || ctx_.stop.load(std::memory_order_relaxed)) return false;
  if (t >= ctx_.tl.measure_end) return false;
  return ctx_.opt.requests == 0 || measured_issued_ < ctx_.opt.requests;
}

bool KvConn::finished() const {
  return failed() || (phase_ == Phase::kLoad && inflight_.empty() && !may_issue(ctx_.now));
}

uint64_t KvConn::next_key() {
  if (ctx_.work.zipf) return ctx_.work.zipf->next(rng_);
  return std::uniform_int_distribution<uint64_t>(0, ctx_.opt.keys - 1)(rng_);
}

void KvConn::issue(uint64_t start_ns) {
  const bool is_get = std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < ctx_.opt.get_ratio;
  const uint64_t key = next_key();
  const bool measured = ctx_.measuring(start_ns);
  if (measured) ++measured_issued_;
  if (is_get) {
    issue_get(key, start_ns, measured);
  } else {
    issue_set(key, start_ns, measured);
  }
}

void KvConn::issue_set(uint64_t key, uint64_t start_ns, bool measured) {
  out_ += "set ";
  const std::size_t at = out_.size();
  out_.resize(at + ctx_.opt.key_size);
  ctx_.work.keys.write_key(key, out_.data() + at);
  fmt::format_to(std::back_inserter(out_), " {} 0 {}\r\n", ValuePattern::flags(key), ctx_.opt.size);
  const std::size_t value_at = out_.size();
  out_.resize(value_at + ctx_.opt.size);
  ctx_.work.values.fill(key, out_.data() + value_at);
  out_ += "\r\n";
  if (ctx_.work.key_state) {
    uint8_t unset = static_cast<uint8_t>(KeyState::kUnset);
    ctx_.work.key_state[key].compare_exchange_strong(unset,
                                                     static_cast<uint8_t>(KeyState::kSetSent));
  }
  push(Pending{key, start_ns, Op::kSet, measured, 0});
}

void KvConn::issue_get(uint64_t key, uint64_t start_ns, bool measured) {
  out_ += "get ";
  const std::size_t at = out_.size();
  out_.resize(at + ctx_.opt.key_size);
  ctx_.work.keys.write_key(key, out_.data() + at);
  out_ += "\r\n";
  const uint8_t state = ctx_.work.key_state ? ctx_.work.key_state[key].load() : 0;
  push(Pending{key, start_ns, Op::kGet, measured, state});
}

void KvConn::push(const Pending& p) {
  if (inflight_.empty()) last_progress_ns_ = ctx_.now;
  inflight_.push_back(p);
}

void KvConn::fill() {
  // Requests are not queued faster than the socket takes them: a deep pipeline of large sets
  // would otherwise buffer gigabytes here (open loop: late requests keep their scheduled time).
  if (failed()) return;
  const auto room = [this] { return out_.size() - out_sent_ < kMaxPendingOutput; };
  if (phase_ == Phase::kPreload) {
    const std::size_t depth = std::max(ctx_.opt.pipeline, kMinPreloadDepth);
    while (inflight_.size() < depth && preload_next_ < preload_end_ && room()) {
      issue_set(preload_next_++, ctx_.now, false);
    }
  } else if (!ctx_.opt.open_loop()) {
    while (inflight_.size() < ctx_.opt.pipeline && may_issue(ctx_.now) && room()) {
      issue(ctx_.now);
    }
  } else {
    while (next_due_ns_ <= static_cast<double>(ctx_.now) &&
           inflight_.size() < kMaxOpenLoopInflight && room()) {
      const auto due = static_cast<uint64_t>(next_due_ns_);
      if (!may_issue(due)) break;
      issue(due);
      next_due_ns_ += gap_(rng_);
    }
  }
}

void KvConn::pump() {
  fill();
  flush();
}

bool KvConn::flush() {
  while (!failed() && out_sent_ < out_.size()) {
    const ssize_t n = ::write(fd_, out_.data() + out_sent_, out_.size() - out_sent_);
    if (n > 0) {
      out_sent_ += static_cast<std::size_t>(n);
      count_bytes(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!want_write_ && ctx_.watch(EPOLL_CTL_MOD, fd_, EPOLLIN | EPOLLOUT, slot_)) {
        want_write_ = true;
      }
      return true;
    }
    fail(&ErrorCounts::io, fmt::format("write: {}", std::strerror(errno)));
    return false;
  }
  if (failed()) return false;
  out_.clear();
  out_sent_ = 0;
  if (want_write_ && ctx_.watch(EPOLL_CTL_MOD, fd_, EPOLLIN, slot_)) want_write_ = false;
  return true;
}

void KvConn::on_writable() {
  if (flush()) pump();
}

void KvConn::on_readable() {
  while (!failed()) {
    if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
    if (in_end_ == in_.size() && in_begin_ > 0) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    if (in_end_ == in_.size()) {
      if (in_.size() >= kMaxInput) {
        fail(&ErrorCounts::protocol, "reply larger than any value the server may hold");
        return;
      }
      in_.resize(std::min(in_.size() * 2, kMaxInput));
    }
    const std::size_t room = in_.size() - in_end_;
    const ssize_t n = ::read(fd_, in_.data() + in_end_, room);
    if (n == 0) {
      fail(&ErrorCounts::io, fmt::format("server closed the connection with {} replies outstanding",
                                         inflight_.size()));
      return;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      fail(&ErrorCounts::io, fmt::format("read: {}", std::strerror(errno)));
      return;
    }
    ctx_.now = bench::now_ns();
    in_end_ += static_cast<std::size_t>(n);
    count_bytes(static_cast<std::size_t>(n));
    while (!failed()) {
      Reply reply;
      const std::string_view input(in_.data() + in_begin_, in_end_ - in_begin_);
      const ReplyParse r = parse_reply(input, kMaxValueBytes, reply);
      if (r.status == ReplyStatus::kNeedMore) break;
      if (r.status == ReplyStatus::kMalformed) {
        fail(&ErrorCounts::protocol, "unparseable reply: '" + printable_prefix(input) + "'");
        return;
      }
      handle(reply);
      in_begin_ += r.consumed;
    }
    // A short read emptied the socket: the next read would only say EAGAIN.
    if (static_cast<std::size_t>(n) < room) break;
  }
  pump();
}

void KvConn::handle(const Reply& reply) {
  if (inflight_.empty()) {
    fail(&ErrorCounts::protocol,
         "reply with no request outstanding: '" + printable_prefix(reply.data) + "'");
    return;
  }
  const Pending p = inflight_.front();
  last_progress_ns_ = ctx_.now;
  if (is_error(reply.kind) || (p.op == Op::kSet && reply.kind == ReplyKind::kNotStored)) {
    ++ctx_.result.errors.server;
    ctx_.report(id_, fmt::format("{} {} refused: {}", p.op == Op::kGet ? "get" : "set",
                                 ctx_.work.keys.key(p.key),
                                 reply.kind == ReplyKind::kNotStored ? "NOT_STORED"
                                 : reply.data.empty()                ? "ERROR"
                                                      : printable_prefix(reply.data)));
    got_value_ = false;
    inflight_.pop_front();
    return;
  }
  if (p.op == Op::kSet && reply.kind == ReplyKind::kStored) {
    inflight_.pop_front();
    complete_set(p);
    return;
  }
  if (p.op == Op::kGet && reply.kind == ReplyKind::kValue && !got_value_) {
    if (reply.key != ctx_.work.keys.key(p.key)) {
      fail(&ErrorCounts::protocol, fmt::format("value for key {} in reply to get {}", reply.key,
                                               ctx_.work.keys.key(p.key)));
      return;
    }
    got_value_ = true;
    if (ctx_.opt.verify) check_value(p, reply);
    return;
  }
  if (p.op == Op::kGet && reply.kind == ReplyKind::kEnd) {
    inflight_.pop_front();
    complete_get(p, std::exchange(got_value_, false));
    return;
  }
  fail(&ErrorCounts::protocol,
       fmt::format("unexpected reply to {} {}", p.op == Op::kGet ? "get" : "set",
                   ctx_.work.keys.key(p.key)));
}

void KvConn::check_value(const Pending& p, const Reply& reply) {
  const uint32_t want_flags = ValuePattern::flags(p.key);
  if (reply.flags == want_flags && ctx_.work.values.matches(p.key, reply.data)) return;
  ++ctx_.result.errors.verify;
  ctx_.report(id_, fmt::format("verify: key {} returned {} bytes with flags {}, which this client "
                               "never set ({} bytes, flags {}): another writer or a stale value? "
                               "flush the server",
                               ctx_.work.keys.key(p.key), reply.data.size(), reply.flags,
                               ctx_.opt.size, want_flags));
}

void KvConn::complete_get(const Pending& p, bool hit) {
  if (!hit && p.state_at_send == static_cast<uint8_t>(KeyState::kStored)) {
    ++ctx_.result.errors.verify;
    ctx_.report(id_, fmt::format("verify: get {} missed after its set was acknowledged (evicted? "
                                 "the key space must fit in the server's memory)",
                                 ctx_.work.keys.key(p.key)));
  }
  // Live counters include warm-up and preload, so that the progress line shows them too.
  LiveCounters::bump(ctx_.live.requests);
  LiveCounters::bump(ctx_.live.gets);
  if (hit) LiveCounters::bump(ctx_.live.hits);
  if (!p.measured) return;
  ThreadResult& r = ctx_.result;
  ++r.gets;
  if (hit) ++r.hits;
  r.latency_ns.record(ctx_.now - p.start_ns);
  r.last_completion_ns = ctx_.now;
}

void KvConn::complete_set(const Pending& p) {
  if (ctx_.work.key_state) {
    ctx_.work.key_state[p.key].store(static_cast<uint8_t>(KeyState::kStored));
  }
  LiveCounters::bump(ctx_.live.requests);
  if (!p.measured) return;
  ThreadResult& r = ctx_.result;
  ++r.sets;
  r.latency_ns.record(ctx_.now - p.start_ns);
  r.last_completion_ns = ctx_.now;
}

void KvConn::count_bytes(std::size_t n) {
  if (ctx_.measuring(ctx_.now)) ctx_.result.bytes += n;
}

void KvConn::fail(uint64_t ErrorCounts::*kind, const std::string& why) {
  ++(ctx_.result.errors.*kind);
  ctx_.report(id_, why);
  if (fd_ >= 0) {
    epoll_ctl(ctx_.epfd, EPOLL_CTL_DEL, fd_, nullptr);
    ::close(fd_);
  }
  fd_ = -1;
  phase_ = Phase::kDone;
  inflight_.clear();
}

void KvConn::abandon(const char* why) {
  if (failed()) return;
  if (inflight_.empty()) return;
  fail(&ErrorCounts::stall, fmt::format("{} replies still missing: {}", inflight_.size(), why));
}

}  // namespace virtuoso::kv
