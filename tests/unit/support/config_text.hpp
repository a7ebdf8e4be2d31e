// Test support for config tests: the smallest valid config, and the one-line error for a refused one.
#pragma once
#include <catch2/catch.hpp>

#include <string>

#include "config/config.hpp"

namespace virtuoso::test {

inline constexpr const char* kMinimalConfig = R"(
[port]
devargs = "net_tap0,iface=vtap0"
[network]
ip = "10.0.0.2"
)";

// The error parse_config gives for the whole file `text` (named `source`), checked to be one line
// that starts with the file's name; a test failure if the file is accepted.
inline std::string config_error(const std::string& text, const std::string& source = "v.toml") {
  try {
    config::parse_config(text, source);
  } catch (const config::ConfigError& e) {
    std::string what = e.what();
    CHECK(what.find('\n') == std::string::npos);
    CHECK(what.rfind(source + ": ", 0) == 0);
    return what;
  }
  FAIL("accepted: " << text);
  return {};
}

}  // namespace virtuoso::test
