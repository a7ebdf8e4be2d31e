// The congestion control algorithms a flow can run, by the names the config uses.
#pragma once
#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "virtuoso/abi/congestion_names.hpp"

namespace virtuoso::config {

enum class CongestionAlgo : uint8_t {
  kNone,   // only the peer's window limits what is in flight
  kReno,   // RFC 5681 with byte counting
  kCubic,  // RFC 9438 (the default, as on Linux)
  kDctcp,  // RFC 8257: cuts in proportion to the CE marks the peer echoes
  kTimely, // SIGCOMM 2015: a paced rate from the round trip's gradient
};

// The names, in the enum's order (TableReader::choice returns the index).
inline const std::vector<std::string_view>& congestion_algo_names() {
  static const std::vector<std::string_view> names(abi::kCongestionNames.begin(), abi::kCongestionNames.end());
  return names;
}

// Listening ports with an algorithm of their own (`congestion_by_port`), for what they accept.
using CongestionByPort = std::map<uint16_t, CongestionAlgo>;

inline std::string_view congestion_algo_name(CongestionAlgo a) {
  return congestion_algo_names().at(static_cast<size_t>(a));
}

}  // namespace virtuoso::config
