// Unit tests: memcached text-protocol request parsing (partial input, pipelining, bad input).
#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "kv/core/limits.hpp"
#include "kv/core/request.hpp"

using namespace virtuoso::kv;

namespace {

ParseResult parse_one(std::string_view input, Request& req) {
  RequestParser parser;
  return parser.parse(input, req);
}

}  // namespace

TEST_CASE("kv parser: get with one key -> request consuming the whole line") {
  Request req;
  const auto r = parse_one("get foo\r\n", req);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(r.consumed == 9);
  CHECK(req.command == Command::kGet);
  REQUIRE(req.keys.size() == 1);
  CHECK(req.keys[0] == "foo");
}

TEST_CASE("kv parser: get with several keys and extra spaces -> one multi-get request") {
  Request req;
  const auto r = parse_one("get  a bb   ccc\r\n", req);
  REQUIRE(r.status == ParseStatus::kRequest);
  REQUIRE(req.keys.size() == 3);
  CHECK(req.keys[0] == "a");
  CHECK(req.keys[1] == "bb");
  CHECK(req.keys[2] == "ccc");
}

TEST_CASE("kv parser: line ended by a bare newline -> accepted like memcached") {
  Request req;
  const auto r = parse_one("gets k1\n", req);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(r.consumed == 8);
  CHECK(req.command == Command::kGets);
}

TEST_CASE("kv parser: set with flags, exptime and data -> all fields, data without CRLF") {
  Request req;
  const std::string in = "set key 42 3600 5\r\nhello\r\n";
  const auto r = parse_one(in, req);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(r.consumed == in.size());
  CHECK(req.command == Command::kSet);
  CHECK(req.keys.at(0) == "key");
  CHECK(req.flags == 42);
  CHECK(req.exptime == 3600);
  CHECK(req.data == "hello");
  CHECK_FALSE(req.noreply);
}

TEST_CASE("kv parser: add and replace with noreply and a zero-length value") {
  Request req;
  auto r = parse_one("add k 0 0 0 noreply\r\n\r\n", req);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(req.command == Command::kAdd);
  CHECK(req.noreply);
  CHECK(req.data.empty());
  r = parse_one("replace k 1 -1 1\r\nx\r\n", req);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(req.command == Command::kReplace);
  CHECK(req.exptime == -1);
  CHECK_FALSE(req.noreply);
}

TEST_CASE("kv parser: request split at every byte -> need more until the last byte arrives") {
  const std::string in = "set key 7 0 10\r\n0123456789\r\n";
  for (std::size_t cut = 0; cut < in.size(); ++cut) {
    RequestParser parser;
    Request req;
    const auto r = parser.parse(std::string_view(in).substr(0, cut), req);
    INFO("cut at " << cut);
    CHECK(r.status == ParseStatus::kNeedMore);
    CHECK(r.consumed == 0);
  }
  Request req;
  const auto r = parse_one(in, req);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(req.data == "0123456789");
}

TEST_CASE("kv parser: three pipelined requests in one buffer -> parsed in order") {
  const std::string in = "set a 0 0 1\r\nA\r\nget a b\r\ndelete a noreply\r\nversion\r\n";
  RequestParser parser;
  Request req;
  std::string_view rest = in;
  std::vector<Command> seen;
  while (true) {
    const auto r = parser.parse(rest, req);
    if (r.status == ParseStatus::kNeedMore) break;
    REQUIRE(r.status == ParseStatus::kRequest);
    seen.push_back(req.command);
    if (req.command == Command::kDelete) CHECK(req.noreply);
    rest.remove_prefix(r.consumed);
  }
  CHECK(rest.empty());
  CHECK(seen ==
        std::vector<Command>{Command::kSet, Command::kGet, Command::kDelete, Command::kVersion});
}

TEST_CASE("kv parser: unknown command or empty line -> ERROR and resynchronised at next line") {
  RequestParser parser;
  Request req;
  std::string_view in = "bogus 1 2\r\n\r\nget x\r\n";
  auto r = parser.parse(in, req);
  CHECK(r.status == ParseStatus::kReply);
  CHECK(r.reply == "ERROR\r\n");
  in.remove_prefix(r.consumed);
  r = parser.parse(in, req);
  CHECK(r.reply == "ERROR\r\n");
  in.remove_prefix(r.consumed);
  r = parser.parse(in, req);
  CHECK(r.status == ParseStatus::kRequest);
  CHECK(req.keys.at(0) == "x");
}

TEST_CASE("kv parser: commands are case sensitive and 'get' needs a key -> ERROR") {
  Request req;
  CHECK(parse_one("GET a\r\n", req).reply == "ERROR\r\n");
  CHECK(parse_one("get\r\n", req).reply == "ERROR\r\n");
  CHECK(parse_one("quit now\r\n", req).reply == "ERROR\r\n");
}

TEST_CASE("kv parser: version with arguments -> still a version request, as in memcached") {
  Request req;
  REQUIRE(parse_one("version foo bar\r\n", req).status == ParseStatus::kRequest);
  CHECK(req.command == Command::kVersion);
}

TEST_CASE("kv parser: key of 250 bytes accepted, 251 refused with CLIENT_ERROR") {
  Request req;
  const std::string ok(kMaxKeyBytes, 'k');
  CHECK(parse_one("get " + ok + "\r\n", req).status == ParseStatus::kRequest);
  const auto r = parse_one("get a " + ok + "k\r\n", req);
  CHECK(r.status == ParseStatus::kReply);
  CHECK(r.reply.starts_with("CLIENT_ERROR "));
}

TEST_CASE("kv parser: set with an overlong key -> CLIENT_ERROR and its data block skipped") {
  RequestParser parser;
  Request req;
  const std::string in =
      "set " + std::string(kMaxKeyBytes + 1, 'k') + " 0 0 3\r\nabc\r\nversion\r\n";
  auto r = parser.parse(in, req);
  REQUIRE(r.status == ParseStatus::kReply);
  CHECK(r.reply.starts_with("CLIENT_ERROR "));
  r = parser.parse(std::string_view(in).substr(r.consumed), req);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(req.command == Command::kVersion);
}

TEST_CASE("kv parser: bad numbers in a storage line -> CLIENT_ERROR bad command line format") {
  Request req;
  CHECK(parse_one("set k x 0 1\r\na\r\n", req).reply == "CLIENT_ERROR bad command line format\r\n");
  CHECK(parse_one("set k 0 0 -1\r\n", req).reply == "CLIENT_ERROR bad command line format\r\n");
  CHECK(parse_one("set k 0 0 1 yes\r\na\r\n", req).reply ==
        "CLIENT_ERROR bad command line format\r\n");
  CHECK(parse_one("set k 0 0\r\n", req).reply == "ERROR\r\n");
}

TEST_CASE("kv parser: data block not followed by CRLF -> CLIENT_ERROR bad data chunk") {
  Request req;
  const auto r = parse_one("set k 0 0 3\r\nabcd\r\n", req);
  CHECK(r.status == ParseStatus::kReply);
  CHECK(r.reply == "CLIENT_ERROR bad data chunk\r\n");
  CHECK(r.consumed == 13 + 5);
}

TEST_CASE("kv parser: value over 1 MiB -> SERVER_ERROR, then its bytes swallowed across reads") {
  RequestParser parser;
  Request req;
  const std::size_t bytes = kMaxValueBytes + 1;
  const std::string line = "set big 0 0 " + std::to_string(bytes) + "\r\n";
  auto r = parser.parse(line, req);
  REQUIRE(r.status == ParseStatus::kReply);
  CHECK(r.reply == "SERVER_ERROR object too large for cache\r\n");
  CHECK(r.consumed == line.size());
  CHECK(parser.swallowing());

  // The value arrives in chunks; the final chunk carries the next command too.
  const std::string chunk(65536, 'v');
  std::size_t left = bytes + 2;
  while (left > chunk.size()) {
    r = parser.parse(chunk, req);
    CHECK(r.status == ParseStatus::kNeedMore);
    CHECK(r.consumed == chunk.size());
    left -= chunk.size();
  }
  const std::string tail = std::string(left, 'v') + "get k\r\n";
  r = parser.parse(tail, req);
  CHECK(r.consumed == left);
  CHECK_FALSE(parser.swallowing());
  r = parser.parse(std::string_view(tail).substr(left), req);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(req.keys.at(0) == "k");
}

TEST_CASE("kv parser: value of exactly 1 MiB -> accepted") {
  Request req;
  const std::string in = "set k 0 0 " + std::to_string(kMaxValueBytes) + "\r\n" +
                         std::string(kMaxValueBytes, 'x') + "\r\n";
  const auto r = parse_one(in, req);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(req.data.size() == kMaxValueBytes);
}

TEST_CASE("kv parser: no newline within the line limit -> CLIENT_ERROR and close") {
  Request req;
  const std::string junk(kMaxLineBytes + 1, 'a');
  const auto r = parse_one(junk, req);
  CHECK(r.status == ParseStatus::kClose);
  CHECK(r.reply.starts_with("CLIENT_ERROR "));
  CHECK(parse_one(std::string(kMaxLineBytes, 'a'), req).status == ParseStatus::kNeedMore);
}

TEST_CASE("kv parser: delete forms -> key, legacy 0, noreply, extra tokens refused") {
  Request req;
  REQUIRE(parse_one("delete k\r\n", req).status == ParseStatus::kRequest);
  CHECK_FALSE(req.noreply);
  REQUIRE(parse_one("delete k 0 noreply\r\n", req).status == ParseStatus::kRequest);
  CHECK(req.noreply);
  CHECK(req.keys.at(0) == "k");
  CHECK(parse_one("delete k 5\r\n", req).reply == "CLIENT_ERROR bad command line format\r\n");
  CHECK(parse_one("delete\r\n", req).reply == "CLIENT_ERROR bad command line format\r\n");
}

TEST_CASE("kv parser: flush_all immediate forms accepted, a delay refused") {
  Request req;
  CHECK(parse_one("flush_all\r\n", req).status == ParseStatus::kRequest);
  REQUIRE(parse_one("flush_all 0 noreply\r\n", req).status == ParseStatus::kRequest);
  CHECK(req.noreply);
  CHECK(parse_one("flush_all 10\r\n", req).status == ParseStatus::kReply);
}

TEST_CASE("kv parser: multi-get line of 5000 keys (260 KB) -> one request with every key") {
  Request req;
  std::string line = "get";
  for (int i = 0; i < 5000; ++i) line += " key-with-a-longish-name-" + std::to_string(100000 + i);
  line += "\r\n";
  REQUIRE(line.size() > kMaxLineBytes);
  const auto r = parse_one(line, req);
  REQUIRE(r.status == ParseStatus::kRequest);
  CHECK(req.keys.size() == 5000);
  CHECK(req.keys.back() == "key-with-a-longish-name-104999");
  // Still waiting for the end of a long get line, but not past the multi-get limit.
  CHECK(parse_one(line.substr(0, line.size() - 2), req).status == ParseStatus::kNeedMore);
  CHECK(parse_one("gets " + std::string(kMaxGetLineBytes, 'k'), req).status == ParseStatus::kClose);
  CHECK(parse_one("set " + std::string(kMaxLineBytes, 'k'), req).status == ParseStatus::kClose);
}
