// Unit tests: request execution (reply texts, noreply, exptime rules, stats, multi-get pieces).
#include <catch2/catch.hpp>
#include <string>

#include "kv/core/counters.hpp"
#include "kv/core/executor.hpp"
#include "kv/core/limits.hpp"
#include "kv/core/request.hpp"
#include "kv/core/store.hpp"

using namespace virtuoso::kv;

namespace {

constexpr int64_t kNow = 1'700'000'000;

struct Fixture {
  Fixture() {
    info.version = "9.9.9";
    info.workers.push_back(&counters);
    info.store = &store;
  }
  // Parses and executes every request in `input`; returns all replies.
  std::string run(std::string_view input, int64_t now = kNow) {
    std::string out;
    while (!input.empty()) {
      const ParseResult r = parser.parse(input, request);
      REQUIRE(r.status != ParseStatus::kNeedMore);
      if (r.status == ParseStatus::kRequest) {
        executor.execute(request, now, out);
      } else {
        out.append(r.reply);
      }
      input.remove_prefix(r.consumed);
    }
    return out;
  }

  Store store{1 << 20};
  WorkerCounters counters;
  ServerInfo info;
  Executor executor{store, counters, info};
  RequestParser parser;
  Request request;
};

}  // namespace

TEST_CASE("kv executor: storage commands -> STORED / NOT_STORED, get shows flags, gets a cas") {
  Fixture f;
  CHECK(f.run("set a 3 0 2\r\nAA\r\n") == "STORED\r\n");
  CHECK(f.run("add a 0 0 1\r\nX\r\n") == "NOT_STORED\r\n");
  CHECK(f.run("replace b 0 0 1\r\nX\r\n") == "NOT_STORED\r\n");
  CHECK(f.run("get a b\r\n") == "VALUE a 3 2\r\nAA\r\nEND\r\n");
  CHECK(f.run("gets a\r\n") == "VALUE a 3 2 0\r\nAA\r\nEND\r\n");
}

TEST_CASE("kv executor: noreply -> no reply for success or NOT_STORED") {
  Fixture f;
  CHECK(f.run("set a 0 0 1 noreply\r\nA\r\nadd a 0 0 1 noreply\r\nB\r\ndelete zz noreply\r\n")
            .empty());
  CHECK(f.run("get a\r\n") == "VALUE a 0 1\r\nA\r\nEND\r\n");
}

TEST_CASE("kv executor: exptime relative, absolute and negative -> visible until due") {
  Fixture f;
  f.run("set rel 0 10 1\r\nr\r\nset abs 0 1700000020 1\r\na\r\nset neg 0 -1 1\r\nn\r\n");
  CHECK(f.run("get rel abs neg\r\n") == "VALUE rel 0 1\r\nr\r\nVALUE abs 0 1\r\na\r\nEND\r\n");
  CHECK(f.run("get rel abs\r\n", kNow + 10) == "VALUE abs 0 1\r\na\r\nEND\r\n");
  CHECK(f.run("get rel abs\r\n", kNow + 20) == "END\r\n");
  CHECK(expire_at(0, kNow) == kNeverExpires);
  CHECK(expire_at(kMaxRelativeExptime, kNow) == kNow + kMaxRelativeExptime);
  CHECK(expire_at(kMaxRelativeExptime + 1, kNow) == kMaxRelativeExptime + 1);
}

TEST_CASE("kv executor: value larger than the store -> SERVER_ERROR out of memory, even noreply") {
  Fixture f;
  const std::string big(f.store.max_item_bytes() + 1, 'b');
  const std::string req =
      "set big 0 0 " + std::to_string(big.size()) + " noreply\r\n" + big + "\r\n";
  CHECK(f.run(req) == "SERVER_ERROR out of memory storing object\r\n");
  CHECK(f.counters.out_of_memory.get() == 1);
}

TEST_CASE("kv executor: delete, flush_all, version") {
  Fixture f;
  f.run("set a 0 0 1\r\nA\r\nset b 0 0 1\r\nB\r\n");
  CHECK(f.run("delete a\r\ndelete a\r\n") == "DELETED\r\nNOT_FOUND\r\n");
  CHECK(f.run("flush_all\r\nget b\r\n") == "OK\r\nEND\r\n");
  CHECK(f.run("version\r\n") == "VERSION 9.9.9\r\n");
}

TEST_CASE("kv executor: stats -> counters that followed the requests, then END") {
  Fixture f;
  f.run("set a 0 0 1\r\nA\r\nget a b\r\ndelete b\r\n");
  const std::string stats = f.run("stats\r\n");
  CHECK(stats.find("STAT cmd_get 2\r\n") != std::string::npos);
  CHECK(stats.find("STAT get_hits 1\r\n") != std::string::npos);
  CHECK(stats.find("STAT get_misses 1\r\n") != std::string::npos);
  CHECK(stats.find("STAT cmd_set 1\r\n") != std::string::npos);
  CHECK(stats.find("STAT delete_misses 1\r\n") != std::string::npos);
  CHECK(stats.find("STAT curr_items 1\r\n") != std::string::npos);
  CHECK(stats.find("STAT limit_maxbytes 1048576\r\n") != std::string::npos);
  CHECK(stats.find("STAT version 9.9.9\r\n") != std::string::npos);
  CHECK(stats.ends_with("END\r\n"));
}

TEST_CASE("kv executor: get_some with a small output limit -> same reply, in pieces") {
  Fixture f;
  f.run("set a 0 0 3\r\naaa\r\nset b 0 0 3\r\nbbb\r\nset c 0 0 3\r\nccc\r\n");
  Request req;
  RequestParser parser;
  REQUIRE(parser.parse("get a b zz c\r\n", req).status == ParseStatus::kRequest);
  std::string out;
  std::size_t next = 0;
  int calls = 0;
  while (!f.executor.get_some(req, kNow, next, out, out.size() + 1)) ++calls;
  CHECK(calls == 2);  // pieces: a / b / zz (a miss adds nothing, so c follows) and END
  CHECK(out == "VALUE a 0 3\r\naaa\r\nVALUE b 0 3\r\nbbb\r\nVALUE c 0 3\r\nccc\r\nEND\r\n");
}
