// Unit tests of the service manager's readiness protocol: addresses, messages, and a real datagram.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <string>

#include "support/datagram_listener.hpp"
#include "tools/service_notify.hpp"

using virtuoso::tools::notify_ready;
using virtuoso::tools::notify_reloading;
using virtuoso::tools::notify_stopping;
using virtuoso::tools::parse_notify_address;
using virtuoso::tools::ServiceNotifier;

TEST_CASE("notify: a path, or @name in the abstract namespace, nothing else") {
  auto a = parse_notify_address("/run/systemd/notify");
  REQUIRE(a);
  CHECK(std::string(a->addr.sun_path) == "/run/systemd/notify");
  CHECK(a->len == offsetof(sockaddr_un, sun_path) + 20);  // with the NUL
  auto b = parse_notify_address("@sd-notify-42");
  REQUIRE(b);
  CHECK(b->addr.sun_path[0] == '\0');
  CHECK(std::string(b->addr.sun_path + 1, 12) == "sd-notify-42");
  CHECK(b->len == offsetof(sockaddr_un, sun_path) + 13);  // no NUL: the name is the bytes given
  CHECK_FALSE(parse_notify_address(""));
  CHECK_FALSE(parse_notify_address("relative/path"));
  CHECK_FALSE(parse_notify_address("/"));
  CHECK_FALSE(parse_notify_address("/" + std::string(200, 'x')));
}

TEST_CASE("notify: messages are assignments one per line, a status stays on its line") {
  CHECK(notify_ready(42, "ready ip=10.0.0.2/24") == "READY=1\nMAINPID=42\nSTATUS=ready ip=10.0.0.2/24\n");
  CHECK(notify_reloading(1234567, "two\nlines") == "RELOADING=1\nMONOTONIC_USEC=1234567\nSTATUS=two lines\n");
  CHECK(notify_stopping("stopping") == "STOPPING=1\nSTATUS=stopping\n");
}

TEST_CASE("notify: from the environment, sent to a listening socket, the variable is removed") {
  virtuoso::test::DatagramListener manager("notify-test");
  REQUIRE(manager.ok());
  setenv("NOTIFY_SOCKET", manager.path().c_str(), 1);
  ServiceNotifier n = ServiceNotifier::from_environment();
  CHECK(std::getenv("NOTIFY_SOCKET") == nullptr);  // children must not notify for us
  REQUIRE(n.enabled());
  CHECK(n.send(notify_ready(7, "up")));
  CHECK(manager.take() == "READY=1\nMAINPID=7\nSTATUS=up\n");
  manager.stop();
  CHECK_FALSE(n.send(notify_stopping("gone")));  // nobody listens: false, nothing else
  ServiceNotifier none = ServiceNotifier::from_environment();
  CHECK_FALSE(none.enabled());
  CHECK_FALSE(none.send("READY=1\n"));
}
