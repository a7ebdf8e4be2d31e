// Stack sockets that survive exec(): a fork() child naming the placeholders an exec would keep and
// leaving its hold link open for the program it execs; that program taking both back at load.
//
// Inetd-style servers fork, dup2 the connection onto 0 and 1 and exec the handler. The references
// the child holds travel on its hold link (kForkHold) until it registers a context: a child that
// execs before that passes the link on (VIRTUOSO_HOLD_FD), and each surviving placeholder carries
// what the new program needs to know in its abstract AF_UNIX name. The new program then behaves as
// the fork child would have: registers, passes the hold on (kInherit), claims each connection by
// its addresses (kClaim, kClaimByTuple), joins each listener (kShareListener); until then it may
// pass them on in turn (sh -c, env, nice between the server and the handler). A child that used
// its inherited sockets first (registered) cannot pass them: its references are its context's,
// which ends with the exec.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "exec_name.hpp"
#include "stack.hpp"

namespace virtuoso::shim {
namespace {

// The nonce's counter: process-wide, so that names never repeat within a process whatever
// number of Stack objects it has (tests have many).
std::atomic<uint32_t> g_exec_name_seq{0};

// The references a hold link carries can follow this socket through exec.
bool exec_passable(const Socket& s) {
  return s.inherited && !s.released &&
         (s.state == SockState::kListening || s.state == SockState::kConnected);
}

ExecName name_of(const Socket& s) {
  ExecName n;
  n.ipv6 = s.family == AF_INET6;
  // A listener may be bound to INADDR_ANY; a connection's local address is the stack's own.
  bool known = s.local_ip != 0 || s.state == SockState::kListening;
  n.local_ip = known ? s.local_ip : s.ctx->local_ip();
  n.local_port = s.local_port;
  if (s.state == SockState::kListening) {
    n.kind = ExecName::Kind::kListener;
    n.listener_id = s.listener_id;
    n.backlog = s.backlog;
  } else {
    n.remote_ip = s.remote_ip;
    n.remote_port = s.remote_port;
    n.ctx = s.flow_ctx;
    n.slot = s.slot;
    n.gen = s.gen;
  }
  return n;
}

// Descriptor number from the environment's text, or -1.
int parse_fd(const std::string& v) {
  if (v.empty() || v.size() > 9) return -1;
  char* end = nullptr;
  long n = strtol(v.c_str(), &end, 10);
  return (*end == '\0' && n >= 0 && n < FdTable::kMaxFds) ? static_cast<int>(n) : -1;
}

bool is_hold_link(const KernelOps& k, int fd) {
  int domain = 0;
  int type = 0;
  socklen_t len = sizeof domain;
  if (k.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) return false;
  len = sizeof type;
  if (k.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) return false;
  return domain == AF_UNIX && type == SOCK_SEQPACKET;
}

bool exec_name_of_fd(const KernelOps& k, int fd, ExecName& n) {
  struct sockaddr_un a = {};
  socklen_t len = sizeof a;
  if (k.getsockname(fd, reinterpret_cast<struct sockaddr*>(&a), &len) < 0) return false;
  return exec_name_from_address(a, len, n);
}

struct ExecGroup {
  ExecName name;
  std::vector<int> fds;  // dup()ed descriptors of one socket share its name
};

// Every open descriptor bound to an exec name, grouped by socket.
std::map<std::string, ExecGroup> find_exec_names(const KernelOps& k, int skip_fd) {
  std::map<std::string, ExecGroup> found;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return found;
  int own = dirfd(d);
  while (struct dirent* e = readdir(d)) {
    char* end = nullptr;
    long fd = strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == own || fd == skip_fd) continue;
    if (fd < 0 || fd >= FdTable::kMaxFds) continue;
    ExecName n;
    if (!exec_name_of_fd(k, static_cast<int>(fd), n)) continue;
    ExecGroup& g = found[format_exec_name(n)];
    g.name = n;
    g.fds.push_back(static_cast<int>(fd));
  }
  closedir(d);
  return found;
}

std::shared_ptr<Socket> socket_from_name(const ExecName& n, std::shared_ptr<Context> detached) {
  auto s = std::make_shared<Socket>(std::move(detached));
  s->inherited = true;
  s->came_through_exec = true;
  s->by_tuple = true;
  s->exec_named = true;
  s->family = n.ipv6 ? AF_INET6 : AF_INET;
  s->local_ip = n.local_ip;
  s->local_port = n.local_port;
  if (n.kind == ExecName::Kind::kListener) {
    s->state = SockState::kListening;
    s->listener_id = n.listener_id;
    s->backlog = n.backlog;
  } else {
    s->state = SockState::kConnected;
    s->remote_ip = n.remote_ip;
    s->remote_port = n.remote_port;
    s->flow_ctx = n.ctx;
    s->slot = n.slot;
    s->gen = n.gen;
  }
  return s;
}

}  // namespace

void Stack::expose_for_exec(int fd, Socket& s) {
  // Only references on a hold link can cross exec: once the hold went to a context (kInherit)
  // they are the context's, which ends with this program.
  if (!hold_ || !holds_refs_ || !exec_passable(s)) return;
  if (!s.exec_named && !name_for_exec(fd, s)) return;
  mirror_nonblocking(fd, s);
  if (hold_exposed_) return;
  int fl = k_.fcntl(hold_fd_, F_GETFD);
  if (fl < 0 || k_.fcntl(hold_fd_, F_SETFD, fl & ~FD_CLOEXEC) < 0) return;
  // glibc's fork() leaves malloc usable in the child, and this is a fork child.
  setenv(kHoldFdEnv, std::to_string(hold_fd_).c_str(), 1);
  hold_exposed_ = true;
}

void Stack::expose_on_fork() {
  if (!hold_) return;
  // Descriptors made close-on-exec are exposed later if dup2() or F_SETFD makes a copy that
  // survives (socat dup2s its close-on-exec connection onto 0 and 1 after forking).
  fds_.for_each([&](int fd, std::shared_ptr<Socket>& s) {
    if (!exec_passable(*s)) return;
    int fl = k_.fcntl(fd, F_GETFD);
    if (fl >= 0 && !(fl & FD_CLOEXEC)) expose_for_exec(fd, *s);
  });
}

void Stack::unexpose_hold() {
  if (!hold_exposed_) return;
  hold_exposed_ = false;
  unsetenv(kHoldFdEnv);  // its descriptor is closing, or its references are a context's now
}

bool Stack::name_for_exec(int fd, Socket& s) {
  ExecName n = name_of(s);
  n.pid = static_cast<uint32_t>(getpid());
  for (int attempt = 0; attempt < 8; ++attempt) {
    n.seq = g_exec_name_seq.fetch_add(1, std::memory_order_relaxed) + 1;
    socklen_t len = 0;
    struct sockaddr_un a = exec_name_address(n, len);
    if (k_.bind(fd, reinterpret_cast<struct sockaddr*>(&a), len) == 0) {
      s.exec_named = true;
      return true;
    }
    if (errno == EADDRINUSE) continue;  // the same pid and counter in another pid namespace
    if (errno != EINVAL) return false;
    // Bound already: the placeholder is shared with the parent, and an earlier child named it.
    ExecName old;
    s.exec_named = exec_name_of_fd(k_, fd, old);
    return s.exec_named;
  }
  return false;
}

void Stack::mirror_nonblocking(int fd, const Socket& s) {
  // O_NONBLOCK belongs to the open file description, which the new program's descriptor shares.
  int fl = k_.fcntl(fd, F_GETFL);
  if (fl < 0) return;
  int want = s.nonblocking ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
  if (want != fl) k_.fcntl(fd, F_SETFL, want);
}

void Stack::report_exec_problem() {
  if (exec_problem_.empty() || exec_problem_said_.exchange(true)) return;
  std::string line = "libtas_shim: " + exec_problem_ + "\n";
  [[maybe_unused]] ssize_t r = k_.write(2, line.data(), line.size());
}

void Stack::start_after_exec() {
  const char* v = getenv(kHoldFdEnv);
  if (v == nullptr) return;
  std::string value = v;
  unsetenv(kHoldFdEnv);  // set again below while the hold can go on to a program this one execs
  int hold = parse_fd(value);
  std::string problem;
  if (hold < 0 || !is_hold_link(k_, hold)) {
    problem = std::string(kHoldFdEnv) + "=" + value +
              " is not a hold link (an open AF_UNIX SOCK_SEQPACKET socket): the stack sockets "
              "this program got through exec cannot be used (EBADF)";
    hold = -1;
  }
  std::map<std::string, ExecGroup> found = find_exec_names(k_, hold);
  std::lock_guard<std::mutex> lk(mu_);
  if (found.empty()) {
    if (hold >= 0) k_.close(hold);  // nothing came through exec: its references go now
    return;
  }
  if (problem.empty()) {
    k_.fcntl(hold, F_SETFD, FD_CLOEXEC);  // until a descriptor that survives exec exposes it
    hold_fd_ = hold;
    hold_ = hold_factory_(k_, hold);
    fds_.mark_internal(hold);
    holds_refs_ = true;
  } else {
    exec_problem_ = problem;
    holds_refs_ = false;
  }
  std::shared_ptr<Context> detached = Context::detached(k_);
  uint32_t added = 0;
  for (auto& [text, g] : found) {
    std::shared_ptr<Socket> s = socket_from_name(g.name, detached);
    int fl = k_.fcntl(g.fds.front(), F_GETFL);
    s->nonblocking = fl >= 0 && (fl & O_NONBLOCK) != 0;
    for (int fd : g.fds) {
      if (fds_.kind(fd) != FdTable::Kind::kNone) continue;
      install(fd, s);
      // Until this program registers, it holds them as the fork child did, and may pass them on
      // the same way: `sh -c`, env or nice between the server and the handler exec again.
      int fl = k_.fcntl(fd, F_GETFD);
      if (fl >= 0 && !(fl & FD_CLOEXEC)) expose_for_exec(fd, *s);
    }
    if (s->fd_refs > 0) ++added;
  }
  to_adopt_.fetch_add(added, std::memory_order_relaxed);
}

int Stack::exec_orphan_error(int fd) {
  ExecName n;
  if (!exec_name_of_fd(k_, fd, n)) return 0;
  if (!exec_problem_said_.exchange(true)) {
    std::string line = "libtas_shim: descriptor " + std::to_string(fd) +
                       " is a stack socket passed through exec without its hold link (" +
                       kHoldFdEnv +
                       " is not in the environment: the program that exec'd cleared it, or "
                       "had used its inherited sockets first); calls on it fail with EBADF\n";
    [[maybe_unused]] ssize_t r = k_.write(2, line.data(), line.size());
  }
  return EBADF;
}

}  // namespace virtuoso::shim
