// The client's keys and values: names for key indices, and values derived from the key alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace virtuoso::kv {

// Key i is "k" followed by i in decimal, zero-padded to exactly `key_size` bytes.
class KeySpace {
 public:
  KeySpace(uint64_t keys, std::size_t key_size) : keys_(keys), key_size_(key_size) {}

  // Smallest key size that can name `keys` distinct keys.
  static std::size_t min_key_size(uint64_t keys);

  uint64_t keys() const { return keys_; }
  std::size_t key_size() const { return key_size_; }
  // Writes exactly key_size() bytes.
  void write_key(uint64_t index, char* out) const;
  std::string key(uint64_t index) const;

 private:
  uint64_t keys_;
  std::size_t key_size_;
};

// Every value of a key is the same function of (key index, value size), so any hit can be
// checked byte for byte without remembering what was written: a 16-hex-digit hash of the key,
// then a window into a pseudo-random printable text at a key-dependent offset.
class ValuePattern {
 public:
  explicit ValuePattern(std::size_t value_size);

  std::size_t size() const { return size_; }
  void fill(uint64_t key_index, char* out) const;
  bool matches(uint64_t key_index, std::string_view value) const;
  // memcached stores 32-bit flags; old servers only 16, so only those are used.
  static uint32_t flags(uint64_t key_index);

 private:
  static constexpr std::size_t kHeader = 16;
  static constexpr std::size_t kWindowSlack = 4096;

  std::size_t size_;
  std::string text_;  // size_ + kWindowSlack bytes
};

}  // namespace virtuoso::kv
