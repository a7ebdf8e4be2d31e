// SpinPolicy: a thread re-checks before sleeping while its waits end within the re-check window.
#include <catch2/catch.hpp>
#include <thread>

#include "core/spin_policy.hpp"

using virtuoso::shim::SpinPolicy;

namespace {

// Runs `body` on a thread of its own: the policy's state is per thread and starts fresh.
template <typename Body>
void on_fresh_thread(Body body) {
  std::thread t(body);
  t.join();
}

constexpr uint64_t kWindow = 20'000;  // ns

}  // namespace

TEST_CASE("spin policy: a new thread re-checks") {
  bool spins = false;
  on_fresh_thread([&] { spins = SpinPolicy::worth_it(); });
  CHECK(spins);
}

TEST_CASE("spin policy: waits longer than the window -> stops re-checking, short ones -> starts again") {
  bool after_long = true, after_short = false;
  on_fresh_thread([&] {
    for (int i = 0; i < 4; ++i) SpinPolicy::waited(5 * kWindow, kWindow);
    after_long = SpinPolicy::worth_it();
    for (int i = 0; i < 8; ++i) SpinPolicy::waited(kWindow / 4, kWindow);
    after_short = SpinPolicy::worth_it();
  });
  CHECK_FALSE(after_long);
  CHECK(after_short);
}

TEST_CASE("spin policy: one long wait in three keeps it re-checking, two in three do not") {
  bool mostly_short = false, mostly_long = true;
  on_fresh_thread([&] {
    for (int i = 0; i < 30; ++i) SpinPolicy::waited(i % 3 == 0 ? 5 * kWindow : kWindow / 2, kWindow);
    mostly_short = SpinPolicy::worth_it();
    for (int i = 0; i < 30; ++i) SpinPolicy::waited(i % 3 == 0 ? kWindow / 2 : 5 * kWindow, kWindow);
    mostly_long = SpinPolicy::worth_it();
  });
  CHECK(mostly_short);
  CHECK_FALSE(mostly_long);
}

TEST_CASE("spin policy: each thread learns its own waits") {
  bool other = false;
  on_fresh_thread([&] {
    for (int i = 0; i < 8; ++i) SpinPolicy::waited(5 * kWindow, kWindow);
    on_fresh_thread([&] { other = SpinPolicy::worth_it(); });
  });
  CHECK(other);
}
