// Unit tests: Ethernet II header parse/build against kernel-made frames.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "frames/frame_util.hpp"
#include "virtuoso/wire/ethernet.hpp"

using namespace virtuoso::wire;
using namespace test_frames;

namespace {
const MacAddr kClientMac{0x02, 0, 0, 0, 0, 0x01};
const MacAddr kServerMac{0x02, 0, 0, 0, 0, 0x02};
}  // namespace

TEST_CASE("eth: kernel ARP request -> broadcast destination, client source, ethertype ARP") {
  auto h = parse_eth(kernel_frames::kArpRequest, sizeof(kernel_frames::kArpRequest));
  REQUIRE(h);
  CHECK(h->dst == kBroadcastMac);
  CHECK(h->src == kClientMac);
  CHECK(h->ethertype == kEtherTypeArp);
}

TEST_CASE("eth: kernel TCP frame -> unicast MACs, ethertype IPv4") {
  auto h = parse_eth(kernel_frames::kSynAckFull, sizeof(kernel_frames::kSynAckFull));
  REQUIRE(h);
  CHECK(h->dst == kClientMac);
  CHECK(h->src == kServerMac);
  CHECK(h->ethertype == kEtherTypeIpv4);
}

TEST_CASE("eth: build from the parsed header -> reproduces the kernel's 14 bytes") {
  for (auto f : {copy(kernel_frames::kArpReply), copy(kernel_frames::kDataOdd)}) {
    auto h = parse_eth(f.data(), f.size());
    REQUIRE(h);
    std::vector<uint8_t> out(kEthHeaderLen, 0xaa);
    build_eth(out.data(), *h);
    CHECK(std::equal(out.begin(), out.end(), f.begin()));
  }
}

TEST_CASE("eth: buffer one byte short of a header -> rejected") {
  CHECK_FALSE(parse_eth(kernel_frames::kDataOdd, kEthHeaderLen - 1));
  CHECK(parse_eth(kernel_frames::kDataOdd, kEthHeaderLen));
}

TEST_CASE("eth: group bit -> broadcast and 01:00:5e are multicast, the kernel's unicast MACs are not") {
  CHECK(is_multicast(kBroadcastMac));
  CHECK(is_multicast(MacAddr{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}));
  CHECK_FALSE(is_multicast(kClientMac));
  CHECK_FALSE(is_multicast(kServerMac));
}
