// sd_notify(3)'s protocol: one datagram of newline-separated assignments.
#include "service_notify.hpp"

#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace virtuoso::tools {
namespace {

// A status text on one line (the protocol's lines end at a newline).
std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

}  // namespace

std::optional<NotifyAddress> parse_notify_address(std::string_view value) {
  NotifyAddress a;
  a.addr.sun_family = AF_UNIX;
  if (value.size() < 2 || value.size() > sizeof a.addr.sun_path - 1) return std::nullopt;
  if (value.front() != '/' && value.front() != '@') return std::nullopt;
  std::memcpy(a.addr.sun_path, value.data(), value.size());
  if (value.front() == '@') a.addr.sun_path[0] = '\0';  // abstract: no terminating NUL counted
  a.len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + value.size() + (value.front() == '/' ? 1 : 0));
  return a;
}

std::string notify_ready(int main_pid, std::string_view status) {
  return fmt::format("READY=1\nMAINPID={}\nSTATUS={}\n", main_pid, one_line(status));
}

std::string notify_reloading(uint64_t monotonic_us, std::string_view status) {
  return fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS={}\n", monotonic_us, one_line(status));
}

std::string notify_stopping(std::string_view status) {
  return fmt::format("STOPPING=1\nSTATUS={}\n", one_line(status));
}

std::string notify_status(std::string_view status) { return fmt::format("STATUS={}\n", one_line(status)); }

ServiceNotifier ServiceNotifier::from_environment() {
  const char* value = std::getenv("NOTIFY_SOCKET");
  std::optional<NotifyAddress> to = value ? parse_notify_address(value) : std::nullopt;
  unsetenv("NOTIFY_SOCKET");
  return to ? ServiceNotifier(*to) : ServiceNotifier();
}

ServiceNotifier::ServiceNotifier(NotifyAddress to) : to_(to) {
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

ServiceNotifier::ServiceNotifier(ServiceNotifier&& o) noexcept : fd_(o.fd_), to_(o.to_) { o.fd_ = -1; }

ServiceNotifier::~ServiceNotifier() {
  if (fd_ >= 0) close(fd_);
}

bool ServiceNotifier::send(const std::string& message) const {
  if (fd_ < 0) return false;
  return sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&to_.addr),
                to_.len) == static_cast<ssize_t>(message.size());
}

}  // namespace virtuoso::tools
