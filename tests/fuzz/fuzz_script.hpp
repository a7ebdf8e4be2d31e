// The input of a script-driven fuzz target, read front to back as little-endian integers; zeros
// once it runs out, so every input is a whole script.
#pragma once
#include <cstddef>
#include <cstdint>

struct Script {
  const uint8_t* p;
  size_t n;
  bool done() const { return n == 0; }
  uint8_t u8() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  uint16_t u16() { return uint16_t(u8() | u8() << 8); }
  uint32_t u32() { return uint32_t(u16()) | uint32_t(u16()) << 16; }
};
