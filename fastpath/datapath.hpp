// The fast path's run-to-completion datapath: one object per lcore, driven by poll_once().
//
// Owns the flow lookup table, the attached app contexts and the fast-path-owned half of every
// installed FlowEntry. Talks to the port through PacketPort and to the operating system only
// through Host (doorbells, mapping app regions), so tests drive it with a fake port and fake host.
#pragma once
#include <cstdint>
#include <vector>

#include "virtuoso/util/budgets.hpp"
#include "clock.hpp"
#include "cycle_counter.hpp"
#include "cycle_meter.hpp"
#include "flow_priv.hpp"
#include "flow_table.hpp"
#include "pacing_wheel.hpp"
#include "port.hpp"
#include "rx_backlog.hpp"
#include "virtuoso/abi/app_region.hpp"
#include "virtuoso/abi/control_region.hpp"
#include "virtuoso/util/token_bucket.hpp"
#include "virtuoso/wire/ethernet.hpp"
#include "virtuoso/wire/frame.hpp"

namespace virtuoso::fastpath {

using util::Budgets;

// Payload bytes between snd_una and snd_nxt (a FIN in flight occupies one sequence number).
inline uint32_t data_in_flight(const abi::FlowEntry& e) {
  bool fin_in_flight = (e.fp_flags & abi::kFlowFinSent) && !(e.fp_flags & abi::kFlowFinAcked);
  return e.snd_nxt - e.snd_una - (fin_in_flight ? 1 : 0);
}

// The flow table's key of an entry: its VNI and 4-tuple (the inner one for a tunnelled flow).
inline FlowKey flow_key(const abi::FlowEntry& e) {
  return {e.vni, e.local_ip, e.remote_ip, e.local_port, e.remote_port};
}

// What the datapath needs from the process around it.
class Host {
 public:
  struct Mapping {
    uint8_t* base = nullptr;
    size_t bytes = 0;
    int doorbell_fd = -1;  // the app's eventfd
  };
  virtual ~Host() = default;
  // Maps the region announced for `ctx`; returns 0 or an errno value.
  virtual int attach_context(uint16_t ctx, const abi::AppLayout& layout, Mapping& out) = 0;
  virtual void detach_context(uint16_t ctx, Mapping& mapping) = 0;
  // Writes an eventfd doorbell.
  virtual void ring(int fd) = 0;
  // The slow path's doorbell.
  virtual void ring_slowpath() = 0;
};

struct DatapathConfig {
  uint32_t local_ip = 0;  // host byte order
  wire::MacAddr local_mac{};
  uint32_t max_contexts = 256;
  uint32_t rx_burst = 32;
  uint32_t app_batch = 64;       // atx entries taken per context per iteration
  uint32_t tx_segments_per_flow = 32;  // segments one flow may send per iteration (fairness)
  uint32_t delayed_ack_us = 200;  // an in-order segment alone waits this long for a reply to carry its ACK
};

class Datapath {
 public:
  Datapath(const DatapathConfig& cfg, abi::ControlRegionView ctrl, PacketPort& port, Host& host,
           const Clock& clock, const CycleCounter& cycles);
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  // One loop iteration: port RX, local deliveries, slow-path commands and frames, app queues,
  // transmission, doorbells. Returns the number of work items done (0: idle). Each of these
  // phases is charged its cycles in stats().cycles (an idle iteration all to `idle`).
  uint32_t poll_once();

  // Idle back-off support: announce or withdraw sleep to everyone who may ring us, and ask
  // (after announcing) how long the loop may sleep: 0 when work arrived meanwhile or is waiting,
  // UINT64_MAX when no timer of the loop's own is set (a paced flow's next segment, a delayed
  // ACK), else until kSleepBeforeTimerUs before the first of them. Microseconds from now.
  // A frame that arrives while the loop sleeps waits up to idle_backoff_us: a paced flow with a
  // segment every few microseconds, or a delayed ACK due soon, would pay that in every round
  // trip, so the loop polls through the last millisecond before a timer. A flow an app capped
  // to a few bytes a second costs a millisecond of polling per segment, not its whole wait.
  static constexpr uint64_t kSleepBeforeTimerUs = 1000;
  void announce_sleep(bool sleeping);
  uint64_t sleep_limit_us() const;
  void note_idle_sleep() { ++stats_->idle_sleeps; }  // the loop is about to sleep

  // Processes one frame as if received (tests, and the slow path's kPacketProcessAsRx).
  void receive_frame(const uint8_t* data, uint16_t len);

  const abi::FpStats& stats() const { return *stats_; }
  const Budgets& budgets() const { return budgets_; }

 private:
  struct Context {
    bool active = false;
    abi::AppRegionView view{};
    Host::Mapping mapping{};
    std::vector<uint32_t> slot_flow;  // slot -> flow id, FlowTable::kNone if none
    bool ring_pending = false;
    uint16_t tenant = 0;  // whose budget its queue work is charged to: its flows' tenant
  };

  // datapath.cpp: demultiplexing and control
  void handle_arp(const uint8_t* data, uint16_t len);
  void handle_ipv4(const uint8_t* data, uint16_t len);
  void punt(const uint8_t* data, uint16_t len);
  uint32_t poll_commands();
  uint32_t poll_inject();
  void handle_command(const abi::FpCommand& cmd);
  void install_flow(uint32_t flow_id);
  void remove_flow(uint32_t flow_id);
  void rehome_flow(const abi::FpCommand& cmd);
  int check_rehome(const abi::FpCommand& cmd) const;
  void attach_context(const abi::FpCommand& cmd);
  void detach_context(uint16_t ctx);
  void emit_sp_event(abi::FpEventKind kind, uint16_t ctx, uint32_t flow, int32_t value);
  void flush_sp_events();
  void ring_doorbells();

  // app_queues.cpp: the app side of each context
  uint32_t poll_apps();
  uint32_t poll_app(uint16_t ctx_id, Context& ctx);
  void handle_app_cmd(uint16_t ctx_id, Context& ctx, const abi::AppCmd& cmd);
  void window_update(uint32_t flow_id);
  void emit_app_event(uint32_t flow_id, abi::AppEventKind kind);
  void note_app_event(uint32_t flow_id, abi::AppEventKind kind);
  bool free_tx(uint32_t flow_id, uint32_t n);
  void flush_app_events();
  void fail_flow(uint32_t flow_id, int err);

  // vxlan_rx.cpp: VXLAN decapsulation (RFC 7348), UDP datagrams from handle_ipv4
  void vxlan_input(const uint8_t* data, uint16_t len);

  // icmp_input.cpp: ICMP to the host's address (echo answered, unreachable punted)
  void icmp_input(const uint8_t* data, uint16_t len);

  // tcp_in.cpp: established-flow receive
  void tcp_input(uint32_t flow_id, const wire::TcpFrame& f);
  // false: the ACK is unacceptable (answered; the segment is dropped, its data too).
  bool tcp_process_ack(uint32_t flow_id, const wire::TcpFrame& f);
  void tcp_ecn_input(uint32_t flow_id, const wire::TcpFrame& f);
  void tcp_update_scoreboard(uint32_t flow_id, const wire::TcpFrame& f);
  void tcp_sample_rtt(uint32_t flow_id, const wire::TcpFrame& f, uint32_t ack);
  void tcp_place_payload(uint32_t flow_id, const wire::TcpFrame& f);
  void tcp_place_ooo(uint32_t flow_id, uint32_t seq, const uint8_t* data, uint32_t len, bool fin,
                     uint32_t room);
  void tcp_peer_fin(uint32_t flow_id);
  bool early_retransmit(uint32_t flow_id);

  // tcp_recovery.cpp: fast retransmit, SACK holes, retransmission timeout, window probes
  // `delivered`: the bytes the ACK at hand newly acknowledged or SACKed (PRR's DeliveredData).
  void tcp_enter_recovery(uint32_t flow_id, uint32_t delivered);
  void tcp_recovery_ack(uint32_t flow_id, uint32_t ack, uint32_t delivered);
  void tcp_recovery_dupack(uint32_t flow_id, uint32_t delivered);
  void prr_ack(uint32_t flow_id, uint32_t delivered);
  uint32_t recovery_pipe(uint32_t flow_id);  // RFC 6675's pipe: bytes believed in the network
  // A D-SACK block [start, end) arrived: if it reports a resend of the latest recovery as a
  // duplicate, one fewer to hear of; the last of them makes the recovery needless (try_undo).
  void note_dsack(uint32_t flow_id, uint32_t start, uint32_t end);
  void try_undo(uint32_t flow_id);
  void tcp_send_holes(uint32_t flow_id);
  void tcp_retransmit_timeout(uint32_t flow_id);
  void tcp_window_probe(uint32_t flow_id);
  void tcp_tail_probe(uint32_t flow_id);
  void tcp_path_mtu(uint32_t flow_id);
  // A recovery's pass over the holes is old enough that an unSACKed hole it resent was lost.
  bool resend_round_stale(uint32_t flow_id, uint32_t seq, uint32_t limit);
  void go_back_n(uint32_t flow_id);
  bool has_unsent(uint32_t flow_id);
  void publish_retransmits(uint32_t flow_id);  // for TCP_INFO
  void publish_send_mss(uint32_t flow_id);     // for TCP_MAXSEG and TCP_INFO

  // tcp_out.cpp: segmentation, ACKs, FIN, options
  void queue_tx(uint32_t flow_id);
  void queue_fin(uint32_t flow_id);
  void queue_ack(uint32_t flow_id);
  void schedule_delayed_ack(uint32_t flow_id);
  uint32_t run_delayed_acks();
  uint32_t run_tx_queue();
  uint32_t run_ack_queue();
  uint32_t tcp_output(uint32_t flow_id);
  uint32_t segment_output(uint32_t flow_id, uint32_t& unsent);
  uint32_t segment_room(uint32_t flow_id);
  size_t sack_blocks_to_send(const FlowPriv& p) const;
  void fill_options(uint32_t flow_id, wire::TcpOptionsOut& o);
  bool send_segment(uint32_t flow_id, uint32_t seq, uint32_t len, uint8_t flags);
  uint16_t advertised_window(uint32_t flow_id);
  // Our timestamp clock (RFC 7323): milliseconds, offset per connection.
  uint32_t ts_now(const FlowPriv& p) const { return uint32_t(now_us_ / 1000) + p.ts_offset; }
  void emit_frame(Frame& frame, uint32_t dst_ip);
  uint32_t deliver_local();

  // rack.cpp: RACK's reordering window (RFC 8985 6.2)
  uint32_t rack_reo_wnd_us(uint32_t flow_id);  // 0 until the flow has seen reordering
  void rack_saw_reordering(uint32_t flow_id);
  // May the hole just below `above` (a scoreboard range) be resent? If not yet, the reordering
  // timer is armed for when it may.
  bool rack_hole_lost(uint32_t flow_id, const SeqRange& above);
  bool rack_first_hole_lost(uint32_t flow_id);  // the lowest hole, or true without a scoreboard
  void rack_note_dsack(uint32_t flow_id);       // a D-SACK arrived
  void rack_recovery_done(uint32_t flow_id);
  struct LateWatch {
    bool on = false;
    uint32_t from = 0, fack = 0, delivered = 0;
  };
  LateWatch rack_watch_late(uint32_t flow_id);  // before an ACK is applied
  void rack_check_late(uint32_t flow_id, const LateWatch& w, uint32_t ack);  // after
  uint32_t run_rack_timers();  // flows whose reordering window ran out resend their holes
  // tlp.cpp: tail loss probes (RFC 8985 7)
  void tlp_schedule(uint32_t flow_id);  // (re)starts the probe timeout if the flow may have one
  uint32_t run_tlp_timers();            // flows silent for their PTO resend their last segment
  // The duplicate-ACK test of a loss (3 duplicates, 3 segments SACKed, or RFC 5827's early one).
  bool loss_suspected(uint32_t flow_id);

  // pacing.cpp: spreading a paced flow's segments at its rate (FlowEntry::pacing_rate)
  uint64_t pace_rate(uint32_t flow_id);  // the slow path's rate under the app's cap (0: not paced)
  bool pace_allows(uint32_t flow_id);               // may a data segment leave now (else: armed)
  void pace_sent(uint32_t flow_id, uint32_t bytes);  // a data segment of `bytes` left
  uint32_t run_pacing();                             // flows whose time came go to the tx queue

  // vxlan_tx.cpp: VXLAN encapsulation of a tunnelled flow's segments
  static size_t segment_offset(const abi::FlowEntry& e);
  size_t vxlan_encap(const abi::FlowEntry& e, uint8_t* frame, size_t inner_len);

  // The cycle counter's reads at the phase boundaries of one loop: [0] before rx ... [6] after events.
  static constexpr size_t kPhaseMarks = 7;
  void charge_cycles(const uint64_t (&mark)[kPhaseMarks], bool busy);

  // time_protection.cpp: charging tenants for the loop's work and holding back the work of a
  // tenant out of budget (see Budgets)
  static uint32_t account_of_tenant(uint32_t tenant);  // the host's for an id out of range
  uint32_t account_of_frame(const uint8_t* data, uint16_t len) const;
  uint32_t account_of_flow(uint32_t flow_id) const;
  uint32_t account_of_command(const abi::FpCommand& cmd) const;
  uint32_t rx_stage();
  void rx_stage_frame(Frame& fr, uint32_t acct);
  uint32_t serve_backlogs();
  void refill_budgets(uint64_t now);
  void read_budget_settings();
  void publish_budgets();
  // May `acct`'s app-queue or transmit work run in this loop: it has budget, or no funded
  // account has had work in this loop so far (work conservation).
  bool may_run(uint32_t acct) const { return budgets_.funded(acct) || funded_work_ == 0; }
  // Is `acct` short of budget (under a quarter of a period's share), so that its flows should
  // ask their senders to slow down (ECE) before its frames get parked?
  bool budget_pressure(uint32_t acct) const {
    return budget_ecn_ && budgets_.enforcing() && budgets_.budget(acct) < budgets_.share(acct) / 4;
  }
  void note_work(uint32_t acct) {
    if (budgets_.enforcing() && budgets_.budget(acct) > 0) ++funded_work_;
  }

  // circuit.cpp: same-host connections, ring to ring
  bool circuit_join(uint32_t flow_id, bool at_install);
  void circuit_retry(uint32_t flow_id);
  void circuit_leave(uint32_t flow_id);
  uint32_t circuit_output(uint32_t flow_id, uint32_t unsent);

  // Ring views and validation of app-owned positions.
  abi::FlowSlot* slot_of(const abi::FlowEntry& e);
  Context* context_of(const abi::FlowEntry& e);

  DatapathConfig cfg_;
  abi::ControlRegionView ctrl_;
  abi::FpStats* stats_;
  abi::TenantStats* tenant_stats_;  // [tenant id]
  abi::TenantStats& tenant_stats(uint32_t flow_id) { return tenant_stats_[priv_[flow_id].tenant]; }
  PacketPort& port_;
  Host& host_;
  const Clock& clock_;
  const CycleCounter& cycles_;
  uint64_t now_us_ = 0;  // clock_ read once per loop iteration
  FlowTable table_;
  std::vector<FlowPriv> priv_;
  std::vector<Context> ctxs_;
  std::vector<uint16_t> active_ctxs_;  // ids of attached contexts, so the loop skips empty entries
  std::vector<uint32_t> tx_queue_;   // flows with data or FIN to send
  std::vector<uint32_t> ack_queue_;  // flows owing an ACK
  std::vector<uint32_t> work_;       // the queue being run (the live one may grow meanwhile)
  std::vector<uint32_t> event_flows_;  // flows with app_events owed
  std::vector<uint32_t> delack_flows_;  // flows with a delayed ACK armed (or lately armed)
  PacingWheel pacing_;                  // paced flows waiting for their time to send
  PacingWheel rack_timer_;              // flows whose holes wait out RACK's reordering window
  PacingWheel tlp_timer_;               // flows with a tail loss probe timeout running
  std::vector<abi::FpEvent> sp_backlog_;  // events the evt queue had no room for
  std::vector<Frame> local_;         // frames for our own address, delivered next iteration
  std::vector<Frame> local_next_;
  std::vector<Frame> rx_frames_;
  std::vector<uint32_t> rx_accounts_;  // [frame of the burst]: whose it is
  uint16_t ip_id_ = 0;
  util::TokenBucket icmp_out_{util::kIcmpRatePerS, util::kIcmpBurst};  // echo replies we send
  // ARP frames handed to the slow path (handle_arp): a few per peer and minute are normal.
  static constexpr uint32_t kArpPuntsPerS = 1000;
  util::TokenBucket arp_punts_{kArpPuntsPerS, 100};
  bool sp_ring_pending_ = false;

  // Time protection (time_protection.cpp).
  Budgets budgets_;
  CycleMeter meter_{cycles_, budgets_};
  abi::BudgetAccount* budget_accounts_;  // [tenant id], in the control region
  uint32_t published_accounts_ = 0;      // 1 + the highest id with a weight
  RxBacklog backlog_;
  uint32_t budget_generation_ = 0;
  bool budget_ecn_ = false;
  uint64_t next_refill_ = 0;   // cycle count of the next refill check
  uint32_t funded_work_ = 0;   // items of funded accounts done in this loop so far
  bool rx_pressure_ = false;   // the port still held frames when the rx stage stopped reading
};

}  // namespace virtuoso::fastpath
