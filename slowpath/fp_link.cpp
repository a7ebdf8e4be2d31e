// virtuoso-slowpath: the fast path's connection on fp.sock (hello, answer with the control region).
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/log_format.hpp"
#include "daemon.hpp"

namespace virtuoso::slowpath {

void Daemon::accept_fastpath() {
  UniqueFd fd = accept_unix(fp_listen_.get());
  if (!fd) return;
  if (fp_conn_) {
    spdlog::warn("a second fast path tried to attach; refused (one fast path per slow path)");
    return;
  }
  fp_conn_ = std::move(fd);
  watch(fp_conn_.get(), Tag::kFp, 0);
}

void Daemon::on_fastpath_readable() {
  abi::FpMessage msg{};
  ssize_t n = recv(fp_conn_.get(), &msg, sizeof msg, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    fastpath_gone(n == 0 ? "closed its socket" : std::strerror(errno));
    return;
  }
  if (size_t(n) != sizeof msg || msg.kind != uint32_t(abi::FpMessageKind::kHello)) {
    spdlog::warn("fast path sent an unexpected message (kind {}, {} bytes); ignored", msg.kind, n);
    return;
  }
  if (msg.version != abi::kAbiVersion) {
    spdlog::error("fast path speaks ABI version {}, we speak {}: rebuild both from one tree", msg.version,
                  abi::kAbiVersion);
    fastpath_gone("has another ABI version");
    return;
  }
  if (fp_attached_) {
    spdlog::warn("fast path said hello twice; ignored");
    return;
  }
  wire::MacAddr mac;
  std::memcpy(mac.data(), msg.mac, 6);
  cp_.set_local_mac(mac);
  abi::FpMessage answer{};
  answer.kind = uint32_t(abi::FpMessageKind::kHelloAnswer);
  answer.version = abi::kAbiVersion;
  std::memcpy(answer.mac, msg.mac, 6);
  answer.control = ctrl_.layout;
  answer.local_ip = settings_.local_ip;
  int err = send_with_fds(fp_conn_.get(), &answer, sizeof answer, {control_mem_.fd(), sp_bell_.get(), fp_bell_.get()});
  if (err) {
    fastpath_gone(std::strerror(err));
    return;
  }
  fp_attached_ = true;
  spdlog::info("fast path attached: port MAC {}", mac_str(mac));
}

// virtuosod stops everything when the fast path dies; until then apps are refused (ENETDOWN).
void Daemon::fastpath_gone(const char* why) {
  spdlog::error("fast path disconnected ({}): the stack is down", why);
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fp_conn_.get(), nullptr);
  fp_conn_.reset();
  fp_attached_ = false;
}

}  // namespace virtuoso::slowpath
