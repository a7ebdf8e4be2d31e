// Control plane: listeners shared between a process and its fork() children, and which context takes the next connection.
//
// Linux keeps one accept queue per listening socket, shared by every process holding it. Here a
// connection lives in one context's region from the moment it is established, so each context
// sharing a port has its own listener record (own backlog and unaccepted queue) and the port's
// reservation names the member the next SYN goes to. The target moves round-robin over the members
// that accept (kAccepting, or joined with kShareListener) with every SYN and whenever membership
// changes, as SO_REUSEPORT spreads connections; with none accepting, the oldest member gets them
// (it may still accept later).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>

#include "control_plane.hpp"

namespace virtuoso::slowpath {

void ControlPlane::req_share_listener(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r) {
  auto it = listeners_.find(req.id);
  if (it == listeners_.end() || !take_listener_ref(holds_.ctxs[ctx], req.id)) {
    r.error = EINVAL;  // not a listener, or one this app did not inherit
    return;
  }
  Listener& from = it->second;
  --from.holds;  // the reference becomes a listener of this context's own
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
  if (from.owner_gone && from.holds == 0) {  // its last holder just joined: the port is the group's
    share_leave(req.id);
    drop_listener(req.id);
  }
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
  Reservation* res = ports_of(vni_of(any.ctx)).find(any.port);
  if (!res || res->kind != ReservationKind::kListen) return;
  size_t n = g.members.size();
  size_t cur = std::find(g.members.begin(), g.members.end(), res->listener) - g.members.begin();
  size_t start = advance || cur >= n ? g.next : cur;
  // Nobody accepting: the oldest member whose owner is still there queues them.
  uint32_t chosen = g.members.front();
  for (uint32_t id : g.members) {
    if (!listeners_.at(id).owner_gone) {
      chosen = id;
      break;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    size_t k = (start + i) % n;
    if (share_.accepting.count(g.members[k]) && !listeners_.at(g.members[k]).owner_gone) {
      chosen = g.members[k];
      g.next = k + 1;
      break;
    }
  }
  res->listener = chosen;
  res->ctx = listeners_.at(chosen).ctx;
}

void ControlPlane::share_took_syn(uint32_t listener_id) {
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

// The app of `ctx` is gone: its listeners nobody else holds leave their groups (the caller drops
// them afterwards); those a forked process holds stay members until it lets go.
void ControlPlane::share_ctx_gone(uint16_t ctx) {
  std::vector<uint32_t> owned;
  for (const auto& [id, l] : listeners_)
    if (l.ctx == ctx && l.holds == 0) owned.push_back(id);
  for (uint32_t id : owned) share_leave(id);
}

}  // namespace virtuoso::slowpath
