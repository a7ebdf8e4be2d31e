// Local TCP port bookkeeping: reservations (bind, listen) and ports used by connections.
//
// The stack has one address, so a reservation on 0.0.0.0 and one on the local address conflict:
// there is at most one reservation per port. Connections never conflict with reservations (as if
// every socket had SO_REUSEADDR: a restarted server can listen while old connections linger in
// TIME_WAIT), only with each other, by 4-tuple, which the caller checks.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>

namespace virtuoso::slowpath {

enum class ReservationKind : uint8_t { kBind, kListen };

struct Reservation {
  uint16_t ctx = 0;
  uint32_t ip = 0;  // 0.0.0.0 or the local address
  ReservationKind kind = ReservationKind::kBind;
  uint32_t listener = 0;  // kListen: the listener id
};

class PortTable {
 public:
  PortTable(uint16_t ephemeral_lo, uint16_t ephemeral_hi);

  const Reservation* find(uint16_t port) const;
  Reservation* find(uint16_t port);
  // False if the port is reserved already.
  bool reserve(uint16_t port, const Reservation& r);
  void release(uint16_t port);
  // Every reservation of a context whose app went away, but those `keep` says are still in use.
  void release_ctx(uint16_t ctx, const std::function<bool(const Reservation&)>& keep);

  void add_connection(uint16_t port) { ++conn_refs_[port]; }
  void remove_connection(uint16_t port);
  uint32_t connections_on(uint16_t port) const;
  // For status: how many reservations of a kind, ports connections hold, and their references.
  size_t reservations(ReservationKind kind) const;
  size_t ports_in_use() const { return conn_refs_.size(); }
  size_t port_refs() const;

  // An ephemeral port nobody reserved and no connection uses (bind/listen to port 0).
  std::optional<uint16_t> pick_unused();
  // An ephemeral port not reserved for which `tuple_free(port)` holds, searching from `offset`
  // (RFC 6056 algorithm 3: per-destination offset plus a global counter).
  std::optional<uint16_t> pick_for_connect(uint32_t offset, const std::function<bool(uint16_t)>& tuple_free);

 private:
  std::optional<uint16_t> search(uint32_t offset, const std::function<bool(uint16_t)>& ok);

  uint16_t lo_;
  uint32_t count_;
  uint32_t next_ = 0;
  std::unordered_map<uint16_t, Reservation> reserved_;
  std::unordered_map<uint16_t, uint32_t> conn_refs_;
};

}  // namespace virtuoso::slowpath
