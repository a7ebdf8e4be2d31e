// Socket addresses of the shim's calls: sockaddr_in, and sockaddr_in6 of dual-stack sockets with
// IPv4 shown v4-mapped, each refusal with Linux's errno.
#include <catch2/catch.hpp>

#include "core/sockaddr.hpp"

using namespace virtuoso::shim;

namespace {
struct sockaddr_in6 v6(const char* text, uint16_t port) {
  struct sockaddr_in6 a {};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  REQUIRE(inet_pton(AF_INET6, text, &a.sin6_addr) == 1);
  return a;
}
const struct sockaddr* sa(const void* p) { return static_cast<const struct sockaddr*>(p); }
}  // namespace

TEST_CASE("sockaddr: AF_INET6 :: and ::ffff:a.b.c.d stand for 0.0.0.0 and a.b.c.d", "[shim]") {
  uint32_t ip = 1;
  uint16_t port = 0;
  auto any = v6("::", 8080);
  REQUIRE(parse_sockaddr(AF_INET6, sa(&any), sizeof any, ip, port, -EADDRNOTAVAIL) == 0);
  CHECK(ip == 0);
  CHECK(port == 8080);
  auto mapped = v6("::ffff:10.77.3.2", 443);
  REQUIRE(parse_sockaddr(AF_INET6, sa(&mapped), sizeof mapped, ip, port, -EADDRNOTAVAIL) == 0);
  CHECK(ip == 0x0a4d0302);
  CHECK(port == 443);
  // The RFC 2133 length (no scope id) is enough, as on Linux.
  CHECK(parse_sockaddr(AF_INET6, sa(&mapped), kSockaddrIn6MinLen, ip, port, -EADDRNOTAVAIL) == 0);
}

TEST_CASE("sockaddr: AF_INET6 refusals: a real IPv6 address, too short, another family", "[shim]") {
  uint32_t ip = 0;
  uint16_t port = 0;
  auto real6 = v6("2001:db8::1", 80);
  CHECK(parse_sockaddr(AF_INET6, sa(&real6), sizeof real6, ip, port, -EADDRNOTAVAIL) == -EADDRNOTAVAIL);
  CHECK(parse_sockaddr(AF_INET6, sa(&real6), sizeof real6, ip, port, -ENETUNREACH) == -ENETUNREACH);
  auto loop6 = v6("::1", 80);
  CHECK(parse_sockaddr(AF_INET6, sa(&loop6), sizeof loop6, ip, port, -ENETUNREACH) == -ENETUNREACH);
  auto mapped = v6("::ffff:10.0.0.1", 80);
  CHECK(parse_sockaddr(AF_INET6, sa(&mapped), kSockaddrIn6MinLen - 1, ip, port, -ENETUNREACH) == -EINVAL);
  struct sockaddr_in v4 {};
  v4.sin_family = AF_INET;
  struct sockaddr_in6 holder {};  // an AF_INET address in a buffer long enough for sockaddr_in6
  std::memcpy(&holder, &v4, sizeof v4);
  CHECK(parse_sockaddr(AF_INET6, sa(&holder), sizeof holder, ip, port, -ENETUNREACH) == -EAFNOSUPPORT);
  CHECK(parse_sockaddr(AF_INET6, nullptr, sizeof holder, ip, port, -ENETUNREACH) == -EFAULT);
  // An AF_INET socket still wants sockaddr_in.
  CHECK(parse_sockaddr(AF_INET, sa(&mapped), sizeof mapped, ip, port, -ENETUNREACH) == -EAFNOSUPPORT);
}

TEST_CASE("sockaddr: filled for AF_INET6 as Linux reports IPv4 on a dual-stack socket", "[shim]") {
  struct sockaddr_in6 out {};
  socklen_t len = sizeof out;
  REQUIRE(fill_sockaddr(AF_INET6, reinterpret_cast<struct sockaddr*>(&out), &len, 0x0a4d0302, 40000) == 0);
  CHECK(len == sizeof(struct sockaddr_in6));
  char text[INET6_ADDRSTRLEN];
  REQUIRE(inet_ntop(AF_INET6, &out.sin6_addr, text, sizeof text));
  CHECK(std::string(text) == "::ffff:10.77.3.2");
  CHECK(out.sin6_family == AF_INET6);
  CHECK(ntohs(out.sin6_port) == 40000);
  CHECK(out.sin6_scope_id == 0);
  len = sizeof out;
  REQUIRE(fill_sockaddr(AF_INET6, reinterpret_cast<struct sockaddr*>(&out), &len, 0, 9000) == 0);
  REQUIRE(inet_ntop(AF_INET6, &out.sin6_addr, text, sizeof text));
  CHECK(std::string(text) == "::");  // a listener bound to any address
  // A short buffer gets what fits; the full size comes back (accept(2)).
  uint8_t small[8] = {};
  len = sizeof small;
  REQUIRE(fill_sockaddr(AF_INET6, reinterpret_cast<struct sockaddr*>(small), &len, 1, 2) == 0);
  CHECK(len == sizeof(struct sockaddr_in6));
}
