// Control plane: listeners shared between a process and its fork() children, and which context takes the next connection.
//
// Linux keeps one accept queue per listening socket, shared by every process holding it. Here a
// connection lives in one context's region from the moment it is established, so each context
// sharing a port has its own listener record (own backlog and unaccepted queue) and the port's
// reservation names the member the next SYN goes to. The target moves round-robin over the members
// that accept (kAccepting, or joined with kShareListener) each time one of them takes a connection
// and whenever membership changes; with none accepting, the oldest member gets them (it may still
// accept later). A burst of SYNs between two accept() calls lands on one member.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

#include "control_plane.hpp"

namespace virtuoso::slowpath {

int ControlPlane::inherit_context(uint16_t ctx, uint16_t from) {
  if (!attached_ctx(ctx) || ctx == from || from >= ctxs_.size() || ctxs_[from].state != CtxState::kAttached)
    return EINVAL;
  std::vector<uint16_t>& list = share_.inherits[ctx];
  if (std::find(list.begin(), list.end(), from) == list.end()) list.push_back(from);
  spdlog::debug("context {}: descends from context {}", ctx, from);
  return 0;
}

bool ControlPlane::descends_from(uint16_t ctx, uint16_t from) const {
  auto it = share_.inherits.find(ctx);
  return it != share_.inherits.end() && std::find(it->second.begin(), it->second.end(), from) != it->second.end();
}

void ControlPlane::req_share_listener(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r) {
  auto it = listeners_.find(req.id);
  if (it == listeners_.end() || !descends_from(ctx, it->second.ctx)) {
    r.error = EINVAL;  // not a listener, or one this app did not inherit
    return;
  }
  const Listener& from = it->second;
  uint32_t id = next_listener_id_++;
  if (next_listener_id_ == 0) next_listener_id_ = 1;
  Listener& l = listeners_[id];
  l.ctx = ctx;
  l.ip = from.ip;
  l.port = from.port;
  l.backlog = req.backlog ? std::clamp<uint32_t>(req.backlog, 1, s_.max_backlog) : from.backlog;
  uint32_t gid = share_.group_of.count(req.id) ? share_.group_of[req.id] : req.id;
  ShareState::Group& g = share_.groups[gid];
  if (g.members.empty()) {
    g.members.push_back(req.id);
    share_.group_of[req.id] = gid;
  }
  g.members.push_back(id);
  share_.group_of[id] = gid;
  share_.accepting.insert(id);
  share_retarget(gid, false);
  r.id = id;
  r.ip = l.ip;
  r.port = l.port;
  spdlog::debug("context {}: shares port {} of listener {} (listener {})", ctx, l.port, req.id, id);
}

void ControlPlane::req_accepting(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r) {
  auto it = listeners_.find(req.id);
  if (it == listeners_.end() || it->second.ctx != ctx) {
    r.error = EINVAL;
    return;
  }
  share_.accepting.insert(req.id);
  r.id = req.id;
  auto g = share_.group_of.find(req.id);
  if (g != share_.group_of.end()) share_retarget(g->second, false);
}

// Points the port at the member that takes the next connection. `advance`: the current one just
// took one, move on; otherwise keep it if it still qualifies.
void ControlPlane::share_retarget(uint32_t gid, bool advance) {
  auto git = share_.groups.find(gid);
  if (git == share_.groups.end() || git->second.members.empty()) return;
  ShareState::Group& g = git->second;
  const Listener& any = listeners_.at(g.members.front());
  Reservation* res = ports_.find(any.port);
  if (!res || res->kind != ReservationKind::kListen) return;
  size_t n = g.members.size();
  size_t cur = std::find(g.members.begin(), g.members.end(), res->listener) - g.members.begin();
  size_t start = advance || cur >= n ? g.next : cur;
  uint32_t chosen = g.members.front();  // nobody accepting: the oldest member queues them
  for (size_t i = 0; i < n; ++i) {
    size_t k = (start + i) % n;
    if (share_.accepting.count(g.members[k])) {
      chosen = g.members[k];
      g.next = k + 1;
      break;
    }
  }
  res->listener = chosen;
  res->ctx = listeners_.at(chosen).ctx;
}

void ControlPlane::share_accepted(uint32_t listener_id) {
  auto g = share_.group_of.find(listener_id);
  if (g != share_.group_of.end()) share_retarget(g->second, true);
}

// Before `listener_id` is dropped: if others share its port, the port stays theirs.
void ControlPlane::share_leave(uint32_t listener_id) {
  share_.accepting.erase(listener_id);
  auto it = share_.group_of.find(listener_id);
  if (it == share_.group_of.end()) return;
  uint32_t gid = it->second;
  share_.group_of.erase(it);
  ShareState::Group& g = share_.groups[gid];
  g.members.erase(std::remove(g.members.begin(), g.members.end(), listener_id), g.members.end());
  if (g.members.empty()) {
    share_.groups.erase(gid);
    return;
  }
  g.next = 0;
  share_retarget(gid, false);  // moves the reservation off the leaving member
  if (g.members.size() == 1) {  // alone again: an ordinary listener
    share_.group_of.erase(g.members.front());
    share_.groups.erase(gid);
  }
}

// The app of `ctx` is gone: its listeners leave their groups (dropped by the caller afterwards),
// and what it inherited, or others inherited from it, no longer holds.
void ControlPlane::share_ctx_gone(uint16_t ctx) {
  std::vector<uint32_t> owned;
  for (const auto& [id, l] : listeners_)
    if (l.ctx == ctx) owned.push_back(id);
  for (uint32_t id : owned) share_leave(id);
  share_.inherits.erase(ctx);
  for (auto& [child, list] : share_.inherits) list.erase(std::remove(list.begin(), list.end(), ctx), list.end());
}

}  // namespace virtuoso::slowpath
