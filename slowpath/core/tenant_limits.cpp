// Control plane: each tenant's [tenant.limits], checked where its apps take connections, listening
// ports and shared memory. 0 in a limit means none beyond the host's own.
#include <spdlog/spdlog.h>

#include <set>

#include "control_plane.hpp"

namespace virtuoso::slowpath {

uint32_t ControlPlane::tenant_flows(uint16_t tid) const {
  uint32_t n = 0;
  for (const Context& x : ctxs_)
    if (x.state != CtxState::kFree && x.tenant == tid) n += x.conns;
  return n;
}

bool ControlPlane::flow_limit_reached(uint16_t ctx) {
  const config::TenantConfig* t = tenant(ctxs_[ctx].tenant);
  if (!t || t->limits.max_flows == 0 || tenant_flows(ctxs_[ctx].tenant) < t->limits.max_flows) return false;
  ++stats_.tenant_limit_refusals;
  spdlog::debug("tenant {}: at its limit of {} connections", t->name, t->limits.max_flows);
  return true;
}

bool ControlPlane::listen_limit_reached(uint16_t ctx, uint16_t port) {
  uint16_t tid = ctxs_[ctx].tenant;
  const config::TenantConfig* t = tenant(tid);
  if (!t || t->limits.max_listen_ports == 0) return false;
  std::set<uint16_t> ports;
  for (const auto& [id, l] : listeners_)
    if (ctxs_[l.ctx].tenant == tid) ports.insert(l.port);
  if (port != 0 && ports.count(port)) return false;  // the same port again (a listener shared after fork)
  if (ports.size() < t->limits.max_listen_ports) return false;
  ++stats_.tenant_limit_refusals;
  if (log_ok(LogKind::kRefusal))
    spdlog::info("tenant {}: listen refused, at its limit of {} listening ports", t->name, t->limits.max_listen_ports);
  return true;
}

int ControlPlane::admit_context(uint16_t tid, uint64_t region_bytes) {
  const config::TenantConfig* t = tenant(tid);
  if (!t || t->limits.max_shm_mb == 0) return 0;
  uint64_t used = 0;
  for (const Context& x : ctxs_)
    if (x.state != CtxState::kFree && x.tenant == tid) used += x.view.layout.total_bytes();
  if (used + region_bytes <= uint64_t(t->limits.max_shm_mb) << 20) return 0;
  ++stats_.tenant_limit_refusals;
  if (log_ok(LogKind::kRefusal))
    spdlog::info("tenant {}: app refused, its regions would take {} of its {} MiB", t->name,
                 (used + region_bytes) >> 20, t->limits.max_shm_mb);
  return ENOMEM;
}

}  // namespace virtuoso::slowpath
