// virtuoso-slowpath: app connections on app.sock: registration (region, doorbell, attach to the
// fast path), requests, and the end of an app.
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <sys/stat.h>

#include <stdexcept>

#include "app_identity.hpp"
#include "config/tenant_match.hpp"
#include "daemon.hpp"

namespace virtuoso::slowpath {

void Daemon::listen_tenant_sockets() {
  tenant_listen_.resize(cfg_.tenants.size());
  for (size_t i = 0; i < cfg_.tenants.size(); ++i) {
    std::string path = config::tenant_socket_path(cfg_.run_dir, cfg_.tenants[i]);
    if (path.empty()) continue;
    std::string dir = path.substr(0, path.rfind('/'));
    for (const std::string& d : {dir.substr(0, dir.rfind('/')), dir}) {
      if (mkdir(d.c_str(), 0755) != 0 && errno != EEXIST)
        throw std::runtime_error(fmt::format("cannot create {}: {}", d, std::strerror(errno)));
    }
    tenant_listen_[i] = ListeningSocket(path, SOCK_SEQPACKET, 0666);
    watch(tenant_listen_[i].get(), Tag::kAppListen, uint32_t(i + 1));
    spdlog::info("tenant '{}': own app socket {}", cfg_.tenants[i].name, path);
  }
}

std::optional<uint16_t> Daemon::tenant_for(const AppConn& conn) const {
  if (cfg_.tenants.empty()) return 0;
  config::TenantMatch m = config::match_tenant(cfg_.tenants, app_credentials(conn.cred, conn.tenant_socket));
  if (!m.matched()) {
    spdlog::warn("app pid {} uid {} gid {}: refused, {}", conn.cred.pid, conn.cred.uid, conn.cred.gid,
                 config::describe_match(cfg_.tenants, m));
    return std::nullopt;
  }
  spdlog::info("app pid {}: {}", conn.cred.pid, config::describe_match(cfg_.tenants, m));
  return uint16_t(m.tenant + 1);
}

void Daemon::accept_app(uint32_t socket_id) {
  int listen_fd = socket_id == 0 ? app_listen_.get() : tenant_listen_[socket_id - 1].get();
  for (;;) {
    UniqueFd fd = accept_unix(listen_fd);
    if (!fd) return;
    uint32_t id = next_conn_id_++;
    if (next_conn_id_ == 0) next_conn_id_ = 1;
    AppConn& conn = apps_[id];
    conn.fd = std::move(fd);
    if (auto cred = peer_credentials(conn.fd.get())) conn.cred = *cred;
    if (socket_id != 0) conn.tenant_socket = socket_id - 1;
    watch(conn.fd.get(), Tag::kApp, id);
  }
}

void Daemon::on_app_readable(uint32_t id, TimeMs now) {
  auto it = apps_.find(id);
  if (it == apps_.end()) return;
  AppConn& conn = it->second;
  for (;;) {
    // A registered app's requests are its tenant's work: left unread while the tenant is out of
    // budget and another tenant with budget has work (resume_apps looks again after this pass).
    if (conn.ctx >= 0 && conn.answered && !conn.hold_link &&
        !cp_.gate().admit_request(cp_.gate().account(cp_.context_tenant(uint16_t(conn.ctx))))) {
      pause_app(id);
      return;
    }
    abi::AppRequest req{};
    uint8_t buf[sizeof(abi::AppRequest) + 8];
    UniqueFd passed;  // kInherit carries a hold link; any other descriptor is closed unused
    ssize_t n = recv_app_request(conn.fd.get(), buf, sizeof buf, passed);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      drop_app(id, now);
      return;
    }
    if (size_t(n) != sizeof req) {
      spdlog::warn("app pid {}: request of {} bytes (expected {}); disconnecting it", conn.cred.pid, n, sizeof req);
      drop_app(id, now);
      return;
    }
    std::memcpy(&req, buf, sizeof req);
    abi::AppResponse r{};
    UniqueFd give;  // kForkHold: the new hold link's app end, sent with the answer
    if (req.kind == uint32_t(abi::AppRequestKind::kForkHold) && (conn.hold_link || (conn.ctx >= 0 && conn.answered))) {
      r = on_fork_hold(conn, req, give);
    } else if (conn.hold_link) {
      r = cp_.handle_hold_request(conn.hold, req, now);
    } else if (req.kind == uint32_t(abi::AppRequestKind::kRegister) && conn.ctx < 0) {
      on_register(id, conn, req);
      continue;
    } else if (conn.ctx < 0 || !conn.answered) {
      r.kind = req.kind;
      r.seq = req.seq;
      r.error = conn.ctx < 0 ? ENOTCONN : EBUSY;  // requests before the registration completed
    } else if (req.kind == uint32_t(abi::AppRequestKind::kInherit)) {
      r = on_inherit(conn, req, passed.get());
    } else {
      uint64_t t0 = monotonic_ns();
      r = cp_.handle_request(uint16_t(conn.ctx), req, now);
      uint64_t ns = monotonic_ns() - t0;
      uint16_t tenant = cp_.context_tenant(uint16_t(conn.ctx));
      cp_.charge_work(tenant, ControlPlane::WorkKind::kRequest, ns);
      cp_.gate().done(cp_.gate().account(tenant), ns);
    }
    bool sent = give ? send_response(conn, r, {give.get()}) : send_response(conn, r);
    if (!sent) {
      drop_app(id, now);
      return;
    }
  }
}

void Daemon::on_register(uint32_t id, AppConn& conn, const abi::AppRequest& req) {
  abi::AppResponse r{};
  r.kind = req.kind;
  r.seq = req.seq;
  if (req.version != abi::kAbiVersion) {
    spdlog::warn("app pid {} uid {}: ABI version {}, we speak {}; refused", conn.cred.pid, conn.cred.uid, req.version,
                 abi::kAbiVersion);
    r.error = EPROTO;
  } else if (!fp_attached_) {
    r.error = ENETDOWN;
  } else if (auto tenant = tenant_for(conn); !tenant) {
    r.error = EACCES;  // tenants are configured and the app is none of theirs
    cp_.note_app_refused();
  } else {
    conn.register_seq = req.seq;
    r.error = create_context(id, conn, *tenant);
    if (r.error == 0) return;  // answered when the fast path has mapped the region
  }
  spdlog::info("app pid {} uid {}: registration refused (errno {})", conn.cred.pid, conn.cred.uid, r.error);
  send_response(conn, r);
}

// Region, doorbell, context id; then the region to the fast path's socket, then the command.
int Daemon::create_context(uint32_t id, AppConn& conn, uint16_t tenant) {
  const abi::AppLayout& layout = settings_.app_layout;
  if (int err = cp_.admit_context(tenant, layout.total_bytes())) return err;
  SharedMemory region;
  UniqueFd bell;
  try {
    region = SharedMemory("virtuoso-app", layout.total_bytes());
    bell = make_eventfd();
  } catch (const std::exception& e) {
    spdlog::error("app pid {}: {}", conn.cred.pid, e.what());
    return ENOMEM;
  }
  abi::AppRegionView view{region.base(), layout};
  auto ctx = cp_.add_context(view, tenant);
  if (!ctx) return EMFILE;  // apps.max_contexts reached
  abi::FpMessage msg{};
  msg.kind = uint32_t(abi::FpMessageKind::kAttachCtx);
  msg.version = abi::kAbiVersion;
  msg.ctx = *ctx;
  msg.control = ctrl_.layout;
  msg.app = layout;
  msg.local_ip = settings_.local_ip;
  if (int err = send_with_fds(fp_conn_.get(), &msg, sizeof msg, {region.fd(), bell.get()})) {
    spdlog::error("cannot hand context {} to the fast path: {}", *ctx, std::strerror(err));
    cp_.cancel_context(*ctx);
    return EIO;
  }
  channels_.add_context(*ctx, view);
  cp_.attach_context(*ctx);
  CtxRes& res = ctx_res_[*ctx];
  res.region = std::move(region);
  res.doorbell = std::move(bell);
  res.conn = id;
  conn.ctx = *ctx;
  spdlog::info("app pid {} uid {}: context {} ({} bytes)", conn.cred.pid, conn.cred.uid, *ctx, layout.total_bytes());
  return 0;
}

void Daemon::context_attached(uint16_t ctx, int error) {
  CtxRes& res = ctx_res_[ctx];
  auto it = res.conn ? apps_.find(res.conn) : apps_.end();
  if (error) release_ctx(ctx);  // the control plane freed the id already
  if (it == apps_.end()) return;
  AppConn& conn = it->second;
  abi::AppResponse r{};
  r.kind = uint32_t(abi::AppRequestKind::kRegister);
  r.seq = conn.register_seq;
  r.error = error;
  if (error) {
    conn.ctx = -1;
    send_response(conn, r);
    return;
  }
  r.ctx_id = ctx;
  r.layout = settings_.app_layout;
  r.local_ip = cp_.default_ip(ctx);
  conn.answered = true;
  send_response(conn, r, {res.region.fd(), res.doorbell.get(), fp_bell_.get()});
}

void Daemon::context_detached(uint16_t ctx) { release_ctx(ctx); }

void Daemon::release_ctx(uint16_t ctx) {
  channels_.remove_context(ctx);
  ctx_res_[ctx] = CtxRes{};
}

bool Daemon::send_response(AppConn& conn, const abi::AppResponse& r, std::initializer_list<int> fds) {
  int err = send_with_fds(conn.fd.get(), &r, sizeof r, fds);
  if (err) spdlog::warn("app pid {}: cannot answer: {}", conn.cred.pid, std::strerror(err));
  return err == 0;
}

// An app whose tenant is out of slow-path budget: epoll stops reporting its socket until resume_apps.
void Daemon::pause_app(uint32_t id) {
  auto it = apps_.find(id);
  if (it == apps_.end()) return;
  if (rewatch(it->second.fd.get(), Tag::kApp, id, 0)) paused_apps_.push_back(id);  // nothing reported until resumed
}

// After each pass of the loop: paused apps are watched again; the next pass admits their
// requests if their tenant has budget by then, or no tenant with budget has work.
void Daemon::resume_apps() {
  for (uint32_t id : paused_apps_) {
    auto it = apps_.find(id);
    if (it != apps_.end()) rewatch(it->second.fd.get(), Tag::kApp, id, EPOLLIN);  // else gone meanwhile
  }
  paused_apps_.clear();
}

// The process exited (or broke the protocol): its flows are aborted, then the context detached.
void Daemon::drop_app(uint32_t id, TimeMs now) {
  auto it = apps_.find(id);
  if (it == apps_.end()) return;
  AppConn& conn = it->second;
  if (conn.hold != 0) cp_.hold_link_gone(conn.hold, now);  // the child went without using it
  if (conn.ctx >= 0) {
    spdlog::info("app pid {}: gone; releasing context {}", conn.cred.pid, conn.ctx);
    ctx_res_[size_t(conn.ctx)].conn = 0;
    cp_.app_disconnected(uint16_t(conn.ctx), now);
  }
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, conn.fd.get(), nullptr);
  apps_.erase(it);
}

}  // namespace virtuoso::slowpath
