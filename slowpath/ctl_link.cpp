// virtuoso-slowpath: ctl.sock, one text request per connection ("status\n"), one JSON answer.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>

#include "core/status.hpp"
#include "daemon.hpp"

namespace virtuoso::slowpath {
namespace {
constexpr size_t kMaxRequest = 256;
}

void Daemon::accept_ctl() {
  for (;;) {
    UniqueFd fd = accept_unix(ctl_listen_.get());
    if (!fd) return;
    // Reads never block (MSG_DONTWAIT); the answer, a few kilobytes, is written blocking with a
    // timeout, so a client that does not read cannot stall the loop for long.
    fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
    timeval tv{1, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    uint32_t id = next_conn_id_++;
    if (next_conn_id_ == 0) next_conn_id_ = 1;
    CtlConn& c = ctls_[id];
    c.fd = std::move(fd);
    watch(c.fd.get(), Tag::kCtl, id);
  }
}

void Daemon::on_ctl_readable(uint32_t id) {
  auto it = ctls_.find(id);
  if (it == ctls_.end()) return;
  CtlConn& c = it->second;
  char buf[kMaxRequest];
  ssize_t n = recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  bool eof = n <= 0;
  if (n > 0) c.buf.append(buf, size_t(n));
  size_t nl = c.buf.find('\n');
  bool complete = nl != std::string::npos || (eof && !c.buf.empty()) || c.buf.size() > kMaxRequest;
  if (complete) {
    std::string answer = ctl_answer(c.buf.substr(0, nl)) + "\n";
    size_t off = 0;
    while (off < answer.size()) {
      ssize_t w = send(c.fd.get(), answer.data() + off, answer.size() - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      off += size_t(w);
    }
  }
  if (complete || eof) {
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
    ctls_.erase(it);
  }
}

std::string Daemon::ctl_answer(std::string_view request) const {
  while (!request.empty() && (request.back() == '\r' || request.back() == ' ')) request.remove_suffix(1);
  if (request == "status") return status_json(cp_, *ctrl_.header(), fp_attached_).dump();
  return nlohmann::json{{"error", "unknown request"}}.dump();
}

}  // namespace virtuoso::slowpath
