// Dotted-quad IPv4 text <-> host-byte-order integers, shared by the config parser and the tools.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace virtuoso::config {

// Accepts exactly "a.b.c.d" with each part 0..255 in decimal, no leading zeros beyond "0",
// so that "010.0.0.1" is not silently read as octal or decimal.
std::optional<uint32_t> parse_ipv4(std::string_view text);

std::string format_ipv4(uint32_t ip);

// Network mask for a prefix length 0..32, host byte order.
constexpr uint32_t prefix_mask(unsigned prefix_len) {
  return prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len);
}

}  // namespace virtuoso::config
