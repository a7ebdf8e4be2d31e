// Unit tests of virtuosod's log destinations: levels of child lines, the syslog and journald
// formats, and delivery to a socket (or to stderr when the socket is gone).
#include <catch2/catch.hpp>

#include <syslog.h>

#include <string>

#include "support/datagram_listener.hpp"
#include "tools/log_target.hpp"

using virtuoso::config::LogTarget;
using virtuoso::tools::journal_datagram;
using virtuoso::tools::line_priority;
using virtuoso::tools::LogTargetSocket;
using virtuoso::tools::syslog_datagram;

TEST_CASE("log target: a child's line has the priority of its first level tag") {
  CHECK(line_priority("[2026-12-04 10:00:00.000] [slowpath] [warning] budgets: x") == LOG_WARNING);
  CHECK(line_priority("[2026-12-04 10:00:00.000] [error] port gone") == LOG_ERR);
  CHECK(line_priority("[x] [critical] out of memory") == LOG_CRIT);
  CHECK(line_priority("[x] [slowpath] [debug] rto") == LOG_DEBUG);
  CHECK(line_priority("[x] [info] app said [error] in its name") == LOG_INFO);
  CHECK(line_priority("EAL: Detected 2 lcore(s)") == LOG_INFO);
}

TEST_CASE("log target: syslog and journald datagrams") {
  std::string s = syslog_datagram(LOG_WARNING, "virtuoso-slowpath", 42, "flow 3 reset", 0);
  CHECK(s.rfind("<28>", 0) == 0);  // daemon facility (3 << 3) | warning (4)
  CHECK(s.find(" virtuoso-slowpath[42]: flow 3 reset") != std::string::npos);
  CHECK(journal_datagram(LOG_ERR, "virtuosod", 7, "a\nb") ==
        "PRIORITY=3\nSYSLOG_FACILITY=3\nSYSLOG_IDENTIFIER=virtuosod\nSYSLOG_PID=7\nMESSAGE=a b\n");
}

TEST_CASE("log target: lines reach the socket, no socket is a clear error at start") {
  virtuoso::test::DatagramListener journal("log-test");
  REQUIRE(journal.ok());
  journal.stop();
  CHECK_THROWS_WITH(LogTargetSocket(LogTarget::kSyslog, journal.path()),
                    Catch::Contains(journal.path()) && Catch::Contains("log_target"));
  virtuoso::test::DatagramListener live("log-test");
  REQUIRE(live.ok());
  LogTargetSocket j(LogTarget::kJournald, live.path());
  j.write(LOG_INFO, "virtuoso-fastpath", 9, "ready");
  std::string d = live.take().value_or("");
  CHECK(d.find("SYSLOG_IDENTIFIER=virtuoso-fastpath\n") != std::string::npos);
  CHECK(d.find("MESSAGE=ready\n") != std::string::npos);
}
