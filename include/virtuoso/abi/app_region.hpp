// Layout of one app context's shared region (memfd): made by the slow path, mapped by the app and the fast path.
//
// Trust: the app may scribble anything in here at any time. The fast path and the slow path take the
// layout parameters from their own records (AppLayout), never from this header, copy every queue entry
// out once, and validate each slot, generation and ring position before acting on it.
//
// Byte order: IPv4 addresses and ports in these structs are in host byte order.
//
//   [AppRegionHeader][atx: AppCmd queue][arx: AppEvent queue][ctl: CtlEvent queue][FlowSlot x n][buffers]
// Slot i owns rx bytes at buffers + i*(rx_size+tx_size) and tx bytes right after them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "virtuoso/shm/spsc_queue.hpp"

namespace virtuoso::abi {

inline constexpr uint64_t kAppRegionMagic = 0x5649525455534f41ULL;  // "VIRTUSOA"
inline constexpr uint32_t kAbiVersion = 10;

// app -> fast path: "look at slot S again". Owner: written by the app, read by the fast path.
enum class AppCmdKind : uint16_t {
  kTxBump = 1,      // tx_head advanced: new bytes to send
  kRxConsumed = 2,  // rx_tail advanced: the window may have opened
  kTxFin = 3,       // no more bytes will be written: send FIN after what is queued (shutdown(SHUT_WR))
};
struct AppCmd {
  uint32_t slot;
  uint32_t gen;  // the slot's generation the app believes in; stale commands are ignored
  uint16_t kind;
  uint16_t reserved;
  uint32_t reserved2;
};
static_assert(sizeof(AppCmd) == 16 && std::is_trivially_copyable_v<AppCmd>);

// fast path -> app: "slot S changed". Owner: written by the fast path, read by the app.
enum class AppEventKind : uint16_t {
  kRxData = 1,   // rx_head advanced
  kTxSpace = 2,  // tx_tail advanced (bytes acknowledged, buffer freed)
  kPeerFin = 3,  // the peer's FIN was received in order: rx side ends at rx_head
  kError = 4,    // the flow failed in the fast path (see FlowSlot::error)
};
struct AppEvent {
  uint32_t slot;
  uint32_t gen;
  uint16_t kind;
  uint16_t reserved;
  uint32_t reserved2;
};
static_assert(sizeof(AppEvent) == 16 && std::is_trivially_copyable_v<AppEvent>);

// slow path -> app: connection lifecycle. Owner: written by the slow path, read by the app.
enum class CtlEventKind : uint16_t {
  kAccepted = 1,       // listener `id` has a new established connection in slot/gen
  kConnected = 2,      // the connect with cookie `id` completed into slot/gen
  kConnectFailed = 3,  // the connect with cookie `id` failed with `error`
  kReset = 4,          // slot/gen was reset by the peer or aborted; `error` says why (ECONNRESET, ETIMEDOUT...)
  kClosed = 5,         // slot/gen finished its orderly close in both directions
  kAdopted = 6,        // the kClaim with cookie `id` completed: the connection is now slot/gen of
                       //   this context (or `error`: it is gone)
  kTaken = 7,          // another process holding slot/gen claimed it while this app was not
                       //   working on it (FlowSlot::app_busy): it is moving away; this app keeps a
                       //   reference and claims it back (kClaim by addresses) to use it again
};
struct CtlEvent {
  uint16_t kind;
  uint16_t reserved;
  uint32_t id;  // listener id (kAccepted) or connect cookie (kConnected, kConnectFailed)
  uint32_t slot;
  uint32_t gen;
  int32_t error;  // errno value, 0 if none
  uint32_t local_ip;
  uint32_t remote_ip;
  uint16_t local_port;
  uint16_t remote_port;
  uint16_t mss;  // negotiated send MSS
  uint16_t reserved2;
  uint32_t reserved3;
};
static_assert(sizeof(CtlEvent) == 40 && std::is_trivially_copyable_v<CtlEvent>);

inline constexpr uint32_t kSlotBusy = 1;   // FlowSlot::app_busy
inline constexpr uint32_t kSlotTaken = 2;

inline constexpr uint32_t kAppWaitsTx = 1;  // FlowSlot::app_waiting
inline constexpr uint32_t kAppWaitsRx = 2;

inline constexpr size_t kCongestionNameMax = 16;  // TCP_CA_NAME_MAX, as Linux's TCP_CONGESTION

// Per-flow ring positions. Each field has one writer (app_busy: see there), on its own cache line.
// Positions are free-running byte counts (mod 2^32); used = head - tail; ring index = pos & (size-1).
struct alignas(64) FlowSlot {
  alignas(64) uint32_t rx_head;  // fast path: bytes ever placed in the rx ring
  uint32_t rx_fin;               // fast path: 1 once the peer's FIN was received (after rx_head bytes)
  uint32_t error;                // fast path or slow path: errno once the flow failed, else 0
  uint32_t gen;                  // slow path: generation of the flow occupying this slot
  uint32_t srtt_us;              // fast path: smoothed round-trip time (TCP_INFO), 0 before a sample
  uint32_t rttvar_us;            // fast path: round-trip time variation
  uint32_t retransmits;          // fast path: segments sent again
  uint32_t snd_mss;              // fast path: largest payload sent in one segment
  uint32_t snd_cwnd;             // slow path: congestion window in bytes (TCP_INFO), 0: none
  uint32_t snd_ssthresh;         // slow path: slow-start threshold in bytes, UINT32_MAX before a cut
  char congestion[kCongestionNameMax];  // slow path: the flow's algorithm (TCP_CONGESTION), NUL-padded
  uint64_t pacing_rate;          // slow path: payload bytes a second the flow is paced at (TCP_INFO), 0: not
  alignas(64) uint32_t rx_tail;  // app: bytes ever consumed from the rx ring
  uint32_t tx_nospace;           // app: 1 while a writer found the tx ring full; only then (or with
                                 //   the ring over half full) does freed space earn a kTxSpace event
  uint32_t app_busy;             // a slot other processes hold references on (after fork()): the app
                                 //   sets kSlotBusy (compare-and-swap from 0) while it works on the
                                 //   slot and 0 after; the slow path swaps 0 for kSlotTaken when
                                 //   another holder claims the connection, which then moves away.
                                 //   An app closing the socket swaps 0 for kSlotTaken itself first
                                 //   (then sends kClose), so that nobody takes it meanwhile
  uint32_t app_waiting;          // app: kAppWaitsTx while the last send found no room for all
                                 //   its bytes, kAppWaitsRx while the last recv found none; for
                                 //   status only (a waiter with room or bytes for seconds was
                                 //   never woken), nobody acts on it
  uint64_t max_pacing_rate;      // app: SO_MAX_PACING_RATE in bytes a second, 0: none. The slow path
                                 //   paces the flow at no more than this (the app can only slow itself)
  alignas(64) uint32_t tx_head;  // app: bytes ever written into the tx ring
  alignas(64) uint32_t tx_tail;  // fast path: bytes ever acknowledged by the peer (freed)
};
static_assert(sizeof(FlowSlot) == 256 && std::is_trivially_copyable_v<FlowSlot>);
static_assert(offsetof(FlowSlot, rx_tail) == 64 && offsetof(FlowSlot, tx_head) == 128 &&
              offsetof(FlowSlot, tx_tail) == 192 && offsetof(FlowSlot, congestion) == 40 &&
              offsetof(FlowSlot, pacing_rate) == 56 && offsetof(FlowSlot, max_pacing_rate) == 80);

// What the app's socket calls cost in the shim, counted by the app (TSC cycles of the calling
// thread, the time it waited for data or room left out), for status and the benchmarks.
struct AppCallCounters {
  uint64_t sends;
  uint64_t send_cycles;
  uint64_t recvs;
  uint64_t recv_cycles;
};
static_assert(sizeof(AppCallCounters) == 32 && std::is_trivially_copyable_v<AppCallCounters>);

struct alignas(64) AppRegionHeader {
  // Written once by the slow path before the region is shared; the app may read them.
  uint64_t magic;
  uint32_t version;
  uint32_t ctx_id;
  uint32_t n_slots;
  uint32_t rx_size;  // bytes per slot, power of two
  uint32_t tx_size;  // bytes per slot, power of two
  uint32_t atx_capacity;
  uint32_t arx_capacity;
  uint32_t ctl_capacity;
  uint64_t region_bytes;
  // The algorithm this context's new connections get (TCP_CONGESTION before a connection exists).
  char default_congestion[kCongestionNameMax];
  alignas(64) uint32_t app_sleeping;    // app: nonzero while the app waits on its doorbell
  alignas(64) uint32_t arx_overflow;    // fast path sets when arx was full; app clears, then rescans all slots
  alignas(64) uint32_t fp_sleeping;     // fast path: nonzero while the fast path waits on its doorbell
  alignas(64) AppCallCounters calls;    // app: its socket calls; the slow path reads them for status
};
static_assert(sizeof(AppRegionHeader) == 320 && std::is_trivially_copyable_v<AppRegionHeader>);
static_assert(offsetof(AppRegionHeader, app_sleeping) == 64 &&
              offsetof(AppRegionHeader, default_congestion) == 48);

// The layout parameters each side keeps privately, and the offsets derived from them.
struct AppLayout {
  uint32_t n_slots;
  uint32_t rx_size;
  uint32_t tx_size;
  uint32_t atx_capacity;
  uint32_t arx_capacity;
  uint32_t ctl_capacity;

  static constexpr size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }
  constexpr size_t atx_offset() const { return sizeof(AppRegionHeader); }
  constexpr size_t arx_offset() const {
    return align_up(atx_offset() + shm::spsc_bytes<AppCmd>(atx_capacity), 64);
  }
  constexpr size_t ctl_offset() const {
    return align_up(arx_offset() + shm::spsc_bytes<AppEvent>(arx_capacity), 64);
  }
  constexpr size_t slots_offset() const {
    return align_up(ctl_offset() + shm::spsc_bytes<CtlEvent>(ctl_capacity), 64);
  }
  constexpr size_t buffers_offset() const {
    return align_up(slots_offset() + size_t{n_slots} * sizeof(FlowSlot), 4096);
  }
  constexpr size_t rx_offset(uint32_t slot) const {
    return buffers_offset() + size_t{slot} * (size_t{rx_size} + tx_size);
  }
  constexpr size_t tx_offset(uint32_t slot) const { return rx_offset(slot) + rx_size; }
  constexpr size_t total_bytes() const { return rx_offset(n_slots); }
  constexpr bool valid() const {
    return n_slots > 0 && n_slots <= 65536 && shm::is_pow2(rx_size) && shm::is_pow2(tx_size) &&
           rx_size >= 2048 && tx_size >= 2048 && rx_size <= (1u << 30) && tx_size <= (1u << 30) &&
           shm::is_pow2(atx_capacity) && shm::is_pow2(arx_capacity) && shm::is_pow2(ctl_capacity);
  }
};
static_assert(std::is_trivially_copyable_v<AppLayout>);

// A mapped app region with typed accessors; no ownership (the mapper unmaps).
struct AppRegionView {
  uint8_t* base = nullptr;
  AppLayout layout{};

  AppRegionHeader* header() const { return reinterpret_cast<AppRegionHeader*>(base); }
  shm::SpscQueue<AppCmd> atx() const {
    return {base + layout.atx_offset(), layout.atx_capacity};
  }
  shm::SpscQueue<AppEvent> arx() const {
    return {base + layout.arx_offset(), layout.arx_capacity};
  }
  shm::SpscQueue<CtlEvent> ctl() const {
    return {base + layout.ctl_offset(), layout.ctl_capacity};
  }
  FlowSlot* slot(uint32_t i) const {
    return reinterpret_cast<FlowSlot*>(base + layout.slots_offset()) + i;
  }
  uint8_t* rx_buf(uint32_t i) const { return base + layout.rx_offset(i); }
  uint8_t* tx_buf(uint32_t i) const { return base + layout.tx_offset(i); }
};

}  // namespace virtuoso::abi
