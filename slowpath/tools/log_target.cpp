// virtuosod's log destination: formatting for syslog and journald, and the socket.
#include "log_target.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace virtuoso::tools {
namespace {

int priority_of(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return LOG_DEBUG;
    case spdlog::level::warn:
      return LOG_WARNING;
    case spdlog::level::err:
      return LOG_ERR;
    case spdlog::level::critical:
      return LOG_CRIT;
    default:
      return LOG_INFO;
  }
}

}  // namespace

int line_priority(std::string_view line) {
  static constexpr std::pair<std::string_view, int> kTags[] = {
      {"[critical]", LOG_CRIT}, {"[error]", LOG_ERR}, {"[warning]", LOG_WARNING},
      {"[info]", LOG_INFO},     {"[debug]", LOG_DEBUG}, {"[trace]", LOG_DEBUG}};
  size_t first = std::string_view::npos;
  int priority = LOG_INFO;
  for (const auto& [tag, p] : kTags) {  // the earliest tag: the message itself may contain one
    size_t at = line.find(tag);
    if (at < first) {
      first = at;
      priority = p;
    }
  }
  return priority;
}

std::string syslog_datagram(int priority, std::string_view ident, pid_t pid, std::string_view msg, long unix_time) {
  time_t t = static_cast<time_t>(unix_time);
  struct tm tm {};
  localtime_r(&t, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
  return fmt::format("<{}>{} {}[{}]: {}", LOG_DAEMON | priority, stamp, ident, pid, msg);
}

std::string journal_datagram(int priority, std::string_view ident, pid_t pid, std::string_view msg) {
  std::string one(msg);
  for (char& c : one)
    if (c == '\n') c = ' ';  // the simple field form ends at a newline
  return fmt::format("PRIORITY={}\nSYSLOG_FACILITY={}\nSYSLOG_IDENTIFIER={}\nSYSLOG_PID={}\nMESSAGE={}\n", priority,
                     LOG_DAEMON >> 3, ident, pid, one);
}

LogTargetSocket::LogTargetSocket(config::LogTarget target, const std::string& socket_path) : target_(target) {
  path_ = !socket_path.empty()                          ? socket_path
          : target == config::LogTarget::kJournald ? config::kDefaultJournaldSocket
                                                        : config::kDefaultSyslogSocket;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof addr.sun_path) throw std::runtime_error(fmt::format("log socket {}: path too long", path_));
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0 || connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    throw std::runtime_error(fmt::format(
        "log_target: cannot reach {}: {} (is a {} running? or set log_socket, or log_target = \"stderr\")", path_,
        std::strerror(err), target == config::LogTarget::kJournald ? "journald" : "syslog daemon"));
  }
}

LogTargetSocket::~LogTargetSocket() {
  if (fd_ >= 0) close(fd_);
}

void LogTargetSocket::write(int priority, std::string_view ident, pid_t pid, std::string_view line) {
  std::string d = target_ == config::LogTarget::kJournald ? journal_datagram(priority, ident, pid, line)
                                                          : syslog_datagram(priority, ident, pid, line, time(nullptr));
  if (send(fd_, d.data(), d.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(d.size())) return;
  std::string out = fmt::format("{}[{}]: {}\n", ident, pid, line);  // the logger is full or gone
  [[maybe_unused]] ssize_t w = ::write(STDERR_FILENO, out.data(), out.size());
}

void LogTargetSink::sink_it_(const spdlog::details::log_msg& msg) {
  socket_->write(priority_of(msg.level), "virtuosod", getpid(),
                 std::string_view(msg.payload.data(), msg.payload.size()));
}

}  // namespace virtuoso::tools
