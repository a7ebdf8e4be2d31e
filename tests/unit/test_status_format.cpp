// Unit tests of virtuosoctl's human rendering of the status JSON.
#include <catch2/catch.hpp>

#include "tools/status_format.hpp"

using nlohmann::ordered_json;
using virtuoso::tools::format_status;

TEST_CASE("status: scalars as key: value lines in the daemon's order", "[status]") {
  auto j = ordered_json::parse(R"({"ready":true,"ip":"10.0.0.2","flows":3,"mac":null})");
  CHECK(format_status(j) == "ready: true\nip: 10.0.0.2\nflows: 3\nmac: -\n");
}

TEST_CASE("status: nested objects are indented, unknown keys shown", "[status]") {
  auto j = ordered_json::parse(
      R"({"ready":false,"fastpath":{"rx_frames":5,"new_counter":1,"deeper":{"x":2}},"slowpath":{}})");
  CHECK(format_status(j) ==
        "ready: false\n"
        "fastpath:\n"
        "  rx_frames: 5\n"
        "  new_counter: 1\n"
        "  deeper:\n"
        "    x: 2\n"
        "slowpath:\n");
}

TEST_CASE("status: arrays of scalars inline, arrays of objects as indexed entries", "[status]") {
  auto j = ordered_json::parse(R"({"ports":[80,"x"],"listeners":[{"port":80},{"port":443}]})");
  CHECK(format_status(j) ==
        "ports: [80, x]\n"
        "listeners:\n"
        "  [0]:\n"
        "    port: 80\n"
        "  [1]:\n"
        "    port: 443\n");
}
