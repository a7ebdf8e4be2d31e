// virtuoso-slowpath: ctl.sock, one text request per connection ("status\n", "faults set rx.loss=0.1\n",
// "switch add web 10.1.2.0/24 192.0.2.7\n"...), one JSON answer (core/ctl_requests.hpp makes it).
#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#include "core/ctl_requests.hpp"
#include "daemon.hpp"

namespace virtuoso::slowpath {
namespace {
constexpr size_t kMaxRequest = 1024;
}

void Daemon::accept_ctl() {
  for (;;) {
    UniqueFd fd = accept_unix(ctl_listen_.get());
    if (!fd) return;
    add_ctl_conn(std::move(fd), false);
  }
}

void Daemon::add_ctl_conn(UniqueFd fd, bool http) {
  // Reads never block (MSG_DONTWAIT); the answer, a few kilobytes, is written blocking with a
  // timeout, so a client that does not read cannot stall the loop for long.
  fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  timeval tv{1, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  uint32_t id = next_conn_id_++;
  if (next_conn_id_ == 0) next_conn_id_ = 1;
  CtlConn& c = ctls_[id];
  c.fd = std::move(fd);
  c.http = http;
  watch(c.fd.get(), Tag::kCtl, id);
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
  // A scrape's answer waits for the end of its headers: closing with some unread would reset the
  // connection under the answer.
  bool whole = c.http ? c.buf.find("\r\n\r\n") != std::string::npos || c.buf.find("\n\n") != std::string::npos
                      : nl != std::string::npos;
  bool complete = whole || (eof && !c.buf.empty()) || c.buf.size() > kMaxRequest;
  if (complete) {
    std::string line = c.buf.substr(0, nl);
    std::string answer = c.http ? metrics_answer(line) : ctl_answer(line) + "\n";
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

std::string Daemon::ctl_answer(std::string_view request) {
  CtlTarget target{cp_, *ctrl_.header(), cfg_.faults.settings, settings_.tenants, fp_attached_,
                   [this] { configure_gate(); }};
  return answer_ctl_request(target, request);
}

}  // namespace virtuoso::slowpath
