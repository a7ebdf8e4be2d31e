// Shim core: copying between iovecs and a flow's rings across the wrap, and position checks.
#include <catch2/catch.hpp>
#include <errno.h>

#include <string>
#include <vector>

#include "core/flow_rings.hpp"

using namespace virtuoso;
using virtuoso::shim::IovCursor;

TEST_CASE("shim_iov_copy_into_ring_wraps_and_spans_iovecs", "[shim][rings]") {
  std::vector<uint8_t> ring(2048, 0);
  std::string a = "hello ", b = "wrapped world";
  struct iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  IovCursor cur(iov, 2);
  uint32_t pos = 2048 - 4;  // four bytes before the end: the copy must wrap
  cur.drain_to_ring(ring.data(), 2048, pos, 10);
  CHECK(cur.remaining() == a.size() + b.size() - 10);
  cur.drain_to_ring(ring.data(), 2048, pos + 10, cur.remaining());
  CHECK(cur.done());
  std::string out(a.size() + b.size(), '\0');
  struct iovec o = {out.data(), out.size()};
  IovCursor rd(&o, 1);
  rd.fill_from_ring(ring.data(), 2048, pos, out.size());
  CHECK(out == a + b);
  CHECK(std::string(ring.begin() + 2044, ring.end()) == "hell");
  CHECK(std::string(ring.begin(), ring.begin() + 4) == "o wr");  // the rest wrapped to index 0
}

TEST_CASE("shim_iov_fill_from_ring_across_wrap_into_small_iovecs", "[shim][rings]") {
  std::vector<uint8_t> ring(2048);
  for (size_t i = 0; i < ring.size(); ++i) ring[i] = static_cast<uint8_t>(i);
  // Positions are free-running: 2^32 - 3 maps to index 2045.
  uint32_t pos = 0xfffffffdu;
  std::vector<uint8_t> x(3), y(1), z(4);
  struct iovec iov[3] = {{x.data(), 3}, {y.data(), 1}, {z.data(), 4}};
  IovCursor cur(iov, 3);
  cur.fill_from_ring(ring.data(), 2048, pos, 8);
  CHECK(x == std::vector<uint8_t>{253, 254, 255});
  CHECK(y == std::vector<uint8_t>{0});
  CHECK(z == std::vector<uint8_t>{1, 2, 3, 4});
}

TEST_CASE("shim_iov_skip_moves_without_copying", "[shim][rings]") {
  char buf[8] = "abcdefg";
  struct iovec iov = {buf, 7};
  IovCursor cur(&iov, 1);
  cur.skip(5);
  CHECK(cur.remaining() == 2);
  CHECK(std::string(buf) == "abcdefg");
}

TEST_CASE("shim_iov_total_rejects_bad_lists", "[shim][rings]") {
  char b[4];
  struct iovec ok[2] = {{b, 2}, {b, 2}};
  CHECK(shim::iov_total(ok, 2) == 4);
  CHECK(shim::iov_total(ok, -1) == -EINVAL);
  struct iovec null_base = {nullptr, 3};
  CHECK(shim::iov_total(&null_base, 1) == -EFAULT);
  struct iovec huge[2] = {{b, SIZE_MAX / 2}, {b, SIZE_MAX / 2}};
  CHECK(shim::iov_total(huge, 2) == -EINVAL);
  CHECK(shim::iov_total(nullptr, 0) == 0);
}

TEST_CASE("shim_rx_readable_rejects_head_beyond_ring", "[shim][rings]") {
  abi::FlowSlot s{};
  s.rx_head = 100;
  CHECK(shim::rx_readable(s, 40, 2048) == 60);
  CHECK(shim::rx_readable(s, 100, 2048) == 0);
  s.rx_head = 40 + 2049;  // more than the ring holds
  CHECK(shim::rx_readable(s, 40, 2048) == -1);
  s.rx_head = 30;  // behind our tail
  CHECK(shim::rx_readable(s, 40, 2048) == -1);
  s.rx_head = 5;  // wrapped around 2^32 correctly
  CHECK(shim::rx_readable(s, 0xfffffff0u, 2048) == 21);
}

TEST_CASE("shim_tx_in_flight_rejects_tail_ahead_of_head", "[shim][rings]") {
  abi::FlowSlot s{};
  s.tx_tail = 10;
  CHECK(shim::tx_in_flight(s, 10, 2048) == 0);
  CHECK(shim::tx_in_flight(s, 2058, 2048) == 2048);
  CHECK(shim::tx_in_flight(s, 2059, 2048) == -1);
  s.tx_tail = 11;  // acknowledged more than was written
  CHECK(shim::tx_in_flight(s, 10, 2048) == -1);
}
