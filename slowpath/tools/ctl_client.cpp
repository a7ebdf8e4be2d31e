// Asking a running daemon over its control socket.
#include "ctl_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "virtuoso/abi/unix_proto.hpp"

namespace virtuoso::tools {

std::string ctl_socket_path(const std::string& run_dir) {
  return fmt::format("{}/{}", run_dir, abi::kCtlSocketName);
}

std::optional<std::string> ctl_ask(const std::string& socket_path, const std::string& request, std::string& why,
                                   std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    why = fmt::format("{} is too long for a Unix socket path; use a shorter run_dir", socket_path);
    return std::nullopt;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    if (fd >= 0) close(fd);
    if (err == ENOENT || err == ECONNREFUSED) {
      why = fmt::format("no daemon at {} (start virtuosod --config FILE)", socket_path);
    } else {
      why = fmt::format("cannot connect to {}: {} (check permissions, or run as root)", socket_path,
                        std::strerror(err));
    }
    return std::nullopt;
  }
  std::string answer;
  bool ok = send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ok) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    int n = left.count() > 0 ? poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = fmt::format("{} did not answer within {} ms", socket_path, timeout.count());
      close(fd);
      return std::nullopt;
    }
    char buf[4096];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r > 0) {
      answer.append(buf, static_cast<size_t>(r));
    } else if (r == 0) {
      break;
    } else if (errno != EINTR) {
      ok = false;
    }
  }
  int err = errno;
  close(fd);
  if (!ok) {
    why = fmt::format("lost the connection to {}: {}", socket_path, std::strerror(err));
    return std::nullopt;
  }
  return answer;
}

std::optional<nlohmann::ordered_json> ctl_ask_json(const std::string& socket_path, const std::string& request,
                                                   std::string& why, std::chrono::milliseconds timeout) {
  auto answer = ctl_ask(socket_path, request, why, timeout);
  if (!answer) return std::nullopt;
  try {
    return nlohmann::ordered_json::parse(*answer);
  } catch (const nlohmann::json::exception& e) {
    why = fmt::format("the answer from {} is not JSON: {}", socket_path, e.what());
    return std::nullopt;
  }
}

std::optional<nlohmann::ordered_json> ctl_change(const std::string& socket_path, const std::string& request,
                                                 std::string& why) {
  auto answer = ctl_ask_json(socket_path, request, why);
  if (!answer) return std::nullopt;
  if (!answer->is_object() || answer->contains("error")) {
    why = answer->is_object() ? answer->value("error", std::string("?")) : answer->dump();
    return std::nullopt;
  }
  return answer;
}

bool ctl_wait_status(const std::string& socket_path, const std::function<bool(const nlohmann::ordered_json&)>& reached,
                     std::string& why, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto status = ctl_ask_json(socket_path, "status\n", why);
    if (!status) return false;
    if (reached(*status)) return true;
    if (!status->value("ready", false)) {
      why = "the daemon is not ready (its fast path is gone or restarting)";
      return false;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      why = fmt::format("not in effect within {} ms", timeout.count());
      return false;
    }
    // The fast path takes a change at its next loop or budget refill: microseconds to a millisecond.
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace virtuoso::tools
