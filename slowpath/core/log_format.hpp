// Text forms of addresses for log lines and the status answer.
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <string>

#include "types.hpp"
#include "virtuoso/wire/ethernet.hpp"

namespace virtuoso::slowpath {

inline std::string ip_str(uint32_t ip) {
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

inline std::string mac_str(const wire::MacAddr& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

// "10.0.0.1:80 <- 10.0.0.2:40000"
inline std::string tuple_str(const FourTuple& t) {
  return fmt::format("{}:{} <- {}:{}", ip_str(t.local_ip), t.local_port, ip_str(t.remote_ip), t.remote_port);
}

}  // namespace virtuoso::slowpath
