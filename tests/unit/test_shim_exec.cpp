// Shim core: stack sockets that survive exec(). The exec names (built, parsed back, refused when
// malformed); a fork() child naming what an exec keeps and handing its hold link on through
// VIRTUOSO_HOLD_FD; the new program taking both back at load (dups are one socket, kInherit, a
// claim by addresses, a listener shared by id, an unused one dropped); and what a program told
// nothing, or told wrong, makes of such descriptors.
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <functional>
#include <string>

#include "core/exec_name.hpp"
#include "test_support/fork_harness.hpp"

using namespace virtuoso;
using namespace virtuoso::shim;
using namespace virtuoso::shim::testing;

namespace {

ExecName connection_name() {
  ExecName n;
  n.pid = static_cast<uint32_t>(getpid());
  n.local_ip = 0x0a000001;
  n.local_port = 7200;
  n.remote_ip = 0x0a000002;
  n.remote_port = 40000;
  n.ctx = 1;
  n.slot = 2;
  n.gen = 9;
  return n;
}

ExecName listener_name() {
  ExecName n;
  n.kind = ExecName::Kind::kListener;
  n.pid = static_cast<uint32_t>(getpid());
  n.local_port = 7200;
  n.listener_id = 77;
  n.backlog = 10;
  return n;
}

// A nonce no other test in this process used: names are unique per network namespace.
uint32_t fresh_seq() {
  static uint32_t next = 0x7e000000;
  return next++;
}

// A placeholder as a fork child leaves it for exec: an AF_UNIX socket bound to `n`'s name.
int named_placeholder(ExecName n, bool nonblocking = false) {
  n.seq = fresh_seq();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  socklen_t len = 0;
  struct sockaddr_un a = exec_name_address(n, len);
  if (fd < 0 || ::bind(fd, reinterpret_cast<struct sockaddr*>(&a), len) != 0) return -1;
  return fd;
}

bool name_of_fd(int fd, ExecName& n) {
  struct sockaddr_un a = {};
  socklen_t len = sizeof a;
  return ::getsockname(fd, reinterpret_cast<struct sockaddr*>(&a), &len) == 0 &&
         exec_name_from_address(a, len, n);
}

std::string env_hold() {
  const char* v = getenv(kHoldFdEnv);
  return v ? v : "";
}

bool cloexec(int fd) {
  return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

// The program exec'd by a fork child: its own daemon context, and the hold link it was given.
struct ExecHarness {
  ExecHarness() : k(libc_kernel_ops()) {
    daemon.ctx_id = 3;
    stack = std::make_unique<Stack>(
        k, StackConfig{0},
        [this](const KernelOps&, std::shared_ptr<Context>& out) {
          out = daemon.make_context(k);
          return 0;
        },
        fake_hold_links(hold_links));
  }
  ~ExecHarness() {
    if (hold_peer >= 0) ::close(hold_peer);
    unsetenv(kHoldFdEnv);
  }
  // A hold link that survived exec, named in the environment as the fork child left it.
  int give_hold() {
    int sv[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    hold_peer = sv[1];
    setenv(kHoldFdEnv, std::to_string(sv[0]).c_str(), 1);
    return sv[0];
  }
  ChannelScript& own() { return *daemon.channel; }

  FakeDaemon daemon;
  KernelOps k;
  std::shared_ptr<ChannelScript> hold_links = std::make_shared<ChannelScript>();
  std::unique_ptr<Stack> stack;
  int hold_peer = -1;
};

// Runs `body` in a forked process holding no descriptor but 0-2 and `keep`, so that no other
// test's named placeholder is in sight; its exit status (0: every check in it held).
int in_clean_process(int keep, const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    for (int fd = 3; fd < 1024; ++fd) {
      if (fd != keep) ::close(fd);
    }
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace

TEST_CASE("shim_exec_names_of_a_connection_and_a_listener_parse_back", "[shim][exec]") {
  ExecName c = connection_name();
  c.pid = 4242;
  c.seq = 0x1f;
  c.slot = 3;
  c.gen = 7;
  std::string text = format_exec_name(c);
  CHECK(text == "virtuoso-sock/4242.1f/c/10.0.0.1:7200/10.0.0.2:40000/1.3.7");
  ExecName back;
  REQUIRE(parse_exec_name(text.data(), text.size(), back));
  CHECK(back == c);

  ExecName l = listener_name();
  l.pid = 4242;
  l.seq = 0x20;
  text = format_exec_name(l);
  CHECK(text == "virtuoso-sock/4242.20/l/0.0.0.0:7200/4d.a");
  REQUIRE(parse_exec_name(text.data(), text.size(), back));
  CHECK(back == l);

  // The longest name there can be still fits an abstract address whole.
  ExecName big;
  big.pid = big.seq = big.local_ip = big.remote_ip = 0xffffffffu;
  big.local_port = big.remote_port = 65535;
  big.ctx = big.slot = big.gen = 0xffffffffu;
  socklen_t len = 0;
  struct sockaddr_un a = exec_name_address(big, len);
  CHECK(len <= static_cast<socklen_t>(sizeof a));
  REQUIRE(exec_name_from_address(a, len, back));
  CHECK(back == big);
}

TEST_CASE("shim_exec_name_parse_refuses_what_format_would_not_make", "[shim][exec]") {
  std::string good = format_exec_name(connection_name());
  ExecName out;
  REQUIRE(parse_exec_name(good.data(), good.size(), out));
  auto refused = [&](const std::string& t) { return !parse_exec_name(t.data(), t.size(), out); };
  CHECK(refused("virtuoso-sick" + good.substr(13)));
  CHECK(refused(good + "/0"));
  CHECK(refused(good + " "));
  CHECK(refused(good.substr(0, good.size() - 2)));
  CHECK(refused(std::string(good).replace(good.find(":7200"), 5, ":07200")));
  CHECK(refused(std::string(good).replace(good.find(":7200"), 5, ":72000")));
  CHECK(refused(std::string(good).replace(good.find("10.0.0.2"), 8, "10.0.0.256")));
  CHECK(refused(std::string(good).replace(good.find("/c/"), 3, "/x/")));
  std::string with_nul = good;
  with_nul[good.size() - 1] = '\0';
  CHECK(refused(with_nul));
  CHECK(refused(""));
  // A path name (not abstract) is never ours, whatever it says.
  struct sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path, good.data(), std::min(good.size(), sizeof a.sun_path - 1));
  CHECK_FALSE(exec_name_from_address(a, sizeof a, out));
}

TEST_CASE("shim_exec_fork_child_names_a_connection_when_dup2_makes_it_survive_exec",
          "[shim][exec]") {
  ForkHarness h;
  int fd = h.connected(2, 9);
  REQUIRE(fd >= 0);
  REQUIRE(h.stack->fcntl(fd, F_SETFD, FD_CLOEXEC) == 0);  // as socat's accepted socket
  h.fork_child();
  int hold = h.hold_fd();
  REQUIRE(hold >= 0);
  ExecName n;
  CHECK_FALSE(name_of_fd(fd, n));  // exec would close it: nothing to pass yet
  CHECK(env_hold().empty());
  CHECK(cloexec(hold));

  int target = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // a number to dup2 onto, as 0 or 1
  REQUIRE(h.stack->dup3(fd, target, 0, true) == target);
  REQUIRE(name_of_fd(target, n));
  CHECK(n.kind == ExecName::Kind::kConnection);
  CHECK(n.pid == static_cast<uint32_t>(getpid()));
  CHECK(n.local_ip == 0x0a000001);  // from kConnected: the tuple the daemon knows it by
  CHECK(n.local_port == 50000);
  CHECK(n.remote_ip == 0x0a000002);
  CHECK(n.remote_port == 7);
  CHECK(n.ctx == 1);
  CHECK(n.slot == 2);
  CHECK(n.gen == 9);
  CHECK(env_hold() == std::to_string(hold));
  CHECK_FALSE(cloexec(hold));
  // O_NONBLOCK is on the shared open file description, for the new program to read.
  CHECK((::fcntl(target, F_GETFL) & O_NONBLOCK) != 0);
  REQUIRE(h.stack->fcntl(target, F_SETFL, 0) == 0);
  CHECK((::fcntl(target, F_GETFL) & O_NONBLOCK) == 0);

  // Used here after all: the hold goes to this process's context and no longer crosses exec.
  std::string got;
  CHECK(recv_str(*h.stack, target, got, 64, MSG_DONTWAIT) == -EAGAIN);
  CHECK(h.child().passed_fds.size() == 1);
  CHECK(env_hold().empty());
  CHECK(h.stack->close(fd) == 0);
  CHECK(h.stack->close(target) == 0);
}

TEST_CASE("shim_exec_fork_child_exposes_at_once_what_is_not_close_on_exec_and_keeps_a_given_name",
          "[shim][exec]") {
  ForkHarness h;
  uint32_t id = 0;
  int lfd = h.listener(7200, id);
  REQUIRE(lfd >= 0);
  int cfd = h.connected(3, 4);
  REQUIRE(cfd >= 0);
  // An earlier child of the same parent named this placeholder already (it is shared).
  ExecName before = connection_name();
  before.seq = fresh_seq();
  socklen_t len = 0;
  struct sockaddr_un a = exec_name_address(before, len);
  REQUIRE(::bind(cfd, reinterpret_cast<struct sockaddr*>(&a), len) == 0);
  h.fork_child();
  ExecName n;
  REQUIRE(name_of_fd(cfd, n));
  CHECK(n == before);
  REQUIRE(name_of_fd(lfd, n));
  CHECK(n.kind == ExecName::Kind::kListener);
  CHECK(n.listener_id == id);
  CHECK(n.local_port == 7200);
  CHECK(n.backlog == 16);
  CHECK(env_hold() == std::to_string(h.hold_fd()));
  CHECK(h.stack->close(lfd) == 0);
  CHECK(h.stack->close(cfd) == 0);
}

TEST_CASE("shim_exec_new_program_takes_dups_as_one_socket_and_claims_it_by_addresses",
          "[shim][exec]") {
  ExecHarness h;
  int a = named_placeholder(connection_name());
  REQUIRE(a >= 0);
  int b = ::dup(a);  // dup2'd onto 0 and 1
  int hold = h.give_hold();
  h.stack->start_after_exec();
  REQUIRE(h.stack->is_socket(a));
  REQUIRE(h.stack->is_socket(b));
  CHECK(h.stack->is_internal(hold));
  // Not used yet, and both descriptors would survive another exec: the hold stays passable.
  CHECK(env_hold() == std::to_string(hold));
  CHECK_FALSE(cloexec(hold));
  struct sockaddr_in sa = {};
  socklen_t len = sizeof sa;
  REQUIRE(h.stack->getpeername(a, reinterpret_cast<struct sockaddr*>(&sa), &len) == 0);
  CHECK(ntohl(sa.sin_addr.s_addr) == 0x0a000002);
  CHECK(ntohs(sa.sin_port) == 40000);
  REQUIRE(h.stack->getsockname(b, reinterpret_cast<struct sockaddr*>(&sa), &len) == 0);
  CHECK(ntohl(sa.sin_addr.s_addr) == 0x0a000001);
  CHECK(ntohs(sa.sin_port) == 7200);

  std::string got;
  CHECK(recv_str(*h.stack, a, got, 64, MSG_DONTWAIT) == -EAGAIN);  // registered, hold passed on, claim waiting
  REQUIRE(h.own().passed_fds.size() == 1);
  CHECK(h.own().passed_fds[0] == hold);
  CHECK(h.own().of_kind(abi::AppRequestKind::kInherit).size() == 1);
  auto claims = h.own().of_kind(abi::AppRequestKind::kClaim);
  REQUIRE(claims.size() == 1);
  CHECK(claims[0].slot == abi::kClaimByTuple);
  CHECK(claims[0].local_ip == 0x0a000001);
  CHECK(claims[0].local_port == 7200);
  CHECK(claims[0].ip == 0x0a000002);
  CHECK(claims[0].port == 40000);
  CHECK(env_hold().empty());
  CHECK(::fcntl(hold, F_GETFD) < 0);  // the link went to the daemon with kInherit

  h.daemon.prepare_slot(4, 11, 500);
  h.daemon.deliver(4, "hi");
  h.daemon.adopted(claims[0].id, 4, 11);
  CHECK(recv_str(*h.stack, b, got, 64, MSG_DONTWAIT) == 2);  // the other descriptor: the same socket
  CHECK(got == "hi");
  CHECK(send_str(*h.stack, a, "ok") == 2);
  CHECK(h.daemon.take_tx(4) == "ok");
  CHECK(h.stack->close(a) == 0);
  CHECK(h.own().of_kind(abi::AppRequestKind::kClose).empty());  // b still names it
  CHECK(h.stack->close(b) == 0);
  auto closes = h.own().of_kind(abi::AppRequestKind::kClose);
  REQUIRE(closes.size() == 1);
  CHECK(closes[0].flags == abi::kCloseShared);
  CHECK(closes[0].slot == 4);
  CHECK(h.hold_links->requests.empty());
}

TEST_CASE("shim_exec_new_program_shares_a_listener_by_its_id", "[shim][exec]") {
  ExecHarness h;
  int fd = named_placeholder(listener_name(), true);
  REQUIRE(fd >= 0);
  h.give_hold();
  h.stack->start_after_exec();
  REQUIRE(h.stack->is_socket(fd));
  CHECK((h.stack->fcntl(fd, F_GETFL, 0) & O_NONBLOCK) != 0);  // from the descriptor's flags
  struct sockaddr_in sa = {};
  socklen_t len = sizeof sa;
  REQUIRE(h.stack->getsockname(fd, reinterpret_cast<struct sockaddr*>(&sa), &len) == 0);
  CHECK(ntohs(sa.sin_port) == 7200);
  CHECK(h.stack->accept(fd, nullptr, nullptr, 0) == -EAGAIN);
  auto shares = h.own().of_kind(abi::AppRequestKind::kShareListener);
  REQUIRE(shares.size() == 1);
  CHECK(shares[0].id == 77);
  CHECK(shares[0].backlog == 10);
  h.daemon.accepted(500 + shares[0].seq, 1, 1);  // the fake daemon's own listener id
  int c = h.stack->accept(fd, nullptr, nullptr, 0);
  CHECK(c >= 0);
  CHECK(h.stack->close(c) == 0);
  CHECK(h.stack->close(fd) == 0);
}

TEST_CASE("shim_exec_new_program_gives_back_a_connection_closed_unused_by_its_addresses", "[shim][exec]") {
  ExecHarness h;
  int fd = named_placeholder(connection_name());
  REQUIRE(fd >= 0);
  h.give_hold();
  h.stack->start_after_exec();
  REQUIRE(h.stack->is_socket(fd));
  CHECK(h.stack->close(fd) == 0);
  auto drops = h.hold_links->of_kind(abi::AppRequestKind::kDropHold);
  REQUIRE(drops.size() == 1);  // on the hold link: this program never registered
  CHECK(drops[0].id == 0);
  // By its addresses: it may have moved since the name was made (taken by another holder).
  CHECK(drops[0].slot == abi::kClaimByTuple);
  CHECK(drops[0].local_ip == 0x0a000001);
  CHECK(drops[0].local_port == 7200);
  CHECK(drops[0].ip == 0x0a000002);
  CHECK(drops[0].port == 40000);
  CHECK(h.own().requests.empty());
}

TEST_CASE("shim_exec_new_program_with_nothing_named_lets_the_hold_go", "[shim][exec]") {
  ExecHarness h;
  int hold = h.give_hold();
  int status = in_clean_process(hold, [&] {
    h.stack->start_after_exec();
    bool closed = ::fcntl(hold, F_GETFD) < 0 && errno == EBADF;
    return closed && env_hold().empty() && h.stack->sockets_to_adopt() == 0 ? 0 : 1;
  });
  CHECK(status == 0);
}

TEST_CASE("shim_exec_new_program_with_a_wrong_hold_fd_fails_its_sockets_with_ebadf",
          "[shim][exec]") {
  ExecHarness h;
  int fd = named_placeholder(connection_name());
  REQUIRE(fd >= 0);
  int not_a_link = ::open("/dev/null", O_RDONLY);
  setenv(kHoldFdEnv, std::to_string(not_a_link).c_str(), 1);
  h.stack->start_after_exec();
  REQUIRE(h.stack->is_socket(fd));
  CHECK(env_hold().empty());
  std::string got;
  CHECK(recv_str(*h.stack, fd, got, 64, MSG_DONTWAIT) == -EBADF);
  CHECK(send_str(*h.stack, fd, "x") == -EBADF);
  CHECK(h.own().requests.empty());           // nothing registered for sockets it cannot have
  CHECK(::fcntl(not_a_link, F_GETFD) >= 0);  // not ours to close
  CHECK(h.stack->close(fd) == 0);
  ::close(not_a_link);
}

TEST_CASE("shim_exec_descriptor_named_but_no_hold_in_the_environment_is_explained",
          "[shim][exec]") {
  ExecHarness h;
  int fd = named_placeholder(connection_name());
  REQUIRE(fd >= 0);
  unsetenv(kHoldFdEnv);
  h.stack->start_after_exec();  // no variable: no scan, nothing taken
  CHECK_FALSE(h.stack->is_socket(fd));
  CHECK(h.stack->exec_orphan_error(fd) == EBADF);
  int plain = ::socket(AF_UNIX, SOCK_STREAM, 0);
  CHECK(h.stack->exec_orphan_error(plain) == 0);
  CHECK(h.stack->exec_orphan_error(0) == 0);
  ::close(plain);
  ::close(fd);
}
