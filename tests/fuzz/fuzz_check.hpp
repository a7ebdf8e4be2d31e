// What a fuzz target asserts: a property that fails stops the run with the input that broke it.
#pragma once
#include <cstdio>

// Not abort() on a peer's input in the product; here the input is the fuzzer's, and a violated
// property is the finding.
#define FUZZ_CHECK(cond)                                                         \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      __builtin_trap();                                                          \
    }                                                                            \
  } while (0)
