// Shim core: bytes through the rings, end of stream, errors, shutdown and close of a connection.
#include <catch2/catch.hpp>
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/ioctl.h>

#include <cstring>
#include <string>
#include <thread>

#include "test_support/fake_daemon.hpp"
#include "virtuoso/shm/atomic.hpp"

using namespace virtuoso;
using namespace virtuoso::shim;
using virtuoso::shim::testing::Harness;
using Kind = abi::AppRequestKind;

namespace {

ssize_t send_str(Harness& h, int fd, const std::string& s, int flags = 0) {
  struct iovec iov = {const_cast<char*>(s.data()), s.size()};
  return h.stack->send(fd, &iov, 1, flags);
}

// recv into a string of at most `max` bytes; the result is the call's return value.
ssize_t recv_str(Harness& h, int fd, std::string& out, size_t max, int flags = 0) {
  out.assign(max, '\0');
  struct iovec iov = {out.data(), max};
  ssize_t r = h.stack->recv(fd, &iov, 1, flags);
  out.resize(r > 0 ? static_cast<size_t>(r) : 0);
  return r;
}

size_t count_cmds(const std::vector<abi::AppCmd>& cmds, abi::AppCmdKind kind, uint32_t slot) {
  size_t n = 0;
  for (const auto& c : cmds) n += (c.kind == static_cast<uint16_t>(kind) && c.slot == slot);
  return n;
}

}  // namespace

TEST_CASE("shim_send_copies_into_tx_ring_and_bumps_fast_path", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(2, 5);
  REQUIRE(fd >= 0);
  CHECK(send_str(h, fd, "hello") == 5);
  auto cmds = h.daemon.take_cmds();
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].kind == static_cast<uint16_t>(abi::AppCmdKind::kTxBump));
  CHECK(cmds[0].slot == 2);
  CHECK(cmds[0].gen == 5);
  CHECK(h.daemon.slot(2).tx_head == 5);
  CHECK(h.daemon.take_tx(2) == "hello");
  h.stack->close(fd);
}

TEST_CASE("shim_send_and_recv_wrap_the_32bit_positions_and_the_ring", "[shim][io]") {
  Harness h;
  // Positions start 10 bytes before 2^32, and at ring index 4086: both wrap within one call.
  int fd = h.connect_socket(1, 1, 0xfffffff6u);
  REQUIRE(fd >= 0);
  std::string big(3000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  CHECK(send_str(h, fd, big) == 3000);
  CHECK(h.daemon.take_tx(1) == big);
  CHECK(h.daemon.deliver(1, big) == 3000);
  std::string got;
  CHECK(recv_str(h, fd, got, 4000) == 3000);
  CHECK(got == big);
  CHECK(h.daemon.slot(1).rx_tail == 0xfffffff6u + 3000);
  h.stack->close(fd);
}

TEST_CASE("shim_send_nonblocking_full_ring_is_partial_then_eagain", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(0, 1);
  std::string chunk(3000, 'q');
  CHECK(send_str(h, fd, chunk) == 3000);
  CHECK(send_str(h, fd, chunk) == 4096 - 3000);  // what fits
  CHECK(send_str(h, fd, chunk) == -EAGAIN);
  struct pollfd p = {fd, POLLOUT, 0};
  struct timespec zero = {0, 0};
  CHECK(h.stack->poll(&p, 1, &zero, nullptr) == 0);
  h.daemon.take_tx(0);  // the peer acknowledged everything
  CHECK(h.stack->poll(&p, 1, &zero, nullptr) == 1);
  CHECK(send_str(h, fd, "more", MSG_DONTWAIT) == 4);
  h.stack->close(fd);
}

TEST_CASE("shim_blocking_send_waits_for_acknowledged_space", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(0, 1, 0, false);
  std::string data(4096 + 1000, 'z');
  std::string seen;
  std::thread fast_path([&] {
    h.wait_app_sleeping();  // the sender found the ring full and sleeps
    seen = h.daemon.take_tx(0);
  });
  CHECK(send_str(h, fd, data) == static_cast<ssize_t>(data.size()));
  fast_path.join();
  CHECK(seen.size() == 4096);
  CHECK(h.daemon.take_tx(0).size() == 1000);
  h.stack->close(fd);
}

TEST_CASE("shim_recv_copies_and_reports_consumed_space", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(3, 2);
  std::string got;
  CHECK(recv_str(h, fd, got, 100) == -EAGAIN);
  h.daemon.deliver(3, "abcdef");
  CHECK(recv_str(h, fd, got, 4) == 4);
  CHECK(got == "abcd");
  CHECK(count_cmds(h.daemon.take_cmds(), abi::AppCmdKind::kRxConsumed, 3) == 1);
  CHECK(h.daemon.slot(3).rx_tail == 4);
  CHECK(recv_str(h, fd, got, 100, MSG_PEEK) == 2);
  CHECK(got == "ef");
  CHECK(h.daemon.slot(3).rx_tail == 4);  // peek consumed nothing
  int avail = -1;
  CHECK(h.stack->ioctl(fd, FIONREAD, &avail) == 0);
  CHECK(avail == 2);
  CHECK(recv_str(h, fd, got, 100) == 2);
  CHECK(got == "ef");
  h.stack->close(fd);
}

TEST_CASE("shim_recv_waitall_collects_across_deliveries", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(3, 2, 0, false);
  h.daemon.deliver(3, "12345");
  std::thread fast_path([&] {
    h.wait_app_sleeping();
    h.daemon.deliver(3, "67890");
  });
  std::string got;
  CHECK(recv_str(h, fd, got, 10, MSG_WAITALL) == 10);
  fast_path.join();
  CHECK(got == "1234567890");
  h.stack->close(fd);
}

TEST_CASE("shim_recv_returns_data_then_eof_after_peer_fin", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(4, 1);
  h.daemon.deliver(4, "last words");
  h.daemon.peer_fin(4);
  std::string got;
  CHECK(recv_str(h, fd, got, 100) == 10);
  CHECK(recv_str(h, fd, got, 100) == 0);
  CHECK(recv_str(h, fd, got, 100) == 0);
  CHECK(send_str(h, fd, "still may send") == 14);  // half-closed: our side stays open
  struct pollfd p = {fd, POLLIN | POLLRDHUP | POLLOUT, 0};
  struct timespec zero = {0, 0};
  CHECK(h.stack->poll(&p, 1, &zero, nullptr) == 1);
  CHECK(p.revents == (POLLIN | POLLRDHUP | POLLOUT));  // only what was asked, plus ERR/HUP
  h.stack->close(fd);
}

TEST_CASE("shim_reset_gives_data_then_error_once_then_eof_and_epipe", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(5, 3);
  h.daemon.deliver(5, "tail");
  h.daemon.reset(5, 3, ECONNRESET);
  std::string got;
  CHECK(recv_str(h, fd, got, 100) == 4);
  CHECK(recv_str(h, fd, got, 100) == -ECONNRESET);
  CHECK(recv_str(h, fd, got, 100) == 0);
  CHECK(send_str(h, fd, "x", MSG_NOSIGNAL) == -EPIPE);
  struct pollfd p = {fd, POLLIN | POLLOUT, 0};
  struct timespec zero = {0, 0};
  h.stack->poll(&p, 1, &zero, nullptr);
  CHECK((p.revents & (POLLIN | POLLOUT | POLLHUP)) == (POLLIN | POLLOUT | POLLHUP));
  CHECK(h.stack->shutdown(fd, SHUT_WR) == -ENOTCONN);
  h.stack->close(fd);
  // A failed flow is released without a FIN.
  CHECK(count_cmds(h.daemon.take_cmds(), abi::AppCmdKind::kTxFin, 5) == 0);
  CHECK(h.channel().of_kind(Kind::kClose).size() == 1);
}

TEST_CASE("shim_send_after_timeout_reports_etimedout_then_epipe", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(5, 3);
  h.daemon.reset(5, 3, ETIMEDOUT);
  CHECK(send_str(h, fd, "x") == -ETIMEDOUT);
  CHECK(send_str(h, fd, "x") == -EPIPE);
  h.stack->close(fd);
}

TEST_CASE("shim_fast_path_error_in_flow_slot_fails_the_socket", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(6, 1);
  h.daemon.slot(6).error = EPROTO;
  h.daemon.app_event(6, abi::AppEventKind::kError);
  std::string got;
  CHECK(recv_str(h, fd, got, 10) == -EPROTO);
  CHECK(recv_str(h, fd, got, 10) == 0);
  h.stack->close(fd);
}

TEST_CASE("shim_impossible_rx_head_fails_with_eio", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(6, 1);
  h.daemon.slot(6).rx_head = 4096 + 1;  // more than the ring can hold
  std::string got;
  CHECK(recv_str(h, fd, got, 10) == -EIO);
  CHECK(recv_str(h, fd, got, 10) == 0);
  CHECK(send_str(h, fd, "x", MSG_NOSIGNAL) == -EPIPE);
  h.stack->close(fd);
}

TEST_CASE("shim_shutdown_wr_queues_fin_once_and_send_fails_epipe", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(7, 1);
  CHECK(send_str(h, fd, "bye") == 3);
  CHECK(h.stack->shutdown(fd, SHUT_WR) == 0);
  CHECK(h.stack->shutdown(fd, SHUT_WR) == 0);
  auto cmds = h.daemon.take_cmds();
  REQUIRE(cmds.size() == 2);
  CHECK(cmds[0].kind == static_cast<uint16_t>(abi::AppCmdKind::kTxBump));
  CHECK(cmds[1].kind == static_cast<uint16_t>(abi::AppCmdKind::kTxFin));
  CHECK(send_str(h, fd, "late", MSG_NOSIGNAL) == -EPIPE);
  h.daemon.deliver(7, "reply");
  std::string got;
  CHECK(recv_str(h, fd, got, 10) == 5);  // reading still works
  h.stack->close(fd);
  CHECK(count_cmds(h.daemon.take_cmds(), abi::AppCmdKind::kTxFin, 7) == 0);  // not twice
}

TEST_CASE("shim_close_queues_fin_then_releases_the_slot", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(2, 9);
  send_str(h, fd, "data");
  CHECK(h.stack->close(fd) == 0);
  auto cmds = h.daemon.take_cmds();
  REQUIRE(cmds.size() == 2);
  CHECK(cmds[1].kind == static_cast<uint16_t>(abi::AppCmdKind::kTxFin));
  auto closes = h.channel().of_kind(Kind::kClose);
  REQUIRE(closes.size() == 1);
  CHECK(closes[0].slot == 2);
  CHECK(closes[0].gen == 9);
  CHECK(h.channel().of_kind(Kind::kAbort).empty());
  // Events for the released slot are stale now.
  h.daemon.deliver(2, "ignored");
  int fd2 = h.stack->socket(SOCK_STREAM);
  h.stack->close(fd2);
  CHECK(h.ctx->counters().stale_events >= 1);
}

TEST_CASE("shim_close_with_unread_data_aborts", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(2, 9);
  h.daemon.deliver(2, "unread");
  h.stack->close(fd);
  CHECK(h.channel().of_kind(Kind::kAbort).size() == 1);
  CHECK(h.channel().of_kind(Kind::kClose).empty());
  CHECK(count_cmds(h.daemon.take_cmds(), abi::AppCmdKind::kTxFin, 2) == 0);
}

TEST_CASE("shim_close_with_linger_zero_aborts", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(2, 9);
  struct linger l = {1, 0};
  CHECK(h.stack->setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l) == 0);
  h.stack->close(fd);
  CHECK(h.channel().of_kind(Kind::kAbort).size() == 1);
}

TEST_CASE("shim_bump_waits_in_shim_when_atx_is_full_and_is_pushed_later", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(1, 1);
  for (int i = 0; i < 16; ++i) REQUIRE(send_str(h, fd, "a") == 1);  // fills the 16-entry queue
  CHECK(send_str(h, fd, "b") == 1);  // the bump cannot be pushed now
  auto first = h.daemon.take_cmds();
  CHECK(first.size() == 16);
  CHECK(h.ctx->counters().cmds_deferred >= 1);
  int v = 0;
  socklen_t len = sizeof v;
  h.stack->getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len);  // any call retries
  auto later = h.daemon.take_cmds();
  REQUIRE(later.size() == 1);
  CHECK(later[0].kind == static_cast<uint16_t>(abi::AppCmdKind::kTxBump));
  CHECK(h.daemon.take_tx(1) == std::string(16, 'a') + "b");
  h.stack->close(fd);
}

TEST_CASE("shim_fast_path_doorbell_rung_only_when_it_sleeps", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(1, 1);
  int fp_db = h.ctx->own_fds()[1];
  auto rung = [&] {
    struct pollfd p = {fp_db, POLLIN, 0};
    bool r = ::poll(&p, 1, 0) == 1;
    uint64_t v;
    if (r) REQUIRE(::read(fp_db, &v, sizeof v) == sizeof v);
    return r;
  };
  send_str(h, fd, "x");
  CHECK_FALSE(rung());
  h.daemon.header().fp_sleeping = 1;
  send_str(h, fd, "y");
  CHECK(rung());
  h.stack->close(fd);
}

TEST_CASE("shim_recv_timeout_from_so_rcvtimeo_is_eagain", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(1, 1, 0, false);
  struct timeval tv = {0, 20000};
  CHECK(h.stack->setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
  struct timeval back = {};
  socklen_t len = sizeof back;
  CHECK(h.stack->getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &back, &len) == 0);
  CHECK(back.tv_usec == 20000);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  std::string got;
  CHECK(recv_str(h, fd, got, 10) == -EAGAIN);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
  CHECK(ms >= 19.0);
  h.stack->close(fd);
}

TEST_CASE("shim_options_report_what_linux_reports_for_tcp", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(1, 1);
  int v = 0;
  socklen_t len = sizeof v;
  CHECK(h.stack->getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0);
  CHECK(v == SOCK_STREAM);
  CHECK(h.stack->getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) == 0);
  CHECK(v == AF_INET);
  CHECK(h.stack->getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) == 0);
  CHECK(v == 4096);
  CHECK(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &v, &len) == 0);
  CHECK(v == 1460);
  int one = 1;
  CHECK(h.stack->setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
  CHECK(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0);
  CHECK(v == 1);
  CHECK(h.stack->setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) == 0);
  CHECK(h.stack->setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, 2) == -EINVAL);
  CHECK(h.stack->setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) == -ENOPROTOOPT);
  struct tcp_info ti;
  memset(&ti, 0xff, sizeof ti);
  len = sizeof ti;
  CHECK(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0);
  CHECK(len == sizeof ti);
  CHECK(ti.tcpi_state == TCP_ESTABLISHED);
  CHECK(ti.tcpi_snd_mss == 1460);  // the slot's snd_mss is 0 before the fast path sends: the handshake's
  CHECK(ti.tcpi_snd_cwnd == 0);    // the slow path has published no window here: 0, not invented
  len = 1;
  CHECK(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0);
  CHECK(len == 1);  // truncated like Linux
  char small = 0;
  len = 1;
  CHECK(h.stack->getsockopt(fd, SOL_SOCKET, SO_TYPE, &small, &len) == 0);
  CHECK(len == 1);  // truncated like Linux
  CHECK(h.stack->ioctl(fd, FIONBIO, &one) == 0);
  CHECK((h.stack->fcntl(fd, F_GETFL, 0) & O_NONBLOCK) != 0);
  h.stack->close(fd);
}

TEST_CASE("shim_tcp_info_has_the_congestion_window_and_tcp_congestion_names_the_algorithm", "[shim][io]") {
  Harness h;
  std::memcpy(h.daemon.header().default_congestion, "cubic", 6);  // the slow path's, at attach
  int idle = h.stack->socket(SOCK_STREAM);
  char name[32];
  socklen_t len = sizeof name;
  memset(name, 'x', sizeof name);
  CHECK(h.stack->getsockopt(idle, IPPROTO_TCP, TCP_CONGESTION, name, &len) == 0);
  CHECK(len == 16);  // TCP_CA_NAME_MAX, as Linux
  CHECK(std::string(name) == "cubic");
  int fd = h.connect_socket(1, 1);
  abi::FlowSlot& slot = h.daemon.slot(1);
  std::memcpy(slot.congestion, "dctcp", 6);  // what the slow path gave this flow (its tenant's)
  shm::store_relaxed(slot.snd_mss, 1000u);
  shm::store_relaxed(slot.snd_cwnd, 25'000u);
  shm::store_relaxed(slot.snd_ssthresh, 20'000u);
  struct tcp_info ti;
  len = sizeof ti;
  CHECK(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0);
  CHECK(ti.tcpi_snd_cwnd == 25);  // segments, as Linux counts them
  CHECK(ti.tcpi_snd_ssthresh == 20);
  shm::store_relaxed(slot.snd_ssthresh, UINT32_MAX);  // no cut yet
  CHECK(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0);
  CHECK(ti.tcpi_snd_ssthresh == 0x7fffffffu);  // TCP_INFINITE_SSTHRESH
  len = sizeof name;
  CHECK(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len) == 0);
  CHECK(std::string(name) == "dctcp");
  len = 2;
  CHECK(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len) == 0);
  CHECK(len == 2);  // truncated like Linux
  // Choosing the algorithm the daemon gave is fine; another is not the app's to choose; an unknown
  // one does not exist.
  CHECK(h.stack->setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "dctcp", 5) == 0);
  CHECK(h.stack->setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5) == -EPERM);
  CHECK(h.stack->setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "vegas", 5) == -ENOENT);
  CHECK(h.stack->setsockopt(idle, IPPROTO_TCP, TCP_CONGESTION, "cubic", 6) == 0);
  // A scribbled name without its terminator reads as at most 15 characters, never past the field.
  memset(slot.congestion, 'z', sizeof slot.congestion);
  len = sizeof name;
  CHECK(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len) == 0);
  CHECK(std::string(name, strnlen(name, len)) == std::string(15, 'z'));
  h.stack->close(fd);
  h.stack->close(idle);
}

TEST_CASE("shim_dup_shares_the_socket_and_the_last_close_releases", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(2, 2);
  int fd2 = h.stack->dup(fd, 0, false);
  REQUIRE(fd2 >= 0);
  CHECK(fd2 != fd);
  CHECK(h.stack->is_socket(fd2));
  CHECK(h.stack->close(fd) == 0);
  CHECK(h.channel().of_kind(Kind::kClose).empty());
  CHECK(send_str(h, fd2, "via dup") == 7);
  CHECK(h.stack->close(fd2) == 0);
  CHECK(h.channel().of_kind(Kind::kClose).size() == 1);
  CHECK_FALSE(h.stack->is_socket(fd2));
}

TEST_CASE("shim_dup2_over_a_stack_socket_releases_it", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(2, 2);
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  CHECK(h.stack->dup3(devnull, fd, 0, true) == fd);
  CHECK_FALSE(h.stack->is_socket(fd));
  CHECK(h.channel().of_kind(Kind::kClose).size() == 1);
  ::close(fd);
  ::close(devnull);
}

TEST_CASE("shim_sendfile_moves_file_bytes_and_updates_the_offset", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(1, 1);
  char path[] = "/tmp/shim-sendfile-XXXXXX";
  int file = mkstemp(path);
  REQUIRE(::write(file, "0123456789", 10) == 10);
  off_t off = 2;
  CHECK(h.stack->sendfile(fd, file, &off, 5) == 5);
  CHECK(off == 7);
  CHECK(h.daemon.take_tx(1) == "23456");
  REQUIRE(::lseek(file, 8, SEEK_SET) == 8);
  CHECK(h.stack->sendfile(fd, file, nullptr, 100) == 2);  // up to end of file, from its position
  CHECK(::lseek(file, 0, SEEK_CUR) == 10);
  CHECK(h.daemon.take_tx(1) == "89");
  // A full ring: what was read but not sent goes back to the file position.
  std::string fill(4096 - 3, 'f');
  CHECK(send_str(h, fd, fill) == static_cast<ssize_t>(fill.size()));
  REQUIRE(::lseek(file, 0, SEEK_SET) == 0);
  CHECK(h.stack->sendfile(fd, file, nullptr, 10) == 3);
  CHECK(::lseek(file, 0, SEEK_CUR) == 3);
  ::close(file);
  ::unlink(path);
  h.stack->close(fd);
}

TEST_CASE("shim_recv_errqueue_is_always_empty", "[shim][io]") {
  Harness h;
  int fd = h.connect_socket(1, 1);
  h.daemon.deliver(1, "data");
  std::string got;
  CHECK(recv_str(h, fd, got, 10, MSG_ERRQUEUE) == -EAGAIN);
  CHECK(recv_str(h, fd, got, 10) == 4);
  h.stack->close(fd);
}
