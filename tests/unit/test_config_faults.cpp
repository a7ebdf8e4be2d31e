// Unit tests of the [faults] config section and of how virtuosod hands it to the fast path.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "support/config_text.hpp"
#include "tools/eal_args.hpp"

using virtuoso::config::Config;
using virtuoso::config::ConfigError;
using virtuoso::config::parse_config;

namespace {

constexpr const char* kMinimal = virtuoso::test::kMinimalConfig;

Config parse_with(const std::string& extra) { return parse_config(std::string(kMinimal) + extra, "v.toml"); }

std::string error_of(const std::string& extra) { return virtuoso::test::config_error(std::string(kMinimal) + extra); }

}  // namespace

TEST_CASE("config faults: absent section -> injector off, no faults", "[config][faults]") {
  Config c = parse_with("");
  CHECK_FALSE(c.faults.enabled);
  CHECK_FALSE(virtuoso::abi::faults_active(c.faults.settings));
}

TEST_CASE("config faults: every field of both directions is read", "[config][faults]") {
  Config c = parse_with(R"(
[faults]
seed = 12345
[faults.rx]
loss = 0.01
burst_start = 0.0001
burst_len = 25
reorder = 0.02
reorder_delay_us = 800
duplicate = 0.001
corrupt = 0.002
[faults.tx]
loss = 1
)");
  CHECK(c.faults.enabled);  // implied by the faults set
  const auto& s = c.faults.settings;
  CHECK(s.seed == 12345);
  CHECK(s.rx.loss == 0.01);
  CHECK(s.rx.burst_start == 0.0001);
  CHECK(s.rx.burst_len == 25);
  CHECK(s.rx.reorder == 0.02);
  CHECK(s.rx.reorder_delay_us == 800);
  CHECK(s.rx.duplicate == 0.001);
  CHECK(s.rx.corrupt == 0.002);
  CHECK(s.tx.loss == 1.0);  // an integer is a number too
  CHECK(s.tx.reorder == 0);
  CHECK(s.tx.burst_len == virtuoso::abi::kDefaultBurstLen);
  CHECK(s.tx.reorder_delay_us == virtuoso::abi::kDefaultReorderDelayUs);
}

TEST_CASE("config faults: enabled with no faults -> injector on for run-time changes", "[config][faults]") {
  Config c = parse_with("[faults]\nenabled = true\n");
  CHECK(c.faults.enabled);
  CHECK_FALSE(virtuoso::abi::faults_active(c.faults.settings));
}

TEST_CASE("config faults: probability above 1 -> error names faults.rx.loss", "[config][faults]") {
  std::string e = error_of("[faults.rx]\nloss = 1.5\n");
  CHECK_THAT(e, Catch::Contains("faults.rx.loss: 1.5 is out of range; write a probability from 0 to 1"));
}

TEST_CASE("config faults: negative probability -> error names the field", "[config][faults]") {
  CHECK_THAT(error_of("[faults.tx]\nduplicate = -0.1\n"), Catch::Contains("faults.tx.duplicate: -0.1 is out of range"));
}

TEST_CASE("config faults: fractional delay -> error asks for whole microseconds", "[config][faults]") {
  CHECK_THAT(error_of("[faults.rx]\nreorder_delay_us = 2.5\n"),
             Catch::Contains("faults.rx.reorder_delay_us: 2.5 is out of range; write whole microseconds"));
}

TEST_CASE("config faults: burst length below 1 -> error", "[config][faults]") {
  CHECK_THAT(error_of("[faults.rx]\nburst_len = 0.5\n"), Catch::Contains("faults.rx.burst_len: 0.5 is out of range"));
}

TEST_CASE("config faults: string for a probability -> type error", "[config][faults]") {
  CHECK_THAT(error_of("[faults.rx]\nloss = \"1%\"\n"),
             Catch::Contains("faults.rx.loss: expected a number, got a string"));
}

TEST_CASE("config faults: misspelt key -> did you mean", "[config][faults]") {
  CHECK_THAT(error_of("[faults.rx]\nlos = 0.1\n"), Catch::Contains("faults.rx.los: unknown key; did you mean faults.rx.loss?"));
}

TEST_CASE("config faults: a direction other than rx and tx -> unknown key", "[config][faults]") {
  CHECK_THAT(error_of("[faults.both]\nloss = 0.1\n"), Catch::Contains("faults.both: unknown key"));
}

TEST_CASE("config faults: enabled = false with faults set -> error", "[config][faults]") {
  CHECK_THAT(error_of("[faults]\nenabled = false\n[faults.rx]\nloss = 0.1\n"),
             Catch::Contains("faults.enabled: is false but [faults.rx] or [faults.tx] sets a fault"));
}

TEST_CASE("config faults: seed out of range -> error", "[config][faults]") {
  CHECK_THAT(error_of("[faults]\nseed = -1\n"), Catch::Contains("faults.seed: -1 is out of range"));
}

TEST_CASE("config faults: virtuosod passes the settings with --faults, which read back the same",
          "[config][faults][eal]") {
  Config c = parse_with("[faults]\nseed = 9\n[faults.rx]\nloss = 0.01\n[faults.tx]\nreorder = 0.5\n");
  auto args = virtuoso::tools::fastpath_args(c, false, 3);
  auto it = std::find(args.begin(), args.end(), "--faults");
  REQUIRE(it != args.end());
  REQUIRE(it + 1 != args.end());
  CHECK(std::find(args.begin(), args.end(), "--") < it);  // an option of the fast path, not of EAL
  virtuoso::abi::FaultSettings back = virtuoso::abi::kNoFaultSettings;
  CHECK(virtuoso::abi::apply_fault_spec(*(it + 1), back).empty());
  CHECK(std::memcmp(&back, &c.faults.settings, sizeof back) == 0);
}

TEST_CASE("config faults: injector off -> no --faults for the fast path", "[config][faults][eal]") {
  auto args = virtuoso::tools::fastpath_args(parse_with(""), false, 3);
  CHECK(std::find(args.begin(), args.end(), "--faults") == args.end());
}

TEST_CASE("config faults: the shipped example shows the defaults (injector off)", "[config][faults]") {
  auto path = std::filesystem::path(__FILE__).parent_path() / "../../docs/virtuoso.example.toml";
  Config c = virtuoso::config::load_config(path.string());
  Config d;
  CHECK(c.faults.enabled == d.faults.enabled);
  CHECK(std::memcmp(&c.faults.settings, &d.faults.settings, sizeof d.faults.settings) == 0);
}

TEST_CASE("config faults: a bottleneck alone turns the injector on and reads back through --faults",
          "[config][faults][bottleneck]") {
  Config c = parse_with("[faults.tx]\nrate_mbps = 500\nqueue_bytes = 300000\nmark_bytes = 30000\n");
  CHECK(c.faults.enabled);
  CHECK(c.faults.settings.tx.rate_mbps == 500);
  CHECK(c.faults.settings.tx.queue_bytes == 300000);
  CHECK(c.faults.settings.tx.mark_bytes == 30000);
  CHECK(c.faults.settings.rx.rate_mbps == 0);
  CHECK(c.faults.settings.rx.queue_bytes == virtuoso::abi::kDefaultQueueBytes);
  auto args = virtuoso::tools::fastpath_args(c, false, 3);
  auto it = std::find(args.begin(), args.end(), "--faults");
  REQUIRE(it != args.end());
  REQUIRE(it + 1 != args.end());
  virtuoso::abi::FaultSettings back = virtuoso::abi::kNoFaultSettings;
  CHECK(virtuoso::abi::apply_fault_spec(*(it + 1), back).empty());
  CHECK(back == c.faults.settings);
}

TEST_CASE("config faults: a queue shorter than one frame -> error names the field", "[config][faults][bottleneck]") {
  CHECK_THAT(error_of("[faults.tx]\nrate_mbps = 100\nqueue_bytes = 1000\n"),
             Catch::Contains("faults.tx.queue_bytes: 1000 is out of range; write a whole number of bytes from 1514"));
}
