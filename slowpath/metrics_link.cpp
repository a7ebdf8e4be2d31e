// virtuoso-slowpath: [metrics] listen, the status counters for Prometheus over HTTP/1.1. One
// request per connection (GET /metrics), answered from the same status as ctl.sock's, then closed.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/log_format.hpp"
#include "core/metrics.hpp"
#include "core/status.hpp"
#include "daemon.hpp"

namespace virtuoso::slowpath {
namespace {

std::string http_response(const char* status, const std::string& body, const char* type) {
  return fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                     status, type, body.size(), body);
}

}  // namespace

void Daemon::listen_metrics() {
  const config::MetricsConfig& m = cfg_.metrics;
  if (!m.enabled) return;
  std::string where = fmt::format("metrics.listen {}:{}", ip_str(m.ip), m.port);
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int one = 1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(m.port);
  addr.sin_addr.s_addr = htonl(m.ip);
  if (!fd || setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd.get(), 16) != 0) {
    throw std::runtime_error(fmt::format("{}: cannot listen: {} (choose a free port and an address of this host)",
                                         where, std::strerror(errno)));
  }
  metrics_listen_ = std::move(fd);
  watch(metrics_listen_.get(), Tag::kMetricsListen, 0);
  spdlog::info("metrics for Prometheus at http://{}:{}/metrics", ip_str(m.ip), m.port);
}

void Daemon::accept_metrics() {
  for (;;) {
    UniqueFd fd(accept4(metrics_listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd) return;
    add_ctl_conn(std::move(fd), true);  // served as a ctl.sock client is
  }
}

std::string Daemon::metrics_answer(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  size_t sp = line.find(' ');
  std::string_view method = line.substr(0, sp);
  std::string_view target = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
  target = target.substr(0, target.find(' '));
  std::string_view path = target.substr(0, target.find('?'));
  if (method != "GET" && method != "HEAD")
    return http_response("405 Method Not Allowed", "GET /metrics\n", "text/plain; charset=utf-8");
  if (path != "/metrics") return http_response("404 Not Found", "GET /metrics\n", "text/plain; charset=utf-8");
  nlohmann::json status = status_json(cp_, *ctrl_.header(), fp_attached_);
  std::string body = prometheus_text(status);
  std::string r = http_response("200 OK", body, "text/plain; version=0.0.4; charset=utf-8");
  if (method == "HEAD") r.resize(r.size() - body.size());
  return r;
}

}  // namespace virtuoso::slowpath
