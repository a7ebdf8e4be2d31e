// Slow path, listeners shared across fork(): joining an inherited listener, spreading connections, members leaving.
#include <catch2/catch.hpp>

#include <cerrno>

#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {

abi::AppResponse share(Harness& h, uint16_t ctx, uint32_t listener) {
  abi::AppRequest r{};
  r.id = listener;
  r.backlog = 16;
  return h.request(ctx, abi::AppRequestKind::kShareListener, r);
}

// The parent's app asks for a fork hold; the child's context takes it (kForkHold, then kInherit).
void inherit(Harness& h, uint16_t child, uint16_t parent) {
  uint32_t hold = h.cp.fork_hold(parent);
  uint16_t origin = 0;
  REQUIRE(h.cp.inherit_hold(child, hold, origin) == 0);
  CHECK(origin == parent);
}

abi::AppResponse accepting(Harness& h, uint16_t ctx, uint32_t listener) {
  abi::AppRequest r{};
  r.id = listener;
  return h.request(ctx, abi::AppRequestKind::kAccepting, r);
}

// listen() on port 80 by `ctx`: the errno (0: it listens now).
int listen_80(Harness& h, uint16_t ctx) {
  abi::AppRequest r{};
  r.port = 80;
  r.backlog = 4;
  return h.request(ctx, abi::AppRequestKind::kListen, r).error;
}

void unlisten(Harness& h, uint16_t ctx, uint32_t listener) {
  abi::AppRequest r{};
  r.id = listener;
  REQUIRE(h.request(ctx, abi::AppRequestKind::kUnlisten, r).error == 0);
}

void accept_ack(Harness& h, uint16_t ctx, uint32_t listener) {
  abi::AppRequest r{};
  r.id = listener;
  REQUIRE(h.request(ctx, abi::AppRequestKind::kAcceptAck, r).error == 0);
}

// Connects one peer port and returns the (context, listener id) its kAccepted went to.
std::pair<uint16_t, uint32_t> connect_one(Harness& h, uint16_t peer_port) {
  h.out.events.clear();
  h.accept_one(80, peer_port);
  REQUIRE(h.out.events.size() == 1);
  REQUIRE(h.out.events[0].second.kind == uint16_t(abi::CtlEventKind::kAccepted));
  return {h.out.events[0].first, h.out.events[0].second.id};
}

}  // namespace

TEST_CASE("Sharing: a listener of a context not inherited from -> EINVAL") {
  Harness h;
  uint16_t a = h.add_app();
  uint16_t b = h.add_app();
  uint32_t l = h.listen(a, 80);
  CHECK(share(h, b, l).error == EINVAL);
  uint16_t origin = 0;
  CHECK(h.cp.inherit_hold(b, 12345, origin) == EINVAL);  // no such hold
}

TEST_CASE("Sharing: a listener joined once -> the inherited reference is used up, a second join is refused") {
  Harness h;
  uint16_t parent = h.add_app();
  uint16_t child = h.add_app();
  uint32_t l = h.listen(parent, 80);
  inherit(h, child, parent);
  REQUIRE(share(h, child, l).error == 0);
  CHECK(share(h, child, l).error == EINVAL);
}

TEST_CASE("Sharing: child joins, parent never accepts -> every connection goes to the child") {
  Harness h;
  uint16_t parent = h.add_app();
  uint16_t child = h.add_app();
  uint32_t l = h.listen(parent, 80);
  inherit(h, child, parent);
  auto r = share(h, child, l);
  REQUIRE(r.error == 0);
  CHECK(r.id != l);
  CHECK(r.port == 80);
  for (uint16_t p = 0; p < 3; ++p) {
    auto [ctx, id] = connect_one(h, uint16_t(40000 + p));
    CHECK(ctx == child);
    CHECK(id == r.id);
    accept_ack(h, child, r.id);
  }
}

TEST_CASE("Sharing: two children accepting -> connections alternate as each accept()s") {
  Harness h;
  uint16_t parent = h.add_app();
  uint16_t c1 = h.add_app();
  uint16_t c2 = h.add_app();
  uint32_t l = h.listen(parent, 80);
  inherit(h, c1, parent);
  inherit(h, c2, parent);
  uint32_t m1 = share(h, c1, l).id;
  uint32_t m2 = share(h, c2, l).id;
  std::vector<uint16_t> got;
  for (uint16_t p = 0; p < 4; ++p) {
    auto [ctx, id] = connect_one(h, uint16_t(40000 + p));
    got.push_back(ctx);
    accept_ack(h, ctx, id);
    CHECK(id == (ctx == c1 ? m1 : m2));
  }
  CHECK(got[0] != got[1]);
  CHECK(got[1] != got[2]);
  CHECK(got[2] != got[3]);
}

TEST_CASE("Sharing: parent declares kAccepting -> parent and child both get connections") {
  Harness h;
  uint16_t parent = h.add_app();
  uint16_t child = h.add_app();
  uint32_t l = h.listen(parent, 80);
  inherit(h, child, parent);
  uint32_t m = share(h, child, l).id;
  REQUIRE(accepting(h, parent, l).error == 0);
  CHECK(accepting(h, child, l).error == EINVAL);  // not its own listener
  int to_parent = 0, to_child = 0;
  for (uint16_t p = 0; p < 4; ++p) {
    auto [ctx, id] = connect_one(h, uint16_t(40000 + p));
    (ctx == parent ? to_parent : to_child)++;
    CHECK(id == (ctx == parent ? l : m));
    accept_ack(h, ctx, id);
  }
  CHECK(to_parent == 2);
  CHECK(to_child == 2);
}

TEST_CASE("Sharing: the parent exits -> the port stays the child's until it closes its listener") {
  Harness h;
  uint16_t parent = h.add_app();
  uint16_t child = h.add_app();
  uint16_t other = h.add_app();
  uint32_t l = h.listen(parent, 80);
  inherit(h, child, parent);
  uint32_t m = share(h, child, l).id;
  h.cp.app_disconnected(parent, h.now);
  CHECK(h.cp.listeners() == 1);
  auto [ctx, id] = connect_one(h, 40000);
  CHECK(ctx == child);
  CHECK(id == m);
  CHECK(listen_80(h, other) == EADDRINUSE);
  unlisten(h, child, m);
  CHECK(listen_80(h, other) == 0);
}

TEST_CASE("Sharing: the child closes its listener -> the parent keeps the port and its connections") {
  Harness h;
  uint16_t parent = h.add_app();
  uint16_t child = h.add_app();
  uint32_t l = h.listen(parent, 80);
  inherit(h, child, parent);
  uint32_t m = share(h, child, l).id;
  unlisten(h, child, m);
  auto [ctx, id] = connect_one(h, 40000);
  CHECK(ctx == parent);
  CHECK(id == l);
}

TEST_CASE("Sharing: the parent exits before the child joins -> the child still gets the port") {
  Harness h;
  uint16_t parent = h.add_app();
  uint16_t child = h.add_app();
  uint16_t other = h.add_app();
  uint32_t l = h.listen(parent, 80);
  inherit(h, child, parent);
  h.cp.app_disconnected(parent, h.now);
  CHECK(listen_80(h, other) == EADDRINUSE);  // still held
  auto r = share(h, child, l);
  REQUIRE(r.error == 0);
  CHECK(h.cp.listeners() == 1);  // the parent's record went with its last holder
  auto [ctx, id] = connect_one(h, 40000);
  CHECK(ctx == child);
  CHECK(id == r.id);
}

TEST_CASE("Sharing: the parent closes its listener before the child joins -> SYNs wait, then go to the child") {
  Harness h;
  uint16_t parent = h.add_app();
  uint16_t child = h.add_app();
  uint32_t l = h.listen(parent, 80);
  inherit(h, child, parent);
  unlisten(h, parent, l);
  h.out.clear();
  h.rx(PeerSeg{wire::kTcpSyn, 1000, 0, 65535, 1460, 7, {}, kPeerIp, 40000, 80});
  CHECK(h.out.frames.empty());  // neither SYN-ACK nor RST: the peer retransmits
  CHECK(h.cp.stats().syn_dropped_no_owner == 1);
  uint32_t m = share(h, child, l).id;
  auto [ctx, id] = connect_one(h, 40001);
  CHECK(ctx == child);
  CHECK(id == m);
}

TEST_CASE("Sharing: the only child exits without joining -> the closed listener's port is free again") {
  Harness h;
  uint16_t parent = h.add_app();
  uint16_t other = h.add_app();
  uint32_t l = h.listen(parent, 80);
  uint32_t hold = h.cp.fork_hold(parent);
  unlisten(h, parent, l);
  CHECK(listen_80(h, other) == EADDRINUSE);
  h.cp.hold_link_gone(hold, h.now);
  CHECK(h.cp.listeners() == 0);
  CHECK(h.cp.table_counts().held_refs == 0);
  CHECK(listen_80(h, other) == 0);
}

TEST_CASE("Sharing: a burst of connections before anyone accepts -> spread one by one over the members") {
  Harness h;
  uint16_t parent = h.add_app();
  uint16_t c1 = h.add_app();
  uint16_t c2 = h.add_app();
  uint32_t l = h.listen(parent, 80);
  inherit(h, c1, parent);
  inherit(h, c2, parent);
  share(h, c1, l);
  share(h, c2, l);
  int to_c1 = 0, to_c2 = 0;
  for (uint16_t p = 0; p < 6; ++p) {  // nobody accept()s in between
    auto [ctx, id] = connect_one(h, uint16_t(41000 + p));
    (ctx == c1 ? to_c1 : to_c2)++;
    CHECK(ctx != parent);
  }
  CHECK(to_c1 == 3);
  CHECK(to_c2 == 3);
}
