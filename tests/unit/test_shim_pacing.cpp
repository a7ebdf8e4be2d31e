// Shim core: SO_MAX_PACING_RATE as Linux has it (32 or 64 bits, ~0 for none), the cap published
// in the flow's slot for the slow path, and the pacing rates in TCP_INFO.
#include <catch2/catch.hpp>
#include <netinet/tcp.h>

#include <cstdint>

#include "test_support/fake_daemon.hpp"

using namespace virtuoso;
using namespace virtuoso::shim;
using namespace virtuoso::shim::testing;

namespace {
// TCP_INFO as far as the kernel's tcpi_max_pacing_rate (linux/tcp.h).
struct InfoWithPacing {
  struct tcp_info base;
  uint64_t pacing_rate;
  uint64_t max_pacing_rate;
};
}  // namespace

TEST_CASE("shim_pacing_cap_reaches_the_flow_slot_and_reads_back_in_32_and_64_bits", "[shim][pacing]") {
  Harness h;
  int fd = h.connect_socket(3, 7);
  REQUIRE(fd >= 0);
  CHECK(h.daemon.slot(3).max_pacing_rate == 0);  // none set
  uint32_t v32 = 0;
  socklen_t len = sizeof v32;
  REQUIRE(h.stack->getsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &v32, &len) == 0);
  CHECK(v32 == UINT32_MAX);
  CHECK(len == sizeof v32);
  uint32_t rate = 125'000;
  CHECK(h.stack->setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof rate) == 0);
  CHECK(h.daemon.slot(3).max_pacing_rate == 125'000);
  uint64_t big = uint64_t{10} << 32;
  CHECK(h.stack->setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &big, sizeof big) == 0);
  CHECK(h.daemon.slot(3).max_pacing_rate == big);
  uint64_t v64 = 0;
  len = sizeof v64;
  REQUIRE(h.stack->getsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &v64, &len) == 0);
  CHECK(v64 == big);
  len = sizeof v32;
  REQUIRE(h.stack->getsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &v32, &len) == 0);
  CHECK(v32 == UINT32_MAX);  // too big for 32 bits
  uint32_t none = UINT32_MAX;
  CHECK(h.stack->setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &none, sizeof none) == 0);
  CHECK(h.daemon.slot(3).max_pacing_rate == 0);
  uint16_t tiny = 1;
  CHECK(h.stack->setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &tiny, sizeof tiny) == -EINVAL);
  h.stack->close(fd);
}

TEST_CASE("shim_pacing_cap_set_before_connect_is_published_once_connected", "[shim][pacing]") {
  Harness h;
  int fd = h.stack->socket(SOCK_STREAM | SOCK_NONBLOCK);
  uint32_t rate = 50'000;
  CHECK(h.stack->setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof rate) == 0);
  struct sockaddr_in a = Harness::addr(0x0a000002, 7);
  auto* sa = reinterpret_cast<struct sockaddr*>(&a);
  REQUIRE(h.stack->connect(fd, sa, sizeof a) == -EINPROGRESS);
  h.daemon.connected(h.channel().of_kind(abi::AppRequestKind::kConnect).back().id, 2, 5);
  REQUIRE(h.stack->connect(fd, sa, sizeof a) == 0);
  CHECK(h.daemon.slot(2).max_pacing_rate == 50'000);
  h.stack->close(fd);
}

TEST_CASE("shim_tcp_info_reports_the_pacing_rate_the_slow_path_published", "[shim][pacing]") {
  Harness h;
  int fd = h.connect_socket(3, 7);
  REQUIRE(fd >= 0);
  h.daemon.slot(3).pacing_rate = 72'000'000;
  InfoWithPacing ti{};
  socklen_t len = sizeof ti;
  REQUIRE(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0);
  CHECK(len == sizeof ti);
  CHECK(ti.pacing_rate == 72'000'000);
  CHECK(ti.max_pacing_rate == UINT64_MAX);  // no cap, as Linux reports it
  uint32_t rate = 1'000'000;
  REQUIRE(h.stack->setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof rate) == 0);
  REQUIRE(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0);
  CHECK(ti.max_pacing_rate == 1'000'000);
  struct tcp_info short_info{};
  len = sizeof short_info;  // glibc's struct: the call fills what fits
  REQUIRE(h.stack->getsockopt(fd, IPPROTO_TCP, TCP_INFO, &short_info, &len) == 0);
  CHECK(len == sizeof short_info);
  h.stack->close(fd);
}
