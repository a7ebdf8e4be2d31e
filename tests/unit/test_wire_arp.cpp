// Unit tests: ARP (RFC 826) parse/build against the kernel's own request and reply.
#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

#include "frames/frame_util.hpp"
#include "virtuoso/wire/arp.hpp"

using namespace virtuoso::wire;
using namespace test_frames;

namespace {
const MacAddr kClientMac{0x02, 0, 0, 0, 0, 0x01};
const MacAddr kServerMac{0x02, 0, 0, 0, 0, 0x02};
const MacAddr kZeroMac{};
const uint8_t* arp_of(const uint8_t* frame) { return frame + kEthHeaderLen; }
}  // namespace

TEST_CASE("arp: kernel request -> op 1, client as sender, server IP as target, zero target MAC") {
  auto a = parse_arp(arp_of(kernel_frames::kArpRequest), kArpLen);
  REQUIRE(a);
  CHECK(a->op == kArpRequest);
  CHECK(a->sender_mac == kClientMac);
  CHECK(a->sender_ip == kClientIp);
  CHECK(a->target_mac == kZeroMac);
  CHECK(a->target_ip == kServerIp);
}

TEST_CASE("arp: kernel reply -> op 2, server as sender, client as target") {
  auto a = parse_arp(arp_of(kernel_frames::kArpReply), kArpLen);
  REQUIRE(a);
  CHECK(a->op == kArpReply);
  CHECK(a->sender_mac == kServerMac);
  CHECK(a->sender_ip == kServerIp);
  CHECK(a->target_mac == kClientMac);
  CHECK(a->target_ip == kClientIp);
}

TEST_CASE("arp: frame built from the parsed kernel request or reply -> kernel's 42 bytes, zero padding to 60") {
  for (auto k : {copy(kernel_frames::kArpRequest), copy(kernel_frames::kArpReply)}) {
    auto eth = parse_eth(k.data(), k.size());
    auto a = parse_arp(k.data() + kEthHeaderLen, k.size() - kEthHeaderLen);
    REQUIRE(eth);
    REQUIRE(a);
    std::vector<uint8_t> out(64, 0xaa);
    size_t n = build_arp_frame(out.data(), eth->dst, eth->src, *a);
    CHECK(n == 60);
    CHECK(std::equal(k.begin(), k.end(), out.begin()));
    CHECK(std::all_of(out.begin() + 42, out.begin() + 60, [](uint8_t b) { return b == 0; }));
    CHECK(out[60] == 0xaa);  // nothing written past the minimum frame
  }
}

TEST_CASE("arp: payload one byte short -> rejected") {
  CHECK_FALSE(parse_arp(arp_of(kernel_frames::kArpRequest), kArpLen - 1));
}

TEST_CASE("arp: hardware type, protocol type or address lengths not Ethernet/IPv4 -> rejected") {
  // Offsets inside the ARP payload: htype 0-1, ptype 2-3, hlen 4, plen 5.
  for (size_t off : {1, 2, 4, 5}) {
    auto p = copy(kernel_frames::kArpRequest);
    p[kEthHeaderLen + off] ^= 0x01;
    INFO("offset " << off);
    CHECK_FALSE(parse_arp(p.data() + kEthHeaderLen, kArpLen));
  }
}
