// virtuosod's log destination: its own lines and its children's, on stderr or as datagrams to a
// syslog socket (RFC 3164, what /dev/log takes) or to journald's native socket (its field format).
// A line that cannot be sent goes to stderr instead: nothing is lost to a slow or absent logger.
#pragma once
#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/sinks/base_sink.h>

#include "config/config.hpp"

namespace virtuoso::tools {

// syslog(3) priorities (LOG_ERR, ...) without the facility.
// The level of a child's log line from its "[level]" tag (spdlog's), LOG_INFO when it has none
// (the EAL's own lines).
int line_priority(std::string_view line);

// RFC 3164 as glibc's syslog(3) writes it: "<PRI>Mmm dd hh:mm:ss ident[pid]: msg", facility daemon.
// `unix_time`: seconds since the epoch (local time is what syslog daemons expect).
std::string syslog_datagram(int priority, std::string_view ident, pid_t pid, std::string_view msg, long unix_time);
// journald's native protocol: PRIORITY=, SYSLOG_IDENTIFIER=, SYSLOG_PID=, MESSAGE= lines.
std::string journal_datagram(int priority, std::string_view ident, pid_t pid, std::string_view msg);

class LogTargetSocket {
 public:
  // Connects to the target's socket (`socket_path`, or the usual one when empty). Throws
  // std::runtime_error naming the socket when it cannot (no syslog daemon or journald running).
  LogTargetSocket(config::LogTarget target, const std::string& socket_path);
  ~LogTargetSocket();
  LogTargetSocket(const LogTargetSocket&) = delete;
  LogTargetSocket& operator=(const LogTargetSocket&) = delete;

  const std::string& path() const { return path_; }
  // Sends one line as `ident`/`pid`; writes it to stderr if the socket does not take it.
  void write(int priority, std::string_view ident, pid_t pid, std::string_view line);

 private:
  config::LogTarget target_;
  std::string path_;
  int fd_ = -1;
};

// An spdlog sink writing virtuosod's own records to the target (ident "virtuosod").
class LogTargetSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit LogTargetSink(std::shared_ptr<LogTargetSocket> socket) : socket_(std::move(socket)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  std::shared_ptr<LogTargetSocket> socket_;
};

}  // namespace virtuoso::tools
