// Slow path, app requests: bind/listen address rules, ephemeral ports, errors by errno.
#include <catch2/catch.hpp>

#include <cerrno>

#include "testing/harness.hpp"

using namespace virtuoso;
using namespace virtuoso::slowpath;
using namespace virtuoso::slowpath::testing;

namespace {
abi::AppRequest addr(uint32_t ip, uint16_t port) {
  abi::AppRequest r{};
  r.ip = ip;
  r.port = port;
  r.backlog = 8;
  return r;
}
}  // namespace

TEST_CASE("Requests: listen on a port already listened on -> EADDRINUSE") {
  Harness h;
  uint16_t a = h.add_app();
  uint16_t b = h.add_app();
  CHECK(h.request(a, abi::AppRequestKind::kListen, addr(0, 80)).error == 0);
  CHECK(h.request(b, abi::AppRequestKind::kListen, addr(0, 80)).error == EADDRINUSE);
  CHECK(h.request(b, abi::AppRequestKind::kListen, addr(kLocalIp, 80)).error == EADDRINUSE);
  CHECK(h.request(a, abi::AppRequestKind::kBind, addr(0, 80)).error == EADDRINUSE);
}

TEST_CASE("Requests: bind to an address that is not ours -> EADDRNOTAVAIL") {
  Harness h;
  uint16_t a = h.add_app();
  CHECK(h.request(a, abi::AppRequestKind::kBind, addr(0x7f000001, 80)).error == EADDRNOTAVAIL);
  CHECK(h.request(a, abi::AppRequestKind::kListen, addr(kPeerIp, 80)).error == EADDRNOTAVAIL);
}

TEST_CASE("Requests: bind then listen -> the listener takes over the bound port") {
  Harness h;
  uint16_t a = h.add_app();
  auto b = h.request(a, abi::AppRequestKind::kBind, addr(kLocalIp, 8080));
  REQUIRE(b.error == 0);
  CHECK(b.port == 8080);
  auto l = h.request(a, abi::AppRequestKind::kListen, addr(kLocalIp, 8080));
  CHECK(l.error == 0);
  CHECK(l.port == 8080);
  CHECK(l.ip == kLocalIp);
  CHECK(l.id != 0);
}

TEST_CASE("Requests: port bound by another app -> listen EADDRINUSE") {
  Harness h;
  uint16_t a = h.add_app();
  uint16_t b = h.add_app();
  REQUIRE(h.request(a, abi::AppRequestKind::kBind, addr(0, 8080)).error == 0);
  CHECK(h.request(b, abi::AppRequestKind::kListen, addr(0, 8080)).error == EADDRINUSE);
  CHECK(h.request(b, abi::AppRequestKind::kUnbind, addr(0, 8080)).error == EINVAL);
  CHECK(h.request(a, abi::AppRequestKind::kUnbind, addr(0, 8080)).error == 0);
  CHECK(h.request(b, abi::AppRequestKind::kListen, addr(0, 8080)).error == 0);
}

TEST_CASE("Requests: bind and listen to port 0 -> distinct ephemeral ports") {
  Harness h;
  uint16_t a = h.add_app();
  auto b = h.request(a, abi::AppRequestKind::kBind, addr(0, 0));
  auto l = h.request(a, abi::AppRequestKind::kListen, addr(0, 0));
  REQUIRE(b.error == 0);
  REQUIRE(l.error == 0);
  CHECK(b.port >= 32768);
  CHECK(l.port >= 32768);
  CHECK(b.port != l.port);
}

TEST_CASE("Requests: unlisten of another app's listener -> EINVAL") {
  Harness h;
  uint16_t a = h.add_app();
  uint16_t b = h.add_app();
  uint32_t lid = h.listen(a, 80);
  abi::AppRequest r{};
  r.id = lid;
  CHECK(h.request(b, abi::AppRequestKind::kUnlisten, r).error == EINVAL);
  CHECK(h.request(a, abi::AppRequestKind::kUnlisten, r).error == 0);
  CHECK(h.request(a, abi::AppRequestKind::kUnlisten, r).error == EINVAL);
}

TEST_CASE("Requests: accept ack with nothing accepted -> EINVAL") {
  Harness h;
  uint16_t a = h.add_app();
  abi::AppRequest r{};
  r.id = h.listen(a, 80);
  CHECK(h.request(a, abi::AppRequestKind::kAcceptAck, r).error == EINVAL);
}

TEST_CASE("Requests: unknown kind or a second register -> EINVAL, answers echo kind and seq") {
  Harness h;
  uint16_t a = h.add_app();
  abi::AppRequest r{};
  r.kind = 99;
  r.seq = 1234;
  auto resp = h.cp.handle_request(a, r, h.now);
  CHECK(resp.error == EINVAL);
  CHECK(resp.kind == 99);
  CHECK(resp.seq == 1234);
  CHECK(h.request(a, abi::AppRequestKind::kRegister).error == EINVAL);
}

TEST_CASE("Requests: context not attached -> ENOTCONN") {
  Harness h;
  Region mem(h.settings.app_layout.total_bytes());
  uint16_t ctx = *h.cp.add_context(abi::AppRegionView{mem.data(), h.settings.app_layout});
  CHECK(h.request(ctx, abi::AppRequestKind::kListen, addr(0, 80)).error == ENOTCONN);
}

TEST_CASE("Contexts: max_contexts reached -> no more contexts") {
  Settings s = test_settings();
  s.max_contexts = 1;
  Harness h(s);
  h.add_app();
  Region mem(h.settings.app_layout.total_bytes());
  CHECK_FALSE(h.cp.add_context(abi::AppRegionView{mem.data(), h.settings.app_layout}));
}

TEST_CASE("Contexts: fast path refuses the region -> id freed and the failure reported") {
  Harness h;
  Region mem(h.settings.app_layout.total_bytes());
  uint16_t ctx = *h.cp.add_context(abi::AppRegionView{mem.data(), h.settings.app_layout});
  h.cp.attach_context(ctx);
  REQUIRE(h.last_command(abi::FpCommandKind::kAttachCtx));
  CHECK(h.last_command(abi::FpCommandKind::kAttachCtx)->layout.n_slots == h.settings.app_layout.n_slots);
  h.event(abi::FpEventKind::kCtxAttached, 0, ENOMEM, ctx);
  CHECK(h.out.attached.back() == std::make_pair(ctx, ENOMEM));
  CHECK(h.cp.contexts() == 0);
}

TEST_CASE("Contexts: new region -> header written, queues empty") {
  Harness h;
  uint16_t ctx = h.add_app();
  const abi::AppRegionHeader* hdr = h.views[ctx].header();
  CHECK(hdr->magic == abi::kAppRegionMagic);
  CHECK(hdr->version == abi::kAbiVersion);
  CHECK(hdr->ctx_id == ctx);
  CHECK(hdr->n_slots == 8);
  CHECK(hdr->rx_size == 65536);
  CHECK(hdr->region_bytes == h.settings.app_layout.total_bytes());
  CHECK(h.views[ctx].ctl().empty());
  CHECK(h.out.attached.back() == std::make_pair(ctx, 0));
}
