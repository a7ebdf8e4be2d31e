// The app.sock protocol from the app's side: registration with SCM_RIGHTS descriptors, mapping and
// validating the region, and the serialised request/response channel.
#include "attach.hpp"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace virtuoso::shim {
namespace {

std::atomic<bool> g_warned_absent{false};
std::atomic<bool> g_warned_other{false};

void say_once(const KernelOps& k, std::atomic<bool>& flag, const std::string& line) {
  if (flag.exchange(true)) return;
  std::string msg = "libtas_shim: " + line + "\n";
  [[maybe_unused]] ssize_t r = k.write(2, msg.data(), msg.size());
}

// One request at a time; answers carry the request's seq, older ones (a timed-out request) are skipped.
class UnixChannel : public RequestChannel {
 public:
  UnixChannel(const KernelOps& k, int fd, uint32_t next_seq) : k_(k), fd_(fd), seq_(next_seq) {}
  ~UnixChannel() override { k_.close(fd_); }

  int call(abi::AppRequest& req, abi::AppResponse& resp) override {
    return exchange(req, resp, -1, nullptr);
  }
  int call_with_fd(abi::AppRequest& req, abi::AppResponse& resp, int pass_fd) override {
    return exchange(req, resp, pass_fd, nullptr);
  }
  int call_receiving_fd(abi::AppRequest& req, abi::AppResponse& resp, int& fd) override {
    fd = -1;
    int rc = exchange(req, resp, -1, &fd);
    if (rc < 0 && fd >= 0) {
      k_.close(fd);
      fd = -1;
    }
    return rc;
  }
  int hangup_fd() const override { return fd_; }

 private:
  // `pass_fd` (>= 0) goes with the request; `keep_fd` (non-null) takes the answer's first descriptor.
  int exchange(abi::AppRequest& req, abi::AppResponse& resp, int pass_fd, int* keep_fd) {
    std::lock_guard<std::mutex> lk(mu_);
    req.seq = seq_++;
    if (int rc = send_request(req, pass_fd); rc < 0) return rc;
    for (;;) {
      char cbuf[CMSG_SPACE(4 * sizeof(int))];
      struct iovec iov = {&resp, sizeof resp};
      struct msghdr m = {};
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      m.msg_control = cbuf;
      m.msg_controllen = sizeof cbuf;
      ssize_t n = k_.recvmsg(fd_, &m, MSG_CMSG_CLOEXEC);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno == EAGAIN ? -ETIMEDOUT : -errno;
      bool ours = n == static_cast<ssize_t>(sizeof resp) && resp.seq == req.seq;
      take_passed_fds(m, ours ? keep_fd : nullptr);  // nothing else may leak into the app
      if (n == 0) return -ECONNRESET;
      if (n != static_cast<ssize_t>(sizeof resp)) return -EPROTO;
      if (ours) return resp.kind == req.kind ? 0 : -EPROTO;
      if (static_cast<int32_t>(resp.seq - req.seq) > 0) return -EPROTO;  // an answer from the future
    }
  }

  int send_request(const abi::AppRequest& req, int pass_fd) {
    struct iovec siov = {const_cast<abi::AppRequest*>(&req), sizeof req};
    struct msghdr sm = {};
    sm.msg_iov = &siov;
    sm.msg_iovlen = 1;
    alignas(struct cmsghdr) char sbuf[CMSG_SPACE(sizeof(int))];
    if (pass_fd >= 0) {
      sm.msg_control = sbuf;
      sm.msg_controllen = sizeof sbuf;
      struct cmsghdr* c = CMSG_FIRSTHDR(&sm);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &pass_fd, sizeof pass_fd);
    }
    ssize_t n;
    do {
      n = k_.sendmsg(fd_, &sm, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof req)) return n < 0 ? -errno : -EPROTO;
    return 0;
  }

  // Closes every descriptor the message carried, but the first one when `keep` wants it.
  void take_passed_fds(struct msghdr& m, int* keep) {
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < nfds; ++i) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (keep != nullptr && *keep < 0) {
          *keep = fd;
        } else {
          k_.close(fd);
        }
      }
    }
  }

  KernelOps k_;
  int fd_;
  uint32_t seq_;
  std::mutex mu_;
};

// The registration answer and its three descriptors.
struct Registration {
  abi::AppResponse resp{};
  int fds[3] = {-1, -1, -1};
  int nfds = 0;
};

// 0, or -errno with `why` filled in.
int register_app(const KernelOps& k, int sock, Registration& reg, std::string& why) {
  abi::AppRequest req{};
  req.kind = static_cast<uint32_t>(abi::AppRequestKind::kRegister);
  req.seq = 1;
  req.version = abi::kAbiVersion;
  struct iovec siov = {&req, sizeof req};
  struct msghdr sm = {};
  sm.msg_iov = &siov;
  sm.msg_iovlen = 1;
  if (k.sendmsg(sock, &sm, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof req)) {
    why = std::string("cannot send the registration: ") + strerror(errno);
    return -EPROTO;
  }
  char cbuf[CMSG_SPACE(3 * sizeof(int))];
  struct iovec iov = {&reg.resp, sizeof reg.resp};
  struct msghdr m = {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  ssize_t n;
  do {
    n = k.recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (reg.nfds < 3) {
        reg.fds[reg.nfds++] = fd;
      } else {
        k.close(fd);
      }
    }
  }
  if (n < 0) {
    why = std::string("no answer to the registration: ") + strerror(errno);
    return -errno;
  }
  if (n != static_cast<ssize_t>(sizeof reg.resp) ||
      reg.resp.kind != static_cast<uint32_t>(abi::AppRequestKind::kRegister) || reg.resp.seq != 1) {
    why = "the registration answer is malformed (" + std::to_string(n) +
          " bytes): daemon and shim were built from different ABI versions";
    return -EPROTO;
  }
  if (reg.resp.error != 0) {
    why = std::string("the daemon refused the registration: ") + strerror(reg.resp.error);
    return -reg.resp.error;
  }
  if (reg.nfds != 3 || (m.msg_flags & MSG_CTRUNC)) {
    why = "the registration answer carried " + std::to_string(reg.nfds) +
          " descriptors instead of 3 (region, app doorbell, fast-path doorbell)";
    return -EPROTO;
  }
  return 0;
}

}  // namespace

std::unique_ptr<RequestChannel> make_unix_channel(const KernelOps& k, int fd) {
  struct timeval tv = {kRequestTimeoutSec, 0};
  k.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return std::make_unique<UnixChannel>(k, fd, 1);
}

std::string run_dir_from_env() {
  const char* d = getenv(abi::kRunDirEnv);
  return (d != nullptr && *d != '\0') ? d : abi::kDefaultRunDir;
}

std::string check_region(const abi::AppLayout& l, const abi::AppRegionHeader& h,
                         size_t mapped_bytes) {
  if (!l.valid()) return "the region layout is invalid (slot count or sizes not powers of two)";
  if (mapped_bytes < l.total_bytes()) {
    return "the region is " + std::to_string(mapped_bytes) + " bytes, the layout needs " +
           std::to_string(l.total_bytes());
  }
  if (h.magic != abi::kAppRegionMagic) return "the region has a bad magic number";
  if (h.version != abi::kAbiVersion) {
    return "the region has ABI version " + std::to_string(h.version) + ", the shim speaks " +
           std::to_string(abi::kAbiVersion);
  }
  if (h.n_slots != l.n_slots || h.rx_size != l.rx_size || h.tx_size != l.tx_size ||
      h.atx_capacity != l.atx_capacity || h.arx_capacity != l.arx_capacity ||
      h.ctl_capacity != l.ctl_capacity) {
    return "the region header does not match the layout in the registration answer";
  }
  return {};
}

int attach_to_daemon(const KernelOps& k, const std::string& run_dir,
                     std::shared_ptr<Context>& out) {
  std::string path = run_dir + "/" + abi::kAppSocketName;
  struct sockaddr_un sun = {};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof sun.sun_path) {
    say_once(k, g_warned_other, "run directory path too long for a Unix socket: " + path);
    return -EAFNOSUPPORT;
  }
  memcpy(sun.sun_path, path.c_str(), path.size() + 1);
  int sock = k.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (sock < 0) return -errno;
  if (k.connect(sock, reinterpret_cast<struct sockaddr*>(&sun), sizeof sun) < 0) {
    int e = errno;
    k.close(sock);
    if (e == ENOENT || e == ECONNREFUSED || e == ENOTDIR) {
      say_once(k, g_warned_absent,
               "no Virtuoso daemon at " + path + " (start virtuosod, or set VIRTUOSO_RUN_DIR)");
    } else {
      say_once(k, g_warned_other, "cannot connect to " + path + ": " + strerror(e));
    }
    return -EAFNOSUPPORT;
  }
  struct timeval tv = {kRequestTimeoutSec, 0};
  k.setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  Registration reg;
  std::string why;
  int rc = register_app(k, sock, reg, why);
  void* base = MAP_FAILED;
  size_t bytes = 0;
  if (rc == 0) {
    const abi::AppLayout& l = reg.resp.layout;
    struct stat st;
    if (!l.valid()) {
      why = "the region layout is invalid (slot count or sizes not powers of two)";
    } else if (fstat(reg.fds[0], &st) < 0 || static_cast<size_t>(st.st_size) < l.total_bytes()) {
      why = "the region memfd is smaller than its layout";
    } else {
      bytes = l.total_bytes();
      base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, reg.fds[0], 0);
      if (base == MAP_FAILED) {
        why = std::string("cannot map the region: ") + strerror(errno);
      } else {
        why = check_region(l, *static_cast<abi::AppRegionHeader*>(base), bytes);
      }
    }
  }
  if (reg.nfds > 0) {
    k.close(reg.fds[0]);  // the mapping keeps the region alive
    reg.fds[0] = -1;
  }
  if (!why.empty()) {
    if (base != MAP_FAILED) munmap(base, bytes);
    for (int i = 1; i < reg.nfds; ++i) k.close(reg.fds[i]);
    k.close(sock);
    say_once(k, g_warned_other, "cannot attach to the daemon at " + path + ": " + why);
    // An app the daemon does not let in hears why from socket() itself: it belongs to no tenant
    // (EACCES), its tenant's shared-memory limit is reached (ENOMEM), or the daemon has no
    // context left (EMFILE).
    bool refused = rc == -EACCES || rc == -ENOMEM || rc == -EMFILE;
    return refused ? rc : -EAFNOSUPPORT;
  }

  Context::Params p;
  p.view.base = static_cast<uint8_t*>(base);
  p.view.layout = reg.resp.layout;
  p.app_doorbell = reg.fds[1];
  p.fp_doorbell = reg.fds[2];
  p.ctx_id = reg.resp.ctx_id;
  p.local_ip = reg.resp.local_ip;
  p.channel = std::make_unique<UnixChannel>(k, sock, 2);
  int app_db = reg.fds[1];
  int fp_db = reg.fds[2];
  KernelOps kc = k;
  p.release = [kc, base, bytes, app_db, fp_db] {
    munmap(base, bytes);
    kc.close(app_db);
    kc.close(fp_db);
  };
  out = std::make_shared<Context>(k, std::move(p));
  return 0;
}

}  // namespace virtuoso::shim
