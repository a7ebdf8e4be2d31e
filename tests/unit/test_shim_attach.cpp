// Shim core: registering with the daemon over a real app.sock (SCM_RIGHTS, memfd, mapping checks),
// and the request channel that follows.
#include <catch2/catch.hpp>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "core/attach.hpp"
#include "test_support/fake_daemon.hpp"

using namespace virtuoso;
using namespace virtuoso::shim;

namespace {

// A one-client app.sock server: answers kRegister with a region and two eventfds, then echoes
// every later request's seq with `port` = 4242.
class AppSockServer {
 public:
  enum class Flaw { kNone, kBadMagic, kTwoFds, kShortRegion };

  explicit AppSockServer(Flaw flaw) : flaw_(flaw) {
    char tmpl[] = "/tmp/shim-attach-XXXXXX";
    dir_ = mkdtemp(tmpl);
    listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un sun = {};
    sun.sun_family = AF_UNIX;
    std::string path = dir_ + "/app.sock";
    std::strcpy(sun.sun_path, path.c_str());
    REQUIRE(::bind(listen_fd_, reinterpret_cast<struct sockaddr*>(&sun), sizeof sun) == 0);
    REQUIRE(::listen(listen_fd_, 1) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~AppSockServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
    ::unlink((dir_ + "/app.sock").c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& dir() const { return dir_; }
  abi::AppLayout layout = testing::small_layout();

 private:
  void serve() {
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    abi::AppRequest req{};
    if (::recv(c, &req, sizeof req, 0) != sizeof req) {
      ::close(c);
      return;
    }
    size_t bytes = layout.total_bytes();
    int mfd = memfd_create("region", MFD_CLOEXEC);
    [[maybe_unused]] int rc = ftruncate(mfd, flaw_ == Flaw::kShortRegion ? 4096 : bytes);
    if (flaw_ != Flaw::kShortRegion) {
      auto* h = static_cast<abi::AppRegionHeader*>(
          mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0));
      h->magic = flaw_ == Flaw::kBadMagic ? 1 : abi::kAppRegionMagic;
      h->version = abi::kAbiVersion;
      h->n_slots = layout.n_slots;
      h->rx_size = layout.rx_size;
      h->tx_size = layout.tx_size;
      h->atx_capacity = layout.atx_capacity;
      h->arx_capacity = layout.arx_capacity;
      h->ctl_capacity = layout.ctl_capacity;
      munmap(h, bytes);
    }
    int fds[3] = {mfd, eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)};
    int nfds = flaw_ == Flaw::kTwoFds ? 2 : 3;
    abi::AppResponse resp{};
    resp.kind = req.kind;
    resp.seq = req.seq;
    resp.ctx_id = 5;
    resp.layout = layout;
    resp.local_ip = 0x0a000001;
    version_seen_ = req.version;
    char cbuf[CMSG_SPACE(3 * sizeof(int))] = {};
    struct iovec iov = {&resp, sizeof resp};
    struct msghdr m = {};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    std::memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
    ::sendmsg(c, &m, 0);
    for (int fd : fds) ::close(fd);
    while (::recv(c, &req, sizeof req, 0) == sizeof req) {
      abi::AppResponse r{};
      r.kind = req.kind;
      r.seq = req.seq;
      r.port = 4242;
      bool hold = req.kind == static_cast<uint32_t>(abi::AppRequestKind::kForkHold);
      send_answer(c, r, hold ? eventfd(0, 0) : -1);
    }
    ::close(c);
  }
  // One answer, carrying descriptor `fd` (then closed here) if it is >= 0.
  static void send_answer(int c, abi::AppResponse& r, int fd) {
    char cbuf[CMSG_SPACE(sizeof(int))] = {};
    struct iovec iov = {&r, sizeof r};
    struct msghdr m = {};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (fd >= 0) {
      m.msg_control = cbuf;
      m.msg_controllen = sizeof cbuf;
      struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    }
    ::sendmsg(c, &m, 0);
    if (fd >= 0) ::close(fd);
  }

  Flaw flaw_;
  std::string dir_;
  int listen_fd_ = -1;
  std::thread thread_;

 public:
  uint32_t version_seen_ = 0;
};

}  // namespace

TEST_CASE("shim_attach_registers_maps_region_and_keeps_a_request_channel", "[shim][attach]") {
  AppSockServer server(AppSockServer::Flaw::kNone);
  KernelOps k = libc_kernel_ops();
  std::shared_ptr<Context> ctx;
  REQUIRE(attach_to_daemon(k, server.dir(), ctx) == 0);
  CHECK(server.version_seen_ == abi::kAbiVersion);
  CHECK(ctx->ctx_id() == 5);
  CHECK(ctx->local_ip() == 0x0a000001);
  CHECK(ctx->view().layout.n_slots == server.layout.n_slots);
  CHECK(ctx->view().header()->magic == abi::kAppRegionMagic);
  abi::AppRequest req{};
  req.kind = static_cast<uint32_t>(abi::AppRequestKind::kBind);
  abi::AppResponse resp{};
  CHECK(ctx->request(req, resp) == 0);
  CHECK(resp.port == 4242);
  CHECK(resp.seq == req.seq);
  CHECK(ctx->own_fds().size() == 3);  // two doorbells and the link: the region memfd was closed
}

TEST_CASE("shim_attach_channel_receives_the_hold_link_close_on_exec", "[shim][attach][fork]") {
  AppSockServer server(AppSockServer::Flaw::kNone);
  std::shared_ptr<Context> ctx;
  REQUIRE(attach_to_daemon(libc_kernel_ops(), server.dir(), ctx) == 0);
  abi::AppRequest req{};
  req.kind = static_cast<uint32_t>(abi::AppRequestKind::kForkHold);
  abi::AppResponse resp{};
  int fd = -1;
  REQUIRE(ctx->call_receiving_fd(req, resp, fd) == 0);
  REQUIRE(fd >= 0);
  CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  ::close(fd);
  // An answer without a descriptor: none, and the link goes on.
  req.kind = static_cast<uint32_t>(abi::AppRequestKind::kBind);
  CHECK(ctx->call_receiving_fd(req, resp, fd) == 0);
  CHECK(fd == -1);
  CHECK(resp.port == 4242);
}

TEST_CASE("shim_hold_link_channel_speaks_the_request_framing_and_owns_its_descriptor",
          "[shim][attach][fork]") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  std::thread daemon([fd = sv[1]] {
    abi::AppRequest req{};
    while (::recv(fd, &req, sizeof req, 0) == sizeof req) {
      abi::AppResponse r{};
      r.kind = req.kind;
      r.seq = req.seq;
      r.id = req.id + 1;
      ::send(fd, &r, sizeof r, 0);
    }
    ::close(fd);
  });
  {
    std::unique_ptr<RequestChannel> ch = make_unix_channel(libc_kernel_ops(), sv[0]);
    abi::AppRequest req{};
    req.kind = static_cast<uint32_t>(abi::AppRequestKind::kDropHold);
    req.id = 41;
    abi::AppResponse resp{};
    CHECK(ch->call(req, resp) == 0);
    CHECK(resp.id == 42);
    CHECK(resp.seq == req.seq);
  }
  CHECK(fcntl(sv[0], F_GETFD) < 0);  // closed with the channel: the daemon sees the link end
  daemon.join();
}

TEST_CASE("shim_attach_refuses_a_region_with_a_bad_magic", "[shim][attach]") {
  AppSockServer server(AppSockServer::Flaw::kBadMagic);
  std::shared_ptr<Context> ctx;
  CHECK(attach_to_daemon(libc_kernel_ops(), server.dir(), ctx) == -EAFNOSUPPORT);
  CHECK(ctx == nullptr);
}

TEST_CASE("shim_attach_refuses_an_answer_without_three_descriptors", "[shim][attach]") {
  AppSockServer server(AppSockServer::Flaw::kTwoFds);
  std::shared_ptr<Context> ctx;
  CHECK(attach_to_daemon(libc_kernel_ops(), server.dir(), ctx) == -EAFNOSUPPORT);
}

TEST_CASE("shim_attach_refuses_a_region_smaller_than_its_layout", "[shim][attach]") {
  AppSockServer server(AppSockServer::Flaw::kShortRegion);
  std::shared_ptr<Context> ctx;
  CHECK(attach_to_daemon(libc_kernel_ops(), server.dir(), ctx) == -EAFNOSUPPORT);
}

TEST_CASE("shim_attach_without_daemon_is_eafnosupport", "[shim][attach]") {
  std::shared_ptr<Context> ctx;
  CHECK(attach_to_daemon(libc_kernel_ops(), "/nonexistent/virtuoso", ctx) == -EAFNOSUPPORT);
}

TEST_CASE("shim_check_region_names_each_mismatch", "[shim][attach]") {
  abi::AppLayout l = testing::small_layout();
  abi::AppRegionHeader h{};
  h.magic = abi::kAppRegionMagic;
  h.version = abi::kAbiVersion;
  h.n_slots = l.n_slots;
  h.rx_size = l.rx_size;
  h.tx_size = l.tx_size;
  h.atx_capacity = l.atx_capacity;
  h.arx_capacity = l.arx_capacity;
  h.ctl_capacity = l.ctl_capacity;
  CHECK(check_region(l, h, l.total_bytes()).empty());
  CHECK_THAT(check_region(l, h, 100), Catch::Contains("bytes"));
  h.version = 99;
  CHECK_THAT(check_region(l, h, l.total_bytes()), Catch::Contains("ABI version 99"));
  h.version = abi::kAbiVersion;
  h.rx_size = 8192;
  CHECK_THAT(check_region(l, h, l.total_bytes()), Catch::Contains("does not match"));
  abi::AppLayout bad = l;
  bad.rx_size = 3000;
  CHECK_THAT(check_region(bad, h, l.total_bytes()), Catch::Contains("invalid"));
}
