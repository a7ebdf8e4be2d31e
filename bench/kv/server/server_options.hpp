// kv-server command line: parsed and range-checked options.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace virtuoso::kv {

struct ServerOptions {
  std::string bind = "0.0.0.0";
  uint16_t port = 11211;
  uint32_t threads = 1;
  uint64_t memory_mb = 64;
};

// Parses argv. On --help prints usage and returns nullopt with exit_code 0; on bad input prints
// one line naming the option and the fix, and returns nullopt with a non-zero exit_code.
std::optional<ServerOptions> parse_server_options(int argc, char** argv, int& exit_code);

}  // namespace virtuoso::kv
