// Unit tests: the kv client's parser for memcached replies (values, status lines, partial input).
#include <catch2/catch.hpp>
#include <string>

#include "kv/core/reply.hpp"

using namespace virtuoso::kv;

TEST_CASE("kv reply: VALUE block -> key, flags and data, then END") {
  const std::string in = "VALUE k1 42 5\r\nhello\r\nEND\r\n";
  Reply reply;
  auto r = parse_reply(in, 1024, reply);
  REQUIRE(r.status == ReplyStatus::kReply);
  CHECK(reply.kind == ReplyKind::kValue);
  CHECK(reply.key == "k1");
  CHECK(reply.flags == 42);
  CHECK(reply.data == "hello");
  r = parse_reply(std::string_view(in).substr(r.consumed), 1024, reply);
  REQUIRE(r.status == ReplyStatus::kReply);
  CHECK(reply.kind == ReplyKind::kEnd);
}

TEST_CASE("kv reply: VALUE with a cas field (gets) -> parsed the same") {
  Reply reply;
  const auto r = parse_reply("VALUE k 0 2 12345\r\nab\r\n", 1024, reply);
  REQUIRE(r.status == ReplyStatus::kReply);
  CHECK(reply.data == "ab");
}

TEST_CASE("kv reply: value cut anywhere -> need more, nothing consumed") {
  const std::string in = "VALUE k 0 10\r\n0123456789\r\n";
  for (std::size_t cut = 0; cut < in.size(); ++cut) {
    Reply reply;
    const auto r = parse_reply(std::string_view(in).substr(0, cut), 1024, reply);
    INFO("cut at " << cut);
    CHECK(r.status == ReplyStatus::kNeedMore);
  }
}

TEST_CASE("kv reply: status lines -> their kinds, error text kept") {
  Reply reply;
  const struct {
    const char* line;
    ReplyKind kind;
  } cases[] = {
      {"STORED\r\n", ReplyKind::kStored},   {"NOT_STORED\r\n", ReplyKind::kNotStored},
      {"DELETED\r\n", ReplyKind::kDeleted}, {"NOT_FOUND\r\n", ReplyKind::kNotFound},
      {"EXISTS\r\n", ReplyKind::kExists},   {"OK\r\n", ReplyKind::kOk},
      {"ERROR\r\n", ReplyKind::kError},     {"VERSION 1.6.18\r\n", ReplyKind::kVersion},
      {"STAT pid 1\r\n", ReplyKind::kStat},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    REQUIRE(parse_reply(c.line, 0, reply).status == ReplyStatus::kReply);
    CHECK(reply.kind == c.kind);
  }
  REQUIRE(parse_reply("SERVER_ERROR out of memory storing object\r\n", 0, reply).status ==
          ReplyStatus::kReply);
  CHECK(reply.kind == ReplyKind::kServerError);
  CHECK(reply.data == "out of memory storing object");
  CHECK(is_error(reply.kind));
  CHECK_FALSE(is_error(ReplyKind::kNotFound));
}

TEST_CASE("kv reply: garbage, prefixes of words, bad VALUE lines -> malformed") {
  Reply reply;
  CHECK(parse_reply("HELLO\r\n", 1024, reply).status == ReplyStatus::kMalformed);
  CHECK(parse_reply("STOREDX\r\n", 1024, reply).status == ReplyStatus::kMalformed);
  CHECK(parse_reply("VALUE k x 1\r\na\r\n", 1024, reply).status == ReplyStatus::kMalformed);
  CHECK(parse_reply("VALUE k 0 3\r\nabcd\r\n", 1024, reply).status == ReplyStatus::kMalformed);
  CHECK(parse_reply("VALUE k 0\r\n", 1024, reply).status == ReplyStatus::kMalformed);
}

TEST_CASE("kv reply: value larger than the client asked for -> malformed without waiting") {
  Reply reply;
  CHECK(parse_reply("VALUE k 0 2048\r\n", 1024, reply).status == ReplyStatus::kMalformed);
}
