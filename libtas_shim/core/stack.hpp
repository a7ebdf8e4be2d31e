// The shim's process-wide state in one object: the descriptor table, the current daemon context,
// the epoll sets, and the POSIX socket calls implemented on top of them.
//
// Calls take the stack lock; it is never held while blocking in the kernel or waiting for the
// slow path. Every call returns >= 0 or -errno; the exported wrappers turn that into errno.
#pragma once
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "call_cycles.hpp"
#include "context.hpp"
#include "epoll_set.hpp"
#include "fd_table.hpp"
#include "flow_rings.hpp"
#include "kernel_ops.hpp"
#include "request_channel.hpp"
#include "socket.hpp"

namespace virtuoso::shim {

struct StackConfig {
  // How long a blocking call re-checks (yielding the core between checks) before it sleeps.
  uint32_t poll_us = 20;
};

// Attaches to the daemon: 0 and a context, or -errno (the reason was already reported).
using ContextFactory = std::function<int(const KernelOps&, std::shared_ptr<Context>&)>;
// A request channel over a fork hold link (a descriptor from kForkHold); the channel owns `fd`.
// Null: make_unix_channel (attach.hpp).
using HoldChannelFactory = std::function<std::unique_ptr<RequestChannel>(const KernelOps&, int fd)>;

class Guard;

// Internal result of one attempt of a call on a shared connection that found its slot taken: the
// call claims the connection back (adopt) and tries again. Never returned to the app.
inline constexpr int kClaimAgain = -(1 << 20);
// How often one call claims back a connection taken from under it before it gives up (each
// claim waits for kAdopted, so more than one means another process keeps taking it).
inline constexpr int kClaimRounds = 8;

// How long one sleep may last at most (ns, -1: no limit). A command waiting for room in the atx
// queue is retried every 100 us; a sleeper that got no kick descriptor (out of descriptors)
// cannot be woken by others and re-checks every millisecond.
inline int64_t sleep_cap_ns(const Context& ctx, const Sleeper& s) {
  if (ctx.cmds_pending()) return 100 * 1000;
  return s.kick_fd < 0 ? 1000 * 1000 : -1;
}

// A point in CLOCK_MONOTONIC time, or never.
struct Deadline {
  bool never = true;
  struct timespec at = {0, 0};
  static Deadline after_ms(int ms);  // ms < 0: never
  static Deadline after(const struct timespec* ts);  // null: never
  static Deadline after(const struct timeval& tv);   // zero: never (SO_RCVTIMEO semantics)
  bool expired() const;
  // Time left, capped at `cap_ns` (< 0: no cap); null when there is neither a deadline nor a cap.
  const struct timespec* remaining(struct timespec& buf, int64_t cap_ns = -1) const;
};

class Stack {
 public:
  Stack(const KernelOps& k, StackConfig cfg, ContextFactory attach,
        HoldChannelFactory hold_channel = nullptr);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  const KernelOps& kernel() const { return k_; }
  // Lock-free questions the exported wrappers ask on every call.
  bool is_socket(int fd) const { return fds_.kind(fd) == FdTable::Kind::kSocket; }
  bool is_internal(int fd) const { return fds_.kind(fd) == FdTable::Kind::kInternal; }
  bool any_sockets() const { return fds_.any_sockets(); }
  bool has_epoll_sets() const { return epoll_count_.load(std::memory_order_relaxed) != 0; }

  // stack.cpp: descriptors and the context.
  // A stream socket of `family` (AF_INET, or AF_INET6 dual stack); `type` may carry
  // SOCK_NONBLOCK/SOCK_CLOEXEC.
  int socket(int type, int family = AF_INET);
  int family_of(int fd);  // the socket's family (AF_INET if fd is none of the stack's)
  int close(int fd);
  int dup(int fd, int min_fd, bool cloexec);  // dup / F_DUPFD / F_DUPFD_CLOEXEC
  int dup3(int oldfd, int newfd, int flags, bool dup2_semantics);
  int fcntl(int fd, int cmd, uintptr_t arg);
  int ioctl(int fd, unsigned long req, void* arg);
  // stack_fork.cpp: pthread_atfork handlers. The locks are held across fork() so the child gets
  // whole state; before them, the parent asks the daemon for a hold link for the child.
  void fork_prepare();
  void fork_parent();
  void fork_child();
  // stack_inherit.cpp: called WITHOUT the stack lock by calls that need an inherited socket's
  // flow or listener: makes it this process's own (shares a listener, claims a connection).
  int adopt(int fd);
  // adopt() for each descriptor of an array of structs (pollfd...), `stride` bytes apart.
  int adopt_fds(const int* fds, size_t n, size_t stride);
  // Runs `once` (one step on `fd`'s connection) until it no longer answers kClaimAgain, adopting
  // (claiming back) the connection before each try; EAGAIN after kClaimRounds claims.
  template <typename Once>
  auto claiming(int fd, Once once) -> decltype(once()) {
    for (int round = 0;; ++round) {
      if (int rc = adopt(fd); rc < 0) return rc;
      auto r = once();
      if (r != kClaimAgain) return r;
      if (round == kClaimRounds) return -EAGAIN;
    }
  }
  // Sockets inherited through fork() and not yet adopted or closed: while 0, adopt() costs one
  // atomic load.
  uint32_t sockets_to_adopt() const { return to_adopt_.load(std::memory_order_relaxed); }
  FdTable::Kind fd_kind(int fd) const { return fds_.kind(fd); }
  void close_all_at_exit();

  // stack_exec.cpp: stack sockets that survive exec(). At load, in a program a fork() child
  // exec'd: takes the hold link VIRTUOSO_HOLD_FD names, and the descriptors bound to exec names
  // (exec_name.hpp) as inherited sockets, used as a fork child uses its own. Nothing without it.
  void start_after_exec();
  // libc failed a call on descriptor `fd`, which is not a stack socket: if it is a placeholder
  // that came through exec without its hold link, the error to report instead (EBADF, explained
  // once on stderr); else 0.
  int exec_orphan_error(int fd);

  // stack_conn.cpp: connection life cycle.
  int bind(int fd, const struct sockaddr* addr, socklen_t len);
  int listen(int fd, int backlog);
  int accept(int fd, struct sockaddr* addr, socklen_t* len, int flags);
  int connect(int fd, const struct sockaddr* addr, socklen_t len);
  int shutdown(int fd, int how);

  // stack_io.cpp: bytes.
  ssize_t send(int fd, const struct iovec* iov, int iovcnt, int flags);
  ssize_t recv(int fd, const struct iovec* iov, int iovcnt, int flags);
  // sendfile(2) to a stack socket: read from the file, send through the ring.
  ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count);

  // stack_opts.cpp: names and options.
  int getsockname(int fd, struct sockaddr* addr, socklen_t* len);
  int getpeername(int fd, struct sockaddr* addr, socklen_t* len);
  int setsockopt(int fd, int level, int name, const void* val, socklen_t len);
  int getsockopt(int fd, int level, int name, void* val, socklen_t* len);

  // stack_poll.cpp / stack_epoll.cpp: readiness across stack sockets and kernel descriptors.
  int poll(struct pollfd* fds, nfds_t n, const struct timespec* timeout, const sigset_t* mask);
  int epoll_ctl(int epfd, int op, int fd, struct epoll_event* ev);
  // Waits until `dl` at the clock's resolution (epoll_pwait2), whatever call the app made.
  int epoll_wait(int epfd, struct epoll_event* ev, int max, const Deadline& dl, const sigset_t* mask);
  // epoll_ctl of a kernel descriptor: the kernel does it; the shim remembers that this instance
  // has kernel descriptors, so waits that find stack sockets ready can skip the kernel otherwise.
  int epoll_ctl_kernel(int epfd, int op, int fd, struct epoll_event* ev);
  int epoll_closing(int epfd);  // close() of a descriptor marked FdTable::Kind::kEpoll
  // Removes the shim's own entries from a result of a plain kernel epoll wait.
  int epoll_filter_plain(struct epoll_event* ev, int n);

 private:
  friend class Guard;
  friend class SleepScope;
  friend class PollCall;
  using Ready = std::function<bool()>;

  // stack.cpp
  int ensure_context(std::shared_ptr<Context>& out);
  int new_placeholder(bool cloexec);
  int install(int fd, std::shared_ptr<Socket> s);
  void release(Socket& s);
  void close_flow(Context& c, Socket& s);
  void drain(Context& ctx, const Sleeper* self = nullptr);
  // Re-checks `ready` for up to poll_us (lock dropped between checks), if SpinPolicy says
  // re-checking pays on this thread; true if it became ready.
  bool spin(Guard& g, Context& ctx, const Deadline& dl, const Ready& ready);
  // Waits until `ready` (checked with the lock held, after draining): 0, -ETIMEDOUT or -EINTR.
  // `watch`: the sockets `ready` depends on (only their changes wake the call); empty: any.
  int block(Guard& g, Context& ctx, const Deadline& dl, const Ready& ready, Watch watch = {});
  // A wait's start, and its end with the condition met: teaches SpinPolicy how long waits last.
  int64_t wait_start() const;
  void wait_met(int64_t started_ns) const;
  int take_kick();
  void put_kick(int fd);
  void send_deferred(const std::shared_ptr<Context>& ctx, std::vector<Context::Deferred>& list);
  void notify(Socket& s);
  std::shared_ptr<Socket> lookup(int fd) const { return fds_.get(fd); }

  // stack_inherit.cpp
  void declare_accepting(Socket& s);
  int to_kernel_v6only(int fd, Socket& s);  // under the stack lock
  int share_listener(Guard& g, const std::shared_ptr<Socket>& s, const std::shared_ptr<Context>& own);
  int claim(Guard& g, const std::shared_ptr<Socket>& s, const std::shared_ptr<Context>& own);
  void settle(Socket& s);  // no longer inherited: adopted or closed
  void give_up(Socket& s, int err);  // inherited for good: calls fail with `err`
  void drop_inherited(const Socket& s);  // kDropHold for an inherited socket closed unused
  // Shared connection `s` found its slot taken: it becomes a held reference to claim back.
  void lost_slot(Socket& s);

  // stack_fork.cpp: the hold link a fork() child got from its parent, until kInherit passes it on.
  bool daemon_holds_anything();
  int take_fork_hold();
  void inherit_on_fork(Socket& s);
  void pass_hold(Context& fresh, const abi::AppResponse& inherit);
  void close_hold();
  void queue_hold_request(const abi::AppRequest& r);
  void send_hold_deferred();

  // stack_exec.cpp: a fork() child giving the sockets an exec would keep a name, and its hold
  // link to the program exec'd (VIRTUOSO_HOLD_FD). All with the stack lock held.
  void expose_for_exec(int fd, Socket& s);  // descriptor `fd` of `s` survives exec
  void expose_on_fork();                    // those without FD_CLOEXEC when the process forked
  void unexpose_hold();                     // the hold link is closing or went to a context
  bool name_for_exec(int fd, Socket& s);
  void mirror_nonblocking(int fd, const Socket& s);
  void report_exec_problem();

  // stack_conn.cpp
  int request(Socket& s, abi::AppRequest& req, abi::AppResponse& resp, Guard& g);
  int connect_wait(Guard& g, const std::shared_ptr<Socket>& s);
  void stop_listening(Socket& s);

  // stack_tcp_info.cpp
  int tcp_info(Socket& s, void* val, socklen_t* len);
  int get_congestion(Socket& s, void* val, socklen_t* len);
  int set_congestion(Socket& s, const void* val, socklen_t len);
  std::string congestion_name(Socket& s);

  // stack_io.cpp
  ssize_t try_send(Socket& s, IovCursor& cur);
  ssize_t try_recv(Socket& s, IovCursor& cur, int flags);
  // One attempt of send/recv/shutdown: kClaimAgain if the connection was taken meanwhile.
  ssize_t send_once(Guard& g, int fd, IovCursor& cur, int flags);
  ssize_t recv_once(Guard& g, int fd, IovCursor& cur, int flags, ssize_t total);
  // Adds one send or recv on `fd` and its cycles to the context's counters (stack lock held).
  void count_io(int fd, bool send, const CallSpan& span);
  int shutdown_once(int fd, bool rd, bool wr);

  // stack_epoll.cpp
  std::shared_ptr<EpollSet> epoll_set_for(int epfd, bool create, int& err);
  void register_shim_fds(EpollSet& set, Context& ctx);
  int epoll_filter(Context* ctx, const Sleeper* self, struct epoll_event* ev, int n);
  // Both sides without waiting: ready stack sockets and a zero-timeout kernel wait.
  int epoll_quick(Guard& g, EpollSet& set, Context* ctx, struct epoll_event* ev, int max);
  int epoll_kernel_now(Guard& g, EpollSet& set, Context* ctx, struct epoll_event* ev, int room);
  bool epoll_has_kernel_fds(int epfd) const;
  // The kernel's wait on `epfd` until `dl`, or for at most cap_ns (< 0: no cap); -1 with errno.
  int kernel_epoll_wait(int epfd, struct epoll_event* ev, int max, const Deadline& dl, int64_t cap_ns,
                        const sigset_t* mask);

  KernelOps k_;
  StackConfig cfg_;
  ContextFactory attach_;
  mutable std::mutex mu_;
  FdTable fds_;
  std::shared_ptr<Context> ctx_;
  std::unordered_map<int, std::shared_ptr<EpollSet>> epolls_;
  std::atomic<uint32_t> epoll_count_{0};
  std::unordered_set<int> epolls_with_kernel_fds_;  // epoll fds the app added kernel fds to
  std::vector<int> kick_pool_;
  std::mutex attach_mu_;  // one attach at a time; taken before mu_, never while holding it
  std::mutex adopt_mu_;   // one adoption of an inherited socket at a time; taken before attach_mu_
  std::atomic<uint32_t> to_adopt_{0};  // see sockets_to_adopt()

  // fork(). The hold link is replaced only with attach_mu_ and mu_ held, and used for requests
  // with attach_mu_ held; the rest is guarded by mu_.
  HoldChannelFactory hold_factory_;
  int hold_fd_ = -1;  // our reference-holding link to the daemon (from the parent's kForkHold)
  std::unique_ptr<RequestChannel> hold_;
  std::vector<abi::AppRequest> hold_deferred_;  // kDropHold to send on the hold link
  bool holds_refs_ = false;  // the daemon counts this process as holding what it inherited
  int inherit_refused_ = EBADF;  // what inherited sockets fail with when holds_refs_ is false
  int fork_hold_fd_ = -1;    // from fork_prepare to fork_parent / fork_child: the child's hold link
  // exec(). Guarded by mu_ but exec_problem_, written once at load.
  bool hold_exposed_ = false;  // hold_fd_ survives exec and VIRTUOSO_HOLD_FD names it
  std::string exec_problem_;   // why the sockets this program got through exec cannot be used
  std::atomic<bool> exec_problem_said_{false};
};

// Holds the stack lock for one call. On the way out it sends the slow-path requests that were
// queued meanwhile (aborts, closes), with the lock released.
class Guard {
 public:
  explicit Guard(Stack& st) : st_(st), lk_(st.mu_) {}
  ~Guard();
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
  void lock() { lk_.lock(); }
  void unlock() { lk_.unlock(); }

 private:
  Stack& st_;
  std::unique_lock<std::mutex> lk_;
};

// A blocking call's registration with the wake hub, from its first sleep until it returns.
// Stack lock held for every method, including the destructor.
class SleepScope {
 public:
  SleepScope(Stack& st, Context& ctx) : st_(st), ctx_(ctx) {}
  ~SleepScope();
  SleepScope(const SleepScope&) = delete;
  SleepScope& operator=(const SleepScope&) = delete;
  // `edge`: an epoll set's kick fd (shared, never reset, not pooled). `watch`: the sockets or
  // epoll set whose changes are to wake this sleeper; empty: any change (WakeHub::note).
  void enter(int kick_fd, bool edge, Watch watch = {});
  void leave();
  Sleeper& sleeper() { return sleeper_; }

 private:
  Stack& st_;
  Context& ctx_;
  Sleeper sleeper_;
  bool entered_ = false;
};

// select(2) on top of Stack::poll (any descriptor may be a stack socket); any set may be null.
int select_via_poll(Stack& st, int nfds, fd_set* rd, fd_set* wr, fd_set* ex,
                    const struct timespec* timeout, const sigset_t* mask);

}  // namespace virtuoso::shim
