// virtuoso-slowpath: fork() children: hold links (kForkHold) and passing one on to a child's context (kInherit).
//
// A hold link is the authority over the references it holds: only the app that asked for it, and
// across fork() its child, ever had its descriptor. A passed link is matched by inode, never by a
// number the app states.
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

abi::AppResponse Daemon::on_fork_hold(AppConn& conn, const abi::AppRequest& req, UniqueFd& give) {
  abi::AppResponse r{};
  r.kind = req.kind;
  r.seq = req.seq;
  uint32_t hold = conn.hold_link ? cp_.fork_hold_from_link(conn.hold) : cp_.fork_hold(uint16_t(conn.ctx));
  if (hold == 0) {
    r.error = EINVAL;  // a hold link already passed on
    return r;
  }
  give = make_hold_link(hold, conn.cred);
  if (!give) {
    cp_.hold_link_gone(hold, monotonic_ms());
    r.error = EMFILE;
    return r;
  }
  r.id = hold;
  return r;
}

// The daemon keeps one end (watched like an app connection: its closing drops the references);
// the other goes to the app in the kForkHold answer.
UniqueFd Daemon::make_hold_link(uint32_t hold, const PeerCred& cred) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    spdlog::warn("app pid {}: no hold link for fork(): {}", cred.pid, std::strerror(errno));
    return {};
  }
  UniqueFd ours(sv[0]);
  UniqueFd theirs(sv[1]);
  struct stat st;
  if (fstat(theirs.get(), &st) < 0) return {};
  uint32_t id = next_conn_id_++;
  if (next_conn_id_ == 0) next_conn_id_ = 1;
  AppConn& link = apps_[id];
  link.fd = std::move(ours);
  link.cred = cred;
  link.hold_link = true;
  link.hold = hold;
  link.app_end_dev = st.st_dev;
  link.app_end_ino = st.st_ino;
  watch(link.fd.get(), Tag::kApp, id);
  return theirs;
}

abi::AppResponse Daemon::on_inherit(AppConn& conn, const abi::AppRequest& req, int link_fd) {
  abi::AppResponse r{};
  r.kind = req.kind;
  r.seq = req.seq;
  struct stat want;
  if (link_fd < 0 || fstat(link_fd, &want) < 0) {
    r.error = EBADF;
    return r;
  }
  for (auto& [id, link] : apps_) {
    if (!link.hold_link || link.hold == 0 || link.app_end_dev != want.st_dev || link.app_end_ino != want.st_ino)
      continue;
    uint16_t origin = 0;
    r.error = cp_.inherit_hold(uint16_t(conn.ctx), link.hold, origin);
    if (r.error == 0) {
      link.hold = 0;  // its references are the context's now; its closing changes nothing
      r.id = origin;
      spdlog::info("app pid {}: context {} inherits from context {}", conn.cred.pid, conn.ctx, origin);
    }
    return r;
  }
  r.error = ESRCH;  // not a hold link, or one passed on already
  return r;
}

}  // namespace virtuoso::slowpath
