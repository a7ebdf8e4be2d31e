// Key naming and key-derived values for the kv client's --verify mode.
#include "kv/core/keyspace.hpp"

#include <algorithm>
#include <cstring>

#include "common/pattern.hpp"

namespace virtuoso::kv {

namespace {

using bench::splitmix64;

}  // namespace

std::size_t KeySpace::min_key_size(uint64_t keys) {
  std::size_t digits = 1;
  for (uint64_t largest = keys > 0 ? keys - 1 : 0; largest >= 10; largest /= 10) ++digits;
  return 1 + digits;
}

void KeySpace::write_key(uint64_t index, char* out) const {
  out[0] = 'k';
  for (std::size_t i = key_size_; i > 1; --i) {
    out[i - 1] = static_cast<char>('0' + index % 10);
    index /= 10;
  }
}

std::string KeySpace::key(uint64_t index) const {
  std::string out(key_size_, '\0');
  write_key(index, out.data());
  return out;
}

ValuePattern::ValuePattern(std::size_t value_size) : size_(value_size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  text_.resize(size_ + kWindowSlack);
  uint64_t state = splitmix64(value_size);
  for (std::size_t i = 0; i < text_.size(); ++i) {
    if (i % 8 == 0) state = splitmix64(state);
    text_[i] = kAlphabet[(state >> (i % 8 * 6)) & 63];
  }
}

void ValuePattern::fill(uint64_t key_index, char* out) const {
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t h = splitmix64(key_index ^ (static_cast<uint64_t>(size_) << 40));
  char header[kHeader];
  for (std::size_t i = 0; i < kHeader; ++i) header[i] = kHex[(h >> (60 - 4 * i)) & 15];
  const std::size_t head = std::min(size_, kHeader);
  std::memcpy(out, header, head);
  std::memcpy(out + head, text_.data() + h % kWindowSlack, size_ - head);
}

bool ValuePattern::matches(uint64_t key_index, std::string_view value) const {
  if (value.size() != size_) return false;
  // Values are at most 1 MiB; a stack buffer would be too large, a thread-local one is reused.
  thread_local std::string expected;
  expected.resize(size_);
  fill(key_index, expected.data());
  return value == expected;
}

uint32_t ValuePattern::flags(uint64_t key_index) {
  return static_cast<uint32_t>(splitmix64(key_index) & 0xffff);
}

}  // namespace virtuoso::kv
