// Protocol limits shared by the kv server, the kv client and their tests (memcached's own values).
#pragma once

#include <cstddef>
#include <cstdint>

namespace virtuoso::kv {

inline constexpr std::size_t kMaxKeyBytes = 250;
inline constexpr std::size_t kMaxValueBytes = 1024 * 1024;
// Longest command line; anything longer without a newline is garbage.
inline constexpr std::size_t kMaxLineBytes = 64 * 1024;
// get/gets lines may be longer: memcached clients send multi-gets of thousands of keys.
inline constexpr std::size_t kMaxGetLineBytes = 1024 * 1024;
// memcached treats exptime above 30 days as an absolute Unix time.
inline constexpr int64_t kMaxRelativeExptime = 60 * 60 * 24 * 30;

}  // namespace virtuoso::kv
