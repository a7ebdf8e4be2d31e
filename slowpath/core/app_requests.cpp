// Control plane: requests an app sends after kRegister (listen, bind, connect, close...).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

#include "control_plane.hpp"
#include "log_format.hpp"

namespace virtuoso::slowpath {

using abi::AppRequestKind;

abi::AppResponse ControlPlane::handle_request(uint16_t ctx, const abi::AppRequest& req, TimeMs now) {
  now_ = now;
  ++stats_.app_requests;
  abi::AppResponse r{};
  r.kind = req.kind;
  r.seq = req.seq;
  if (!attached_ctx(ctx)) {
    r.error = ENOTCONN;
  } else {
    switch (AppRequestKind(req.kind)) {
      case AppRequestKind::kListen: req_listen(ctx, req, r); break;
      case AppRequestKind::kUnlisten: req_unlisten(ctx, req, r); break;
      case AppRequestKind::kBind: req_bind(ctx, req, r); break;
      case AppRequestKind::kUnbind: req_unbind(ctx, req, r); break;
      case AppRequestKind::kConnect: req_connect(ctx, req, r, now); break;
      case AppRequestKind::kClose: req_close(ctx, req, r, false); break;
      case AppRequestKind::kAbort: req_close(ctx, req, r, true); break;
      case AppRequestKind::kAcceptAck: req_accept_ack(ctx, req, r); break;
      case AppRequestKind::kShareListener: req_share_listener(ctx, req, r); break;
      case AppRequestKind::kAccepting: req_accepting(ctx, req, r); break;
      case AppRequestKind::kKeepalive: req_keepalive(ctx, req, r, now); break;
      case AppRequestKind::kClaim: req_claim(ctx, req, r); break;
      case AppRequestKind::kDropHold: req_drop_hold(holds_.ctxs[ctx], vni_of(ctx), req, r); break;
      default: r.error = EINVAL; break;  // kRegister twice, or a kind we do not know
    }
  }
  if (r.error) {
    ++stats_.app_request_errors;
    spdlog::debug("context {}: request {} seq {} -> errno {}", ctx, req.kind, req.seq, r.error);
  }
  return r;
}

// A plain app may name the stack's address or 0.0.0.0; a tenant's app 0.0.0.0 or one of its
// tenant's addresses, never the host's or another tenant's.
int ControlPlane::check_local_ip(uint16_t ctx, uint32_t ip) {
  if (ip == 0) return 0;
  const config::TenantConfig* t = tenant(ctxs_[ctx].tenant);
  if (t ? config::tenant_owns(*t, ip) : ip == s_.local_ip) return 0;
  if (t) {
    if (log_ok(LogKind::kRefusal))
      spdlog::info("context {} (tenant '{}'): refused address {}, not the tenant's", ctx, t->name, ip_str(ip));
    ++stats_.tenant_refusals;
  }
  return EADDRNOTAVAIL;
}

std::optional<uint16_t> ControlPlane::choose_local_port(uint16_t ctx, uint16_t port, int& error) {
  PortTable& ports = ports_of(vni_of(ctx));
  if (port != 0) {
    if (ports.find(port)) {
      error = EADDRINUSE;
      return std::nullopt;
    }
    return port;
  }
  auto p = ports.pick_unused();
  if (!p) error = EAGAIN;
  return p;
}

void ControlPlane::req_listen(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r) {
  if ((r.error = check_local_ip(ctx, req.ip))) return;
  PortTable& ports = ports_of(vni_of(ctx));
  uint32_t backlog = std::clamp<uint32_t>(req.backlog, 1, s_.max_backlog);
  uint32_t id = next_listener_id_++;
  if (next_listener_id_ == 0) next_listener_id_ = 1;
  uint32_t ip = req.ip;
  uint16_t port = req.port;
  if (listen_limit_reached(ctx, port)) {
    r.error = ENOBUFS;  // the tenant's max_listen_ports
    return;
  }
  if (Reservation* res = port ? ports.find(port) : nullptr) {
    // listen() on a socket bound before: the reservation becomes the listener.
    if (res->ctx != ctx || res->kind != ReservationKind::kBind) {
      r.error = EADDRINUSE;
      return;
    }
    res->kind = ReservationKind::kListen;
    res->listener = id;
    ip = res->ip;
  } else {
    auto chosen = choose_local_port(ctx, port, r.error);
    if (!chosen) return;
    port = *chosen;
    ports.reserve(port, Reservation{ctx, ip, ReservationKind::kListen, id});
  }
  Listener& l = listeners_[id];
  l.ctx = ctx;
  l.ip = ip;
  l.port = port;
  l.backlog = backlog;
  r.id = id;
  r.ip = ip;
  r.port = port;
  spdlog::debug("context {}: listening on port {} (listener {}, backlog {})", ctx, port, id, backlog);
}

void ControlPlane::req_unlisten(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r) {
  auto it = listeners_.find(req.id);
  if (it == listeners_.end() || it->second.ctx != ctx) {
    r.error = EINVAL;
    return;
  }
  r.id = req.id;
  if (it->second.holds != 0) {  // forked processes still hold it, as a shared Linux socket
    listener_owner_gone(req.id);
    return;
  }
  share_leave(req.id);
  drop_listener(req.id);
}

void ControlPlane::req_bind(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r) {
  if ((r.error = check_local_ip(ctx, req.ip))) return;
  PortTable& ports = ports_of(vni_of(ctx));
  auto port = choose_local_port(ctx, req.port, r.error);
  if (!port) return;
  ports.reserve(*port, Reservation{ctx, req.ip, ReservationKind::kBind, 0});
  r.ip = req.ip;
  r.port = *port;
}

void ControlPlane::req_unbind(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r) {
  PortTable& ports = ports_of(vni_of(ctx));
  const Reservation* res = ports.find(req.port);
  if (!res || res->ctx != ctx || res->kind != ReservationKind::kBind) {
    r.error = EINVAL;
    return;
  }
  ports.release(req.port);
  r.port = req.port;
}

void ControlPlane::req_accept_ack(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r) {
  auto it = listeners_.find(req.id);
  if (it == listeners_.end() || it->second.ctx != ctx || it->second.unaccepted.empty()) {
    r.error = EINVAL;
    return;
  }
  it->second.unaccepted.pop_front();  // accept() takes connections in the order they were announced
  r.id = req.id;
}

void ControlPlane::req_close(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r, bool abort) {
  Context& x = ctxs_[ctx];
  if (req.slot >= x.slots.size() || !x.slots[req.slot].used || x.slots[req.slot].gen != req.gen) {
    r.error = EINVAL;
    return;
  }
  SlotInfo& si = x.slots[req.slot];
  if (!si.app_holds) return;  // released already (a listener closed before accept): nothing to do
  uint32_t flow = si.flow;
  release_by_app(ctx, req.slot);
  if (flow == kNoFlow) return;
  Conn& c = conns_[flow];
  if (req.flags & abi::kCloseShared) {  // the app queued no FIN: the last holder's close ends it
    owner_let_go(flow, c, abort);
    return;
  }
  if (!abort || !c.installed) return;
  ++stats_.aborts_app;
  abort_flow(flow, c, true);
}

}  // namespace virtuoso::slowpath
