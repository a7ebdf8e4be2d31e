// Linux system-call wrappers for the daemon.
#include "os.hpp"

#include <fmt/format.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace virtuoso::slowpath {
namespace {
[[noreturn]] void fail(const char* what, int err) {
  throw std::runtime_error(fmt::format("{} failed: {}", what, std::strerror(err)));
}
}  // namespace

SharedMemory::SharedMemory(const char* name, size_t bytes) : bytes_(bytes) {
  fd_.reset(memfd_create(name, MFD_CLOEXEC));
  if (!fd_) fail("memfd_create", errno);
  if (ftruncate(fd_.get(), off_t(bytes)) != 0) fail("ftruncate of a shared region", errno);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
  if (p == MAP_FAILED)
    throw std::runtime_error(fmt::format("mmap of a {}-byte shared region failed: {}", bytes, std::strerror(errno)));
  base_ = static_cast<uint8_t*>(p);
}

SharedMemory::~SharedMemory() {
  if (base_) munmap(base_, bytes_);
}

SharedMemory::SharedMemory(SharedMemory&& o) noexcept
    : fd_(std::move(o.fd_)), base_(std::exchange(o.base_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}

SharedMemory& SharedMemory::operator=(SharedMemory&& o) noexcept {
  if (this != &o) {
    if (base_) munmap(base_, bytes_);
    fd_ = std::move(o.fd_);
    base_ = std::exchange(o.base_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

UniqueFd make_eventfd() {
  UniqueFd fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd) fail("eventfd", errno);
  return fd;
}

void ring_eventfd(int fd) {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t r = write(fd, &one, sizeof one);
}

void drain_eventfd(int fd) {
  uint64_t v;
  [[maybe_unused]] ssize_t r = read(fd, &v, sizeof v);
}

UniqueFd make_timerfd() {
  UniqueFd fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!fd) fail("timerfd_create", errno);
  return fd;
}

void arm_timerfd(int fd, unsigned interval_ms) {
  itimerspec its{};
  its.it_interval.tv_sec = interval_ms / 1000;
  its.it_interval.tv_nsec = long(interval_ms % 1000) * 1000000L;
  its.it_value = its.it_interval;
  if (timerfd_settime(fd, 0, &its, nullptr) != 0) fail("timerfd_settime", errno);
}

void drain_timerfd(int fd) {
  uint64_t expirations;
  [[maybe_unused]] ssize_t r = read(fd, &expirations, sizeof expirations);
}

UniqueFd make_stop_signalfd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) fail("sigprocmask", errno);
  UniqueFd fd(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd) fail("signalfd", errno);
  return fd;
}

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

TimeMs monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return TimeMs(ts.tv_sec) * 1000 + TimeMs(ts.tv_nsec / 1000000);
}

void random_key(uint64_t& k0, uint64_t& k1) {
  uint64_t k[2];
  size_t got = 0;
  while (got < sizeof k) {
    ssize_t n = getrandom(reinterpret_cast<uint8_t*>(k) + got, sizeof k - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("getrandom", errno);
    got += size_t(n);
  }
  k0 = k[0];
  k1 = k[1];
}

}  // namespace virtuoso::slowpath
