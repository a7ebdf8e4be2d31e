// Protocol limits shared by the kv server, the kv client and their tests (memcached's own values).
#pragma once

#include <cstddef>
#include <cstdint>

namespace virtuoso::kv {

inline constexpr std::size_t kMaxKeyBytes = 250;
inline constexpr std::size_t kMaxValueBytes = 1024 * 1024;
// A multi-get of many maximal keys must fit; anything longer without a newline is garbage.
inline constexpr std::size_t kMaxLineBytes = 64 * 1024;
// memcached treats exptime above 30 days as an absolute Unix time.
inline constexpr int64_t kMaxRelativeExptime = 60 * 60 * 24 * 30;

}  // namespace virtuoso::kv
