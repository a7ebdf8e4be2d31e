// Layout of the slow path <-> fast path shared region: punted and injected frames, commands, events, flow table.
//
// Made by the slow path (memfd), mapped by the fast path at attach. Both processes are the daemon's
// own, but every field still has exactly one writer, named beside it.
//
//   [ControlHeader (with FaultControl)][punt: PacketSlot][inject: PacketSlot][cmd: FpCommand][evt: FpEvent][FlowEntry x max_flows]
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "virtuoso/abi/app_region.hpp"
#include "virtuoso/abi/fault_settings.hpp"
#include "virtuoso/shm/spsc_queue.hpp"

namespace virtuoso::abi {

inline constexpr uint64_t kControlRegionMagic = 0x5649525455534f43ULL;  // "VIRTUSOC"

// PacketSlot::flags on the inject queue.
inline constexpr uint16_t kPacketProcessAsRx = 1;  // the fast path treats the frame as received from the port

// One Ethernet frame crossing between the processes (no FCS).
struct PacketSlot {
  uint16_t len;
  uint16_t flags;
  uint32_t reserved2;
  uint8_t data[2040];
};
static_assert(sizeof(PacketSlot) == 2048 && std::is_trivially_copyable_v<PacketSlot>);

// slow path -> fast path. Owner: written by the slow path, read by the fast path.
enum class FpCommandKind : uint16_t {
  kInstall = 1,     // flow `flow` is filled in: start fast-path processing of it
  kRemove = 2,      // stop processing `flow`; the fast path answers kRemoved
  kRetransmit = 3,  // retransmission timeout: resend from snd_una (go-back-N)
  kAttachCtx = 4,   // the region of ctx `ctx` was sent on the fast path's Unix socket: receive and map it
  kDetachCtx = 5,   // unmap ctx `ctx` (its flows were removed before); the fast path answers kCtxDetached
  // 6 was kProbeTail, the slow path's tail loss probe; the fast path times its own (tlp.cpp).
  kRehome = 7,      // move `flow` to slot `slot` (generation `gen`) of ctx `ctx`: copy both rings and
                    //   every FlowSlot field, repoint the entry; answered by kRehomed. The flow's
                    //   old app let go of it, so nobody writes the old slot meanwhile.
  kFin = 8,         // send FIN after the bytes queued so far (as the app's kTxFin would)
  kPathMtu = 9,     // `flow`'s path_mss was lowered (ICMP fragmentation needed): send in segments of
                    //   that size from now on, resending what is in flight (it was too big to pass)
};
struct FpCommand {
  uint16_t kind;
  uint16_t ctx;
  uint32_t flow;
  AppLayout layout;  // kAttachCtx only
  uint32_t slot;     // kRehome only
  uint32_t gen;      // kRehome only
};
static_assert(sizeof(FpCommand) == 40 && std::is_trivially_copyable_v<FpCommand>);

// fast path -> slow path. Owner: written by the fast path, read by the slow path.
enum class FpEventKind : uint16_t {
  kRemoved = 1,      // `flow` is no longer processed; its entry belongs to the slow path again
  kPeerFin = 2,      // the peer's FIN for `flow` was received in order (and ACKed)
  kFinAcked = 3,     // our FIN for `flow` was acknowledged
  kFlowError = 4,    // `flow` failed in the fast path (bad app ring positions...): `value` is the errno
  kCtxDetached = 5,  // ctx `ctx` is unmapped
  kCtxFault = 6,     // ctx `ctx` broke the queue protocol (corrupt indices); `value` is the errno
  kCtxAttached = 7,  // ctx `ctx` is mapped (value 0) or could not be (value errno)
  kRehomed = 8,      // kRehome of `flow` done (value 0: it lives in its new slot now) or refused
                     //   (value errno: still in its old slot, or no longer installed)
};
struct FpEvent {
  uint16_t kind;
  uint16_t ctx;
  uint32_t flow;
  int32_t value;
  uint32_t reserved;
};
static_assert(sizeof(FpEvent) == 16 && std::is_trivially_copyable_v<FpEvent>);

// Flow flags, FlowEntry::fp_flags (fast path owned).
inline constexpr uint32_t kFlowFinQueued = 1u << 0;  // the app asked for FIN after its queued bytes
inline constexpr uint32_t kFlowFinSent = 1u << 1;    // FIN is in flight (occupies seq snd_nxt-1)
inline constexpr uint32_t kFlowFinAcked = 1u << 2;
inline constexpr uint32_t kFlowPeerFin = 1u << 3;    // the peer's FIN was received in order

// FlowEntry::tcp_opts: options both ends agreed on in the handshake.
inline constexpr uint8_t kFlowOptTimestamps = 1u << 0;  // RFC 7323 timestamps (and PAWS)
inline constexpr uint8_t kFlowOptSack = 1u << 1;        // RFC 2018 selective acknowledgements
inline constexpr uint8_t kFlowOptEcn = 1u << 2;         // RFC 3168 ECN: echo CE marks with ECE
// Set by the slow path, with kFlowOptEcn, for the flows whose congestion control answers ECE:
inline constexpr uint8_t kFlowOptEct = 1u << 3;    // send new data ECT(0) (RFC 3168 6.1.1)
inline constexpr uint8_t kFlowOptDctcp = 1u << 4;  // echo each CE mark exactly (RFC 8257 3.2), not until CWR

// One TCP connection as the fast path sees it. Host byte order throughout.
struct alignas(64) FlowEntry {
  // Written by the slow path while the entry is not installed; constant while installed.
  uint32_t local_ip;
  uint32_t remote_ip;
  uint16_t local_port;
  uint16_t remote_port;
  uint8_t remote_mac[6];
  uint16_t mss;          // largest payload to send in one segment
  uint8_t snd_wscale;    // shift applied to the peer's advertised window
  uint8_t rcv_wscale;    // shift the peer applies to our advertised window
  uint16_t ctx;          // app context owning the byte rings (the fast path rewrites these three
  uint32_t slot;         //   on kRehome); slot in that context's region
  uint32_t gen;          // slot generation
  uint32_t init_snd_una;  // initial values, copied into the live fields below at install
  uint32_t init_rcv_nxt;
  uint32_t init_snd_wnd;  // the peer's window in bytes (already scaled)
  uint8_t tcp_opts;       // kFlowOpt* negotiated in the handshake
  uint8_t reserved0[3];
  uint32_t init_ts_recent;  // the peer's last TSval in the handshake (timestamps only)
  uint32_t ts_offset;       // added to our millisecond clock in TSval (RFC 7323 5.4: per connection)
  uint32_t init_rto_us;     // the retransmission timeout before the first RTT sample

  // Written by the fast path while installed; the slow path reads them (timers, status).
  // tx ring position tx_tail corresponds to seq snd_una; rx ring position rx_head to rcv_nxt.
  alignas(64) uint32_t snd_una;
  uint32_t snd_nxt;
  uint32_t snd_wnd;          // peer's current window in bytes
  uint32_t rcv_nxt;
  uint32_t fp_flags;
  uint32_t dupacks;
  uint64_t acked_bytes;      // total bytes acknowledged (progress counter for the RTO timer)
  uint64_t retransmits;      // go-back-N rounds performed
  uint64_t segs_in;
  uint64_t segs_out;
  uint32_t rto_us;   // RFC 6298 retransmission timeout from the fast path's RTT samples
  uint32_t srtt_us;  // smoothed RTT, 0 before the first sample

  // Congestion control: the fast path reports, the slow path decides, the fast path enforces.
  alignas(64) uint32_t recoveries;  // fast path: loss recoveries entered (duplicate ACKs, SACK, lost resends)
  uint32_t cwnd;                    // slow path, also while installed: bytes allowed in flight; 0: no limit
  uint16_t path_mss;  // slow path, also while installed: the MSS path MTU discovery allows (RFC 1191),
                      //   0: no limit below mss; the fast path takes a lower one on kPathMtu
  uint16_t loss_beta;  // slow path, constant while installed: what a loss leaves of the window, in
                       //   1/1024 (the ssthresh the fast path's PRR aims at); 0: no PRR
  uint32_t rounds;      // fast path: round trips completed (snd_una passed the snd_nxt of the round's start)
  uint32_t ece_rounds;  // fast path: of those, the rounds in which an ACK carried ECE
  uint32_t cwnd_limited;  // fast path: times output stopped at the congestion window with bytes to send
  uint64_t ece_bytes;   // fast path: bytes acknowledged by ACKs that carried ECE (DCTCP's marked bytes)
  uint64_t pacing_rate;  // slow path, also while installed: payload bytes a second the fast path
                         //   spreads new segments at (pacing.cpp); 0: not paced
  uint64_t paced_waits;  // fast path: times a segment waited for its pacing time
  uint32_t rtt_round_us;  // fast path: the lowest sample of the latest round trip that had one
                         //   (TIMELY's input: a receiver's delayed ACKs inflate some samples of a
                         //   round, seldom all)
  uint32_t rtt_rounds;    // fast path: round trips that published rtt_round_us (a new one since
                          //   the last look?)
  uint32_t rtt_min_us;   // fast path: the lowest sample, 0 before the first
  uint32_t loss_window;  // fast path: the window when the latest recovery began (min of flight and
                         //   cwnd): what the slow path's cut takes its share of

  // A tenant's flow inside its virtual network (VXLAN, RFC 7348). Written by the slow path while the
  // entry is not installed; constant while installed. vni 0: a plain flow, no encapsulation; else
  // local_ip/remote_ip/ports are the inner ones, remote_mac is the underlay next hop towards
  // vtep_ip, and every segment goes out inside outer Ethernet/IPv4/UDP/VXLAN headers. vtep_ip equal
  // to the host's own address: the peer is a tenant's app on this host (a circuit once both ends
  // are installed; frames until then go round through local delivery).
  alignas(64) uint32_t vni;
  uint32_t vtep_ip;              // the remote tunnel endpoint (underlay address)
  uint8_t inner_remote_mac[6];   // the peer's MAC inside the virtual network
  uint8_t inner_local_mac[6];    // ours inside it
  uint16_t vxlan_src_port;       // outer UDP source port, from the inner flow hash
  uint16_t tenant;               // the app's tenant id (1..kMaxTenants; 0: the host's own), whose
                                 //   TenantStats the flow's traffic counts in; plain flows too
  uint32_t peer_vni;             // the VNI in the outer header of what we send: the peer's network
                                 //   (== vni through a remote VTEP; another tenant's on this host)
  // Fast path: recoveries whose every resend the peer reported as a duplicate (D-SACK, RFC 2883):
  // the segments were reordered, not lost, so the slow path takes back their cuts (RFC 3708).
  uint32_t spurious_recoveries;
  uint32_t reserved3[8];
};
static_assert(sizeof(FlowEntry) == 256 && std::is_trivially_copyable_v<FlowEntry>);
static_assert(offsetof(FlowEntry, snd_una) == 64 && offsetof(FlowEntry, recoveries) == 128 &&
              offsetof(FlowEntry, ece_bytes) == 152 && offsetof(FlowEntry, pacing_rate) == 160 &&
              offsetof(FlowEntry, vni) == 192);

// What the fault injector did to one direction of the port (fast path writes, anyone reads).
struct FaultCounters {
  uint64_t lost;        // dropped by the independent loss probability
  uint64_t burst_lost;  // dropped inside a loss burst
  uint64_t reordered;   // held back and released later
  uint64_t duplicated;  // followed by a copy
  uint64_t corrupted;   // one bit flipped past the Ethernet header
};
static_assert(sizeof(FaultCounters) == 40 && std::is_trivially_copyable_v<FaultCounters>);

// TSC cycles the fast path's loop spent per phase (fast path writes, anyone reads). A loop that did
// work charges each phase its own cycles; a loop that did none charges its whole cost to `idle`.
struct FpCycles {
  uint64_t rx;        // port receive burst and every received frame through demultiplexing and TCP input
  uint64_t local;     // frames we sent to our own address, received the same way
  uint64_t commands;  // slow-path commands and injected frames
  uint64_t apps;      // app queues (send bumps, consumed bytes, FIN requests)
  uint64_t tx;        // delayed ACKs, data segments, pure ACKs, port flush
  uint64_t events;    // app and slow-path events, doorbells
  uint64_t idle;      // whole loops that found no work
};
static_assert(sizeof(FpCycles) == 56 && std::is_trivially_copyable_v<FpCycles>);

// Fast-path counters (fast path writes, anyone reads).
struct FpStats {
  uint64_t rx_frames;
  uint64_t tx_frames;
  uint64_t rx_bytes;
  uint64_t tx_bytes;
  uint64_t drop_bad_eth;      // runt, wrong destination
  uint64_t drop_bad_ip;       // malformed IPv4, bad header checksum, not for us, fragments
  uint64_t drop_bad_tcp;      // malformed TCP, bad checksum
  uint64_t drop_punt_full;    // slow path queue full
  uint64_t drop_no_mbuf;      // mempool exhausted on transmit
  uint64_t drop_tx_full;      // port TX ring refused frames
  uint64_t drop_rx_window;    // TCP payload outside the receive window or out of order
  uint64_t punted;            // frames handed to the slow path
  uint64_t injected;          // frames sent for the slow path
  uint64_t arp_replies;       // ARP requests for our address answered
  uint64_t local_delivered;   // frames delivered inside the daemon (never reached the port)
  uint64_t app_cmd_bad;       // app queue entries rejected (bad slot, generation, ring position)
  uint64_t loops;
  uint64_t idle_sleeps;       // times an idle loop slept on its doorbell (idle back-off)
  uint64_t ooo_segments;      // out-of-order segments kept for later
  uint64_t ooo_dropped;       // out-of-order segments not kept (no interval left)
  uint64_t paws_dropped;      // RFC 7323 PAWS: segments with an old timestamp
  uint64_t dup_segments;      // segments carrying only bytes already received
  uint64_t fast_retransmits;  // recoveries entered on duplicate ACKs or SACK
  uint64_t sack_retransmits;  // holes resent during a recovery
  uint64_t rto_retransmits;   // go-back-N rounds after a retransmission timeout
  uint64_t window_probes;     // persist probes sent into a zero window
  uint64_t delayed_acks;      // ACKs sent when the delayed-ACK timer fired
  uint64_t ce_received;       // segments with the CE mark (RFC 3168)
  uint64_t lost_retransmits;  // holes resent again in a recovery: the first resend was lost
  uint64_t tail_probes;       // last segments resent by a tail loss probe (tlp.cpp)
  uint64_t port_buffers_in_use;  // a gauge: packet buffers out of the port's pool (sampled)
  FaultCounters fault_rx;     // the fault injector on frames from the wire
  FaultCounters fault_tx;     // the fault injector on frames we send
  FpCycles cycles;            // where the loop's time goes, in TSC cycles
  uint64_t tsc_hz;            // TSC cycles per second (written once at start; 0: unknown)
  uint64_t busy_loops;        // loops that did work (loops - busy_loops were idle)
  uint64_t rx_segments;       // segments of installed flows through TCP input
  uint64_t tx_data_segments;  // segments sent with payload (retransmissions included)
  uint64_t tx_pure_acks;      // segments sent without payload (ACKs, window updates, bare FINs)
  uint64_t circuits;          // same-host connections joined as circuits (ring to ring, no frames)
  uint64_t circuit_bytes;     // bytes moved ring to ring by circuits
  uint64_t circuits_refused;  // same-host installs not joined at once (frames were on the way)
  uint64_t circuits_late;     // of those, joined later, once an ACK left nothing in flight
  uint64_t sp_events_lost;    // events for the slow path dropped: its queue and our backlog full
  uint64_t vxlan_rx;          // VXLAN frames for a known VNI taken apart (then handled as any inner frame)
  uint64_t vxlan_tx;          // segments sent inside VXLAN
  uint64_t drop_vxlan_outer;  // UDP to port 4789 with a malformed outer or VXLAN header
  uint64_t drop_vxlan_vni;    // VXLAN frames for a VNI no tenant has
  uint64_t drop_vxlan_inner;  // inner frames that are not Ethernet/IPv4/TCP or ARP, or not for us
  uint64_t icmp_echo_replies; // pings of the host's address answered
  uint64_t path_mtu_lowered;  // flows that took a smaller MSS on kPathMtu (ICMP fragmentation needed)
  uint64_t icmp_rate_limited; // pings not answered: over the ICMP rate (1000/s, bursts of 50, as Linux)
  uint64_t budget_generation; // the BudgetSettings generation in effect (read at a refill)
  uint64_t drop_bad_ack;      // segments acknowledging data never sent, or older than the peer's
                              //   largest window before snd_una (RFC 5961 5.2): answered, dropped
  uint64_t arp_ignored;       // ARP frames of no concern to us (requests for other hosts), not punted
  uint64_t arp_limited;       // ARP frames for us not punted: over the slow path's ARP rate
  uint64_t paced_waits;       // data segments that waited for their flow's pacing time
  uint64_t drop_port_tx;      // frames the port's transmit ring refused after retries (sampled)
  uint64_t prr_waits;         // segments a loss recovery held back for PRR's allowance (RFC 6937)
  uint64_t dsacks_received;   // D-SACK blocks reporting a resend of a recovery as a duplicate
  uint64_t spurious_recoveries;  // recoveries all of whose resends were D-SACKed (reordering)
  uint64_t rack_waits;        // times a hole's resend (or a recovery) waited for RACK's reordering
                              //   window (RFC 8985 6.2) on a flow that has seen reordering
  uint64_t reordering_seen;   // flows that began to see reordering (a D-SACK, a hole filled unresent)
};
static_assert(sizeof(FpStats) == 616 && std::is_trivially_copyable_v<FpStats>);
static_assert(offsetof(FpStats, fault_rx) == 248 && offsetof(FpStats, cycles) == 328 &&
              offsetof(FpStats, tx_pure_acks) == 416);

// The tenants' VNIs, so the fast path can drop frames for any other VNI before they cost more.
// Written by the slow path before the region is shared, constant after; sorted by vni.
inline constexpr uint32_t kMaxTenants = 255;  // tenant ids 1..255; 0 is the host's own (plain mode)
struct TenantVni {
  uint32_t vni;
  uint32_t tenant;
};
struct TenantTable {
  uint32_t count;
  uint32_t reserved;
  TenantVni entries[kMaxTenants];

  // The tenant id of `vni`, or 0 when no tenant has it.
  uint32_t tenant_of(uint32_t vni) const {
    uint32_t lo = 0, hi = count < kMaxTenants ? count : kMaxTenants;
    while (lo < hi) {
      uint32_t mid = (lo + hi) / 2;
      if (entries[mid].vni < vni) lo = mid + 1;
      else hi = mid;
    }
    return lo < count && lo < kMaxTenants && entries[lo].vni == vni ? entries[lo].tenant : 0;
  }
};
static_assert(sizeof(TenantTable) == 2048 && std::is_trivially_copyable_v<TenantTable>);

// One tenant's traffic as the fast path sees it; index 0 is the host's own apps (plain mode).
// Owner: the fast path; the slow path reads them for status.
struct alignas(64) TenantStats {
  uint64_t rx_segments;       // segments of its flows through TCP input (port, local delivery, VXLAN)
  uint64_t rx_bytes;          // their payload bytes
  uint64_t tx_segments;       // segments sent for its flows (retransmissions included)
  uint64_t tx_bytes;          // their payload bytes
  uint64_t circuit_bytes;     // bytes its apps sent through same-host circuits
  uint64_t drop_rx_window;    // segments of its flows with payload outside the receive window
  uint64_t drop_bad_tcp;      // segments of its flows TCP refused (no ACK in a synchronized state)
  uint64_t drop_vxlan_inner;  // frames on its VNI whose inner frame is neither ARP nor sound TCP
};
static_assert(sizeof(TenantStats) == 64 && std::is_trivially_copyable_v<TenantStats>);

// Time protection: CPU-time budgets of the fast path's core, one account per tenant id; account 0
// is the host's, which pays for the host's own apps and for work no tenant caused (ARP, junk,
// unknown VNIs), so a flood of either cannot starve tenants. Owner: the slow path, at any time;
// the fast path rereads everything but backlog_frames when `generation` moves.
struct BudgetSettings {
  uint32_t generation;      // bumped (release) after the other fields changed
  uint32_t enforce;         // 1: work of an account out of budget waits; 0: charge and count only
  uint32_t period_us;       // every period each account gains its weight's share of the core
  uint32_t burst_periods;   // an account holds at most this many periods' share
  uint32_t backlog_frames;  // frames parked per account while out of budget (read once, at start)
  uint32_t ecn;             // 1: a tenant short of budget sets ECE on its flows' ACKs (RFC 3168)
  uint32_t reserved[10];
  uint32_t weight[kMaxTenants + 1];  // [tenant id]; 0: no such account (its work is the host's)
};
static_assert(sizeof(BudgetSettings) == 1088 && std::is_trivially_copyable_v<BudgetSettings>);

// One account as the fast path charged it. Owner: the fast path, published once per period.
struct alignas(64) BudgetAccount {
  uint64_t cycles;         // fast-path cycles charged to it, every stage
  int64_t budget;          // cycles it may still spend this period (negative: overdrawn)
  uint64_t spare_cycles;   // of `cycles`, spent while out of budget (no funded account had work)
  uint64_t deferred_rx;    // frames parked in its backlog because it was out of budget
  uint64_t dropped_rx;     // frames dropped because its backlog was full
  uint64_t deferred_apps;  // loops its apps' queues had entries and waited for a refill
  uint64_t deferred_tx;    // flows whose transmission waited for a refill
  uint32_t backlog;        // frames parked now
  uint32_t reserved;
  uint64_t ecn_marked;     // data segments answered with ECE because it was short of budget
  uint64_t reserved2[7];
};
static_assert(sizeof(BudgetAccount) == 128 && std::is_trivially_copyable_v<BudgetAccount>);

struct alignas(64) ControlHeader {
  // Written by the slow path before the region is shared.
  uint64_t magic;
  uint32_t version;
  uint32_t max_flows;
  uint32_t punt_capacity;
  uint32_t inject_capacity;
  uint32_t cmd_capacity;
  uint32_t evt_capacity;
  // Fast path: its port's MAC, readiness.
  alignas(64) uint8_t fp_mac[6];
  uint16_t reserved0;
  uint32_t fp_ready;       // 1 once the fast path runs its loop
  uint32_t fp_sleeping;    // nonzero while the fast path waits on its doorbell
  alignas(64) uint32_t sp_sleeping;  // slow path: nonzero while it waits in epoll
  alignas(64) FpStats stats;         // fast path
  FaultControl faults;               // settings: slow path; what was applied: fast path
  alignas(64) TenantTable tenants;   // slow path, before the region is shared
  TenantStats tenant_stats[kMaxTenants + 1];  // fast path; [tenant id], 0: the host's
  BudgetSettings budget_settings;               // slow path, any time
  BudgetAccount budget_accounts[kMaxTenants + 1];  // fast path; [tenant id], 0: the host's
};
static_assert(std::is_trivially_copyable_v<ControlHeader>);
static_assert(offsetof(ControlHeader, fp_mac) == 64 && offsetof(ControlHeader, sp_sleeping) == 128 &&
              offsetof(ControlHeader, stats) == 192 && offsetof(ControlHeader, faults) == 832 &&
              offsetof(ControlHeader, tenants) == 1152 && offsetof(ControlHeader, tenant_stats) == 3200 &&
              offsetof(ControlHeader, budget_settings) == 19584 &&
              offsetof(ControlHeader, budget_accounts) == 20672 && sizeof(ControlHeader) == 53440);

struct ControlLayout {
  uint32_t max_flows;
  uint32_t punt_capacity;
  uint32_t inject_capacity;
  uint32_t cmd_capacity;
  uint32_t evt_capacity;

  static constexpr size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }
  constexpr size_t punt_offset() const { return align_up(sizeof(ControlHeader), 64); }
  constexpr size_t inject_offset() const {
    return punt_offset() + shm::spsc_bytes<PacketSlot>(punt_capacity);
  }
  constexpr size_t cmd_offset() const {
    return inject_offset() + shm::spsc_bytes<PacketSlot>(inject_capacity);
  }
  constexpr size_t evt_offset() const {
    return align_up(cmd_offset() + shm::spsc_bytes<FpCommand>(cmd_capacity), 64);
  }
  constexpr size_t flows_offset() const {
    return align_up(evt_offset() + shm::spsc_bytes<FpEvent>(evt_capacity), 64);
  }
  constexpr size_t total_bytes() const { return flows_offset() + size_t{max_flows} * sizeof(FlowEntry); }
  constexpr bool valid() const {
    return max_flows > 0 && max_flows <= (1u << 20) && shm::is_pow2(punt_capacity) &&
           shm::is_pow2(inject_capacity) && shm::is_pow2(cmd_capacity) && shm::is_pow2(evt_capacity);
  }
};

struct ControlRegionView {
  uint8_t* base = nullptr;
  ControlLayout layout{};

  ControlHeader* header() const { return reinterpret_cast<ControlHeader*>(base); }
  shm::SpscQueue<PacketSlot> punt() const { return {base + layout.punt_offset(), layout.punt_capacity}; }
  shm::SpscQueue<PacketSlot> inject() const {
    return {base + layout.inject_offset(), layout.inject_capacity};
  }
  shm::SpscQueue<FpCommand> cmd() const { return {base + layout.cmd_offset(), layout.cmd_capacity}; }
  shm::SpscQueue<FpEvent> evt() const { return {base + layout.evt_offset(), layout.evt_capacity}; }
  FlowEntry* flow(uint32_t i) const {
    return reinterpret_cast<FlowEntry*>(base + layout.flows_offset()) + i;
  }
};

}  // namespace virtuoso::abi
