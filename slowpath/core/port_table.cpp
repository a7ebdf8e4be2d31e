// Port reservations and ephemeral port selection.
#include "port_table.hpp"

namespace virtuoso::slowpath {

PortTable::PortTable(uint16_t ephemeral_lo, uint16_t ephemeral_hi)
    : lo_(ephemeral_lo), count_(ephemeral_hi >= ephemeral_lo ? uint32_t(ephemeral_hi - ephemeral_lo) + 1 : 0) {}

const Reservation* PortTable::find(uint16_t port) const {
  auto it = reserved_.find(port);
  return it == reserved_.end() ? nullptr : &it->second;
}

Reservation* PortTable::find(uint16_t port) {
  auto it = reserved_.find(port);
  return it == reserved_.end() ? nullptr : &it->second;
}

bool PortTable::reserve(uint16_t port, const Reservation& r) { return reserved_.emplace(port, r).second; }

void PortTable::release(uint16_t port) { reserved_.erase(port); }

void PortTable::release_ctx(uint16_t ctx, const std::function<bool(const Reservation&)>& keep) {
  std::erase_if(reserved_, [&](const auto& kv) { return kv.second.ctx == ctx && !keep(kv.second); });
}

void PortTable::remove_connection(uint16_t port) {
  auto it = conn_refs_.find(port);
  if (it == conn_refs_.end()) return;
  if (--it->second == 0) conn_refs_.erase(it);
}

uint32_t PortTable::connections_on(uint16_t port) const {
  auto it = conn_refs_.find(port);
  return it == conn_refs_.end() ? 0 : it->second;
}

size_t PortTable::reservations(ReservationKind kind) const {
  size_t n = 0;
  for (const auto& [port, r] : reserved_) n += r.kind == kind;
  return n;
}

size_t PortTable::port_refs() const {
  size_t n = 0;
  for (const auto& [port, refs] : conn_refs_) n += refs;
  return n;
}

std::optional<uint16_t> PortTable::search(uint32_t offset, const std::function<bool(uint16_t)>& ok) {
  for (uint32_t i = 0; i < count_; ++i) {
    uint16_t port = uint16_t(lo_ + (offset + next_ + i) % count_);
    if (reserved_.count(port) || !ok(port)) continue;
    next_ += i + 1;
    return port;
  }
  return std::nullopt;
}

std::optional<uint16_t> PortTable::pick_unused() {
  return search(0, [this](uint16_t port) { return connections_on(port) == 0; });
}

std::optional<uint16_t> PortTable::pick_for_connect(uint32_t offset,
                                                    const std::function<bool(uint16_t)>& tuple_free) {
  return search(offset, tuple_free);
}

}  // namespace virtuoso::slowpath
