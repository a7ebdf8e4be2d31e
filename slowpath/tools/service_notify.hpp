// The service manager's readiness protocol (sd_notify(3)) without libsystemd: "KEY=VALUE" lines in
// one datagram to the Unix socket $NOTIFY_SOCKET names (a path, or "@name" in the abstract space).
#pragma once
#include <sys/socket.h>
#include <sys/un.h>

#include <optional>
#include <string>
#include <string_view>

namespace virtuoso::tools {

struct NotifyAddress {
  sockaddr_un addr{};
  socklen_t len = 0;
};

// $NOTIFY_SOCKET's value as a socket address; nullopt if it is empty, relative or too long.
std::optional<NotifyAddress> parse_notify_address(std::string_view value);

// The message for each state the daemon reports (MAINPID: the process the manager watches).
std::string notify_ready(int main_pid, std::string_view status);
std::string notify_reloading(uint64_t monotonic_us, std::string_view status);
std::string notify_stopping(std::string_view status);
std::string notify_status(std::string_view status);  // a state change that is none of those

class ServiceNotifier {
 public:
  // Reads $NOTIFY_SOCKET and removes it from the environment, so that the children virtuosod
  // starts do not speak for it. Without it (not run by a service manager), sends nothing.
  static ServiceNotifier from_environment();
  ServiceNotifier() = default;
  explicit ServiceNotifier(NotifyAddress to);
  ~ServiceNotifier();
  ServiceNotifier(ServiceNotifier&& o) noexcept;
  ServiceNotifier& operator=(ServiceNotifier&&) = delete;
  ServiceNotifier(const ServiceNotifier&) = delete;

  bool enabled() const { return fd_ >= 0; }
  // Sends one message; false (and nothing else happens) when it cannot: the manager decides
  // what a missing notification means, and the daemon carries on.
  bool send(const std::string& message) const;

 private:
  int fd_ = -1;
  NotifyAddress to_;
};

}  // namespace virtuoso::tools
