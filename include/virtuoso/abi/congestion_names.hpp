// The congestion control algorithms by name: the config's `congestion_control` values, and what
// TCP_CONGESTION reads and accepts in the shim. The order is config::CongestionAlgo's.
#pragma once
#include <array>
#include <string_view>

namespace virtuoso::abi {

inline constexpr std::array<std::string_view, 5> kCongestionNames{"none", "reno", "cubic", "dctcp", "timely"};

inline bool is_congestion_name(std::string_view name) {
  for (std::string_view n : kCongestionNames)
    if (n == name) return true;
  return false;
}

}  // namespace virtuoso::abi
