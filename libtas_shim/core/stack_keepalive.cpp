// Keepalive requests (kKeepalive) for stack sockets, from the options the app set.
#include "stack_keepalive.hpp"

#include "context.hpp"
#include "socket.hpp"

namespace virtuoso::shim {

void defer_keepalive(Context& c, const Socket& s) {
  if (s.state != SockState::kConnected || s.failed || s.closed_by_stack || s.inherited || s.released) return;
  abi::AppRequest r{};
  r.kind = static_cast<uint32_t>(abi::AppRequestKind::kKeepalive);
  r.slot = s.slot;
  r.gen = s.gen;
  r.keep_enabled = s.opt.keepalive ? 1 : 0;
  // 0 leaves the stack's configured default, as an unset TCP_KEEP* leaves Linux's sysctl.
  r.keep_idle_s = static_cast<uint32_t>(s.opt.keepidle);
  r.keep_intvl_s = static_cast<uint32_t>(s.opt.keepintvl);
  r.keep_cnt = static_cast<uint32_t>(s.opt.keepcnt);
  c.defer(r);
}

void keepalive_on_open(Context& c, const Socket& s) {
  if (s.opt.keepalive) defer_keepalive(c, s);
}

void inherit_keepalive(Context& c, const Socket& listener, Socket& child) {
  child.opt.keepalive = listener.opt.keepalive;
  child.opt.keepidle = listener.opt.keepidle;
  child.opt.keepintvl = listener.opt.keepintvl;
  child.opt.keepcnt = listener.opt.keepcnt;
  keepalive_on_open(c, child);
}

}  // namespace virtuoso::shim
