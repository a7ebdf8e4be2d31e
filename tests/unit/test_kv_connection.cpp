// Unit tests: kv-server connection handling over a socketpair (pipelining, splits, backpressure).
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <memory>
#include <string>

#include "kv/core/counters.hpp"
#include "kv/core/executor.hpp"
#include "kv/core/store.hpp"
#include "kv/server/connection.hpp"

using namespace virtuoso::kv;

namespace {

constexpr int64_t kNow = 1000;

// A connection on one end of a socketpair; the test plays the client on the other end.
struct Fixture {
  Fixture() {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    REQUIRE(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
    REQUIRE(fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0);
    peer = fds[1];
    info.version = "test";
    info.workers.push_back(&counters);
    info.store = &store;
    conn = std::make_unique<Connection>(fds[0], executor, counters);
  }
  ~Fixture() {
    conn.reset();
    close(peer);
  }

  // Writes all of `bytes`, letting the connection read whenever the socket buffer is full.
  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = write(peer, bytes.data(), bytes.size());
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
      } else {
        REQUIRE(errno == EAGAIN);
        REQUIRE(conn->on_readable(kNow) == Interest::kRead);
      }
    }
  }
  // The event loop calls on_readable while the socket stays readable; EOF shows on a later call.
  Interest read_until_settled() {
    Interest next = Interest::kRead;
    for (int i = 0; i < 16 && next == Interest::kRead; ++i) next = conn->on_readable(kNow);
    return next;
  }
  // Everything the connection has written so far.
  std::string receive() {
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = read(peer, buf, sizeof(buf))) > 0) out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

  Store store{1 << 26};
  WorkerCounters counters;
  ServerInfo info;
  Executor executor{store, counters, info};
  std::unique_ptr<Connection> conn;
  int peer = -1;
};

}  // namespace

TEST_CASE("kv connection: pipelined requests in one read -> all answered, in order") {
  Fixture f;
  f.send("set a 1 0 1\r\nA\r\nget a\r\ndelete a\r\nget a\r\nbogus\r\n");
  CHECK(f.conn->on_readable(kNow) == Interest::kRead);
  CHECK(f.receive() == "STORED\r\nVALUE a 1 1\r\nA\r\nEND\r\nDELETED\r\nEND\r\nERROR\r\n");
}

TEST_CASE("kv connection: request arriving a byte at a time -> one reply after the last byte") {
  Fixture f;
  const std::string req = "set key 0 0 5\r\nhello\r\nget key\r\n";
  std::string got;
  for (char c : req) {
    f.send(std::string_view(&c, 1));
    CHECK(f.conn->on_readable(kNow) == Interest::kRead);
    got += f.receive();
  }
  CHECK(got == "STORED\r\nVALUE key 0 5\r\nhello\r\nEND\r\n");
}

TEST_CASE("kv connection: client not reading a flood of large replies -> output stays bounded") {
  Fixture f;
  const std::string value(512 * 1024, 'v');
  f.send("set big 0 0 " + std::to_string(value.size()) + "\r\n");
  f.send(value + "\r\n");
  REQUIRE(f.conn->on_readable(kNow) == Interest::kRead);
  REQUIRE(f.receive() == "STORED\r\n");

  // 200 gets: 100 MiB of replies requested in 1.6 KB.
  const int gets = 200;
  std::string flood;
  for (int i = 0; i < gets; ++i) flood += "get big\r\n";
  f.send(flood);
  CHECK(f.conn->on_readable(kNow) == Interest::kWrite);
  CHECK(f.conn->pending_output() <= 8u * 1024 * 1024);

  // Draining the peer side lets the connection go on, and every reply arrives whole.
  const std::string one =
      "VALUE big 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\nEND\r\n";
  std::string got;
  std::size_t replies = 0;
  for (int rounds = 0; rounds < 100000 && replies < gets; ++rounds) {
    got += f.receive();
    while (got.size() >= one.size()) {
      REQUIRE(got.compare(0, one.size(), one) == 0);
      got.erase(0, one.size());
      ++replies;
    }
    if (f.conn->on_writable(kNow) == Interest::kRead && replies < gets) {
      got += f.receive();
    }
    CHECK(f.conn->pending_output() <= 8u * 1024 * 1024);
  }
  CHECK(replies == gets);
}

TEST_CASE("kv connection: quit after other requests -> their replies, then close") {
  Fixture f;
  f.send("set a 0 0 1\r\nA\r\nquit\r\nget a\r\n");
  CHECK(f.conn->on_readable(kNow) == Interest::kClose);
  CHECK(f.receive() == "STORED\r\n");
}

TEST_CASE("kv connection: peer half-closes after its requests -> answered, then close") {
  Fixture f;
  f.send("version\r\nget nothing\r\n");
  shutdown(f.peer, SHUT_WR);
  CHECK(f.read_until_settled() == Interest::kClose);
  CHECK(f.receive() == "VERSION test\r\nEND\r\n");
}

TEST_CASE("kv connection: endless line without newline -> CLIENT_ERROR, then close") {
  Fixture f;
  const std::string junk(70 * 1024, 'x');
  f.send(junk);
  CHECK(f.read_until_settled() == Interest::kClose);
  CHECK(f.receive() == "CLIENT_ERROR line too long\r\n");
  CHECK(f.counters.protocol_errors.get() == 1);
}

TEST_CASE("kv connection: one multi-get of 100 large values, peer not reading -> bounded, whole") {
  Fixture f;
  const std::string value(512 * 1024, 'm');
  std::string line = "get";
  for (int i = 0; i < 10; ++i) {
    const std::string key = fmt::format("m{}", i);
    f.send("set " + key + " 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n");
    line += " " + key;
  }
  REQUIRE(f.read_until_settled() == Interest::kRead);
  std::string stored;
  for (int i = 0; i < 10; ++i) stored += "STORED\r\n";
  REQUIRE(f.receive() == stored);
  // The same ten keys ten times over: 50 MiB in one request.
  std::string keys = line.substr(3);
  for (int i = 0; i < 9; ++i) line += keys;
  f.send(line + "\r\n");
  CHECK(f.conn->on_readable(kNow) == Interest::kWrite);
  CHECK(f.conn->pending_output() <= 8u * 1024 * 1024);

  std::string got;
  std::size_t most_pending = 0;
  for (int rounds = 0; rounds < 100000 && !got.ends_with("END\r\n"); ++rounds) {
    got += f.receive();
    f.conn->on_writable(kNow);
    most_pending = std::max(most_pending, f.conn->pending_output());
  }
  CHECK(most_pending <= 8u * 1024 * 1024);
  std::string want;
  for (int rep = 0; rep < 10; ++rep) {
    for (int i = 0; i < 10; ++i) {
      want += fmt::format("VALUE m{} 0 {}\r\n", i, value.size());
      want += value + "\r\n";
    }
  }
  want += "END\r\n";
  CHECK(got.size() == want.size());
  CHECK(got == want);
}
