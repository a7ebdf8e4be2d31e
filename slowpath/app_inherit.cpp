// virtuoso-slowpath: kInherit, a forked child proving with its parent's region memfd which context it descends from.
//
// Holding a context's region memfd is the authority over that context: only its app (and, across
// fork(), that app's children) ever received it. The memfd is matched by inode, never by a number
// the app states.
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "daemon.hpp"

namespace virtuoso::slowpath {

// Reads one request and at most one passed descriptor (`fd`, -1 if none; the caller closes it).
ssize_t Daemon::recv_app_request(int sock, void* buf, size_t len, UniqueFd& fd) {
  char cbuf[CMSG_SPACE(4 * sizeof(int))];
  struct iovec iov = {buf, len};
  struct msghdr m = {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  ssize_t n = recvmsg(sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int passed;
      std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
      if (!fd) {
        fd.reset(passed);
      } else {
        close(passed);  // only one descriptor is ever expected
      }
    }
  }
  return n;
}

abi::AppResponse Daemon::on_inherit(AppConn& conn, const abi::AppRequest& req, int region_fd) {
  abi::AppResponse r{};
  r.kind = req.kind;
  r.seq = req.seq;
  struct stat want;
  if (region_fd < 0 || fstat(region_fd, &want) < 0) {
    r.error = EBADF;
    return r;
  }
  for (size_t ctx = 0; ctx < ctx_res_.size(); ++ctx) {
    int own = ctx_res_[ctx].region.fd();
    struct stat st;
    if (own < 0 || fstat(own, &st) < 0 || st.st_dev != want.st_dev || st.st_ino != want.st_ino) continue;
    r.error = cp_.inherit_context(uint16_t(conn.ctx), uint16_t(ctx));
    r.id = uint32_t(ctx);
    if (r.error == 0) spdlog::info("app pid {}: context {} descends from context {}", conn.cred.pid, conn.ctx, ctx);
    return r;
  }
  r.error = ESRCH;  // not the region of a live context
  return r;
}

}  // namespace virtuoso::slowpath
