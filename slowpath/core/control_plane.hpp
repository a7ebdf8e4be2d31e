// The slow path's protocol logic: app contexts, listeners, handshakes, teardown, RST, timers, ARP.
//
// Inputs are punted frames, fast-path events, app requests and clock ticks, each with `now`;
// outputs go through Outputs. No sockets, no clock, no epoll: the daemon drives it, tests too.
// Member functions are split by concern: control_plane.cpp (dispatch, helpers), contexts.cpp,
// app_requests.cpp, passive_open.cpp, active_open.cpp, flow_install.cpp, teardown.cpp, time_wait.cpp,
// timers.cpp, keepalive.cpp, rst_validation.cpp (RST and SYN of synchronized connections), status.cpp
// (table counts), sharing.cpp (listeners shared across fork()), fork_holds.cpp (references forked
// processes hold, and moving a connection into the process that uses it), tenancy.cpp (tenants:
// their addresses, port spaces and VXLAN frames, the switch's remote entries, ARP inside them).
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <unordered_map>
#include <utility>
#include <vector>

#include "arp_resolver.hpp"
#include "conn_report.hpp"
#include "fork_holds.hpp"
#include "id_pool.hpp"
#include "keyed_hash.hpp"
#include "log_limit.hpp"
#include "outputs.hpp"
#include "path_mtu_cache.hpp"
#include "port_table.hpp"
#include "congestion_window.hpp"
#include "segments.hpp"
#include "settings.hpp"
#include "sharing.hpp"
#include "stats.hpp"
#include "types.hpp"
#include "config/tenants.hpp"
#include "work_gate.hpp"
#include "virtuoso/abi/unix_proto.hpp"
#include "virtuoso/util/token_bucket.hpp"
#include "virtuoso/wire/frame.hpp"
#include "virtuoso/wire/icmp.hpp"

namespace virtuoso::slowpath {

// Connection states the slow path tracks for a flow entry. FIN_WAIT_1 and LAST_ACK are not told
// apart from ESTABLISHED and CLOSE_WAIT: the fast path sends the FIN, and reports only its ACK.
enum class ConnState : uint8_t {
  kFree,
  kSynSent,      // active open: resolving the next hop or waiting for the SYN-ACK
  kEstablished,  // installed; our FIN may be in flight
  kCloseWait,    // peer FIN received; our FIN may be in flight (LAST_ACK)
  kClosing,      // peer FIN received while our FIN was in flight
  kFinWait2,     // our FIN acknowledged, the peer's not received
  kRemoving,     // kRemove sent, waiting for kRemoved (TIME_WAIT goes on in a TimeWait record)
};
const char* to_string(ConnState s);

enum class CtxState : uint8_t { kFree, kAttaching, kAttached, kDetaching };

class ControlPlane {
 public:
  ControlPlane(const Settings& s, abi::ControlRegionView ctrl, Outputs& out);

  void set_local_mac(const wire::MacAddr& mac) { mac_ = mac; }
  const wire::MacAddr& local_mac() const { return mac_; }
  const Settings& settings() const { return s_; }

  // App contexts (contexts.cpp). add_context initialises the region and reserves an id
  // (nullopt: max_contexts reached). attach_context pushes FpCommand kAttachCtx: call it after the
  // region was sent on the fast path's socket. cancel_context frees an id never attached.
  // `tenant` is the tenant id (1..settings().tenants.size()) the daemon matched the app to, 0 in
  // plain mode.
  std::optional<uint16_t> add_context(abi::AppRegionView view, uint16_t tenant = 0);
  // The address the context's app sends from when it bound none (network.ip, or its tenant's).
  uint32_t default_ip(uint16_t ctx) const;
  void attach_context(uint16_t ctx);
  void cancel_context(uint16_t ctx);
  // The app's Unix socket closed: like Linux closing a dying process's sockets, established
  // flows with nothing unread get a FIN and finish as orphans, the others are reset; its
  // listeners are dropped; the context is detached once its last flow is gone.
  void app_disconnected(uint16_t ctx, TimeMs now);

  // Requests after kRegister (app_requests.cpp). The answer goes back on the app's socket.
  abi::AppResponse handle_request(uint16_t ctx, const abi::AppRequest& req, TimeMs now);
  // fork() (fork_holds.cpp). A hold link holds a reference on everything its origin holds; the
  // daemon hands it to the app about to fork, the child passes it to its own context (kInherit).
  uint32_t fork_hold(uint16_t ctx);             // kForkHold from a context's app: the hold id
  uint32_t fork_hold_from_link(uint32_t hold);  // kForkHold on a hold link (0: no such hold)
  // kInherit: the references of `hold` become `ctx`'s; `origin` says where they came from.
  // EACCES if `ctx` is another tenant's app than the one that asked for the hold.
  int inherit_hold(uint16_t ctx, uint32_t hold, uint16_t& origin);
  void hold_link_gone(uint32_t hold, TimeMs now);  // the child exited or exec'd without registering
  // Requests on a hold link (kDropHold), answered there.
  abi::AppResponse handle_hold_request(uint32_t hold, const abi::AppRequest& req, TimeMs now);

  // Fast path inputs.
  void handle_frame(const uint8_t* data, size_t len, TimeMs now);
  void handle_event(const abi::FpEvent& ev, TimeMs now);
  static constexpr TimeMs kTickMs = 10;  // the daemon calls tick() this often while timers_pending()
  void tick(TimeMs now);
  bool timers_pending() const;
  // Congestion control between ticks: each moving flow whose round trip is shorter than a tick
  // gets its window once per round trip (at most once a millisecond), so marks and losses are
  // answered within a round trip or a millisecond, not a 10 ms tick. Wanted while such flows exist.
  void pace_congestion(TimeMs now);
  bool congestion_pacing_wanted() const { return !fast_cc_flows_.empty(); }

  // The switch's remote entries at run time (switch_table.cpp): empty on success, else what is
  // wrong. Adding an existing prefix moves it to the new endpoint.
  std::string switch_add(std::string_view tenant, std::string_view prefix, std::string_view vtep);
  std::string switch_remove(std::string_view tenant, std::string_view prefix);

  // [tenant.limits] (tenant_limits.cpp): 0, or ENOMEM when a new app region of `region_bytes`
  // would take the tenant past max_shm_mb.
  int admit_context(uint16_t tenant, uint64_t region_bytes);

  // An app was refused because it belongs to no tenant (counted for status).
  void note_app_refused() { ++stats_.apps_refused; }

  // Status.
  const SlowpathStats& stats() const { return stats_; }
  uint32_t contexts() const { return ctx_ids_.used(); }
  // The shim's call counters of every app since start: the live regions' and the departed ones'.
  abi::AppCallCounters app_calls() const;
  size_t listeners() const { return listeners_.size(); }
  uint32_t flows() const { return flow_ids_.used(); }
  size_t half_open() const { return half_open_.size(); }
  size_t time_wait() const { return time_wait_.size(); }
  bool in_time_wait(const FourTuple& t) const { return time_wait_.count(t) != 0; }
  // Everything a leak could hide in, counted for status (status.cpp).
  struct TableCounts {
    uint32_t slots_in_use = 0;  // app slots held by a connection or by the app
    size_t ports_bound = 0;      // bind() reservations not (yet) listening
    size_t ports_listening = 0;
    size_t ports_in_use = 0;     // local ports held by connections or TIME_WAIT records
    size_t port_refs = 0;        // connections and TIME_WAIT records holding those ports
    size_t syn_sent = 0;
    size_t arp_waiting = 0;      // connections waiting for the next hop's MAC
    size_t arp_entries = 0;      // ARP cache entries, the host's and the tenants' virtual networks'
    size_t orphans = 0;          // connections whose app is gone or has closed the socket
    size_t hold_links = 0;       // fork() holds no child has passed on yet
    size_t held_refs = 0;        // references forked processes hold on connections and listeners
  };
  TableCounts table_counts() const;
  // Per tenant id (index 0: the host's own apps): what its apps hold now (status.cpp).
  struct TenantCounts {
    uint32_t apps = 0;
    uint32_t flows = 0;
    uint32_t listeners = 0;
    size_t ports_in_use = 0;
  };
  std::vector<TenantCounts> tenant_counts() const;
  // Per tenant id (index 0: the host's, which also pays for timers and work no tenant caused):
  // the slow path's time spent on its punted frames, app requests and fast-path events.
  struct TenantWork {
    uint64_t ns = 0;
    uint64_t frames = 0;
    uint64_t requests = 0;
    uint64_t events = 0;
    uint64_t ticks = 0;  // timer ticks it had connections in (a share of each tick's time)
  };
  enum class WorkKind { kFrame, kRequest, kEvent, kTimer };
  void charge_work(uint16_t tenant, WorkKind kind, uint64_t ns) {
    TenantWork& w = tenant_work_[tenant < tenant_work_.size() ? tenant : 0];
    w.ns += ns;
    switch (kind) {
      case WorkKind::kFrame: ++w.frames; break;
      case WorkKind::kRequest: ++w.requests; break;
      case WorkKind::kEvent: ++w.events; break;
      case WorkKind::kTimer: ++w.ticks; break;
    }
  }
  // Per tenant id: the connections the last tick() went through (its time is theirs, shared by count).
  const std::vector<uint32_t>& last_tick_flows() const { return tick_flows_; }
  const std::vector<uint32_t>& last_pace_flows() const { return pace_flows_; }
  const std::vector<TenantWork>& tenant_work() const { return tenant_work_; }
  // Time protection in the slow path: the daemon's loop asks it before each tenant's work.
  WorkGate& gate() { return gate_; }
  const WorkGate& gate() const { return gate_; }
  // The tenant of a context's app (0: the host's, or no such context).
  uint16_t context_tenant(uint16_t ctx) const { return ctx < ctxs_.size() ? ctxs_[ctx].tenant : 0; }
  // The tenant whose virtual network a punted frame came through (0: a plain frame, or junk).
  uint16_t frame_tenant(const uint8_t* data, size_t len) const;
  // Every connection with its fast-path and app-ring positions (conn_report.cpp).
  std::vector<ConnReport> conn_reports() const;
  ConnState conn_state(uint32_t flow) const { return flow < conns_.size() ? conns_[flow].state : ConnState::kFree; }
  CtxState ctx_state(uint16_t ctx) const { return ctx < ctxs_.size() ? ctxs_[ctx].state : CtxState::kFree; }

 private:
  struct HandshakeTimer {
    TimeMs first_sent = 0;
    TimeMs deadline = 0;
    uint32_t rto = 0;
    uint32_t retransmits = 0;
  };
  struct PeerSyn {  // what the peer's SYN (or SYN-ACK) said
    uint32_t irs = 0;
    uint16_t mss = 0;      // 0: absent
    int8_t wscale = -1;    // -1: absent
    bool sack_ok = false;
    bool ts_ok = false;
    uint32_t ts_val = 0;
    bool ecn = false;      // a SYN with ECE and CWR, or a SYN-ACK with ECE alone (RFC 3168 6.1.1)
  };
  struct Listener {
    uint16_t ctx = 0;
    uint32_t ip = 0;
    uint16_t port = 0;
    uint32_t backlog = 1;
    uint32_t half_open = 0;
    std::deque<std::pair<uint32_t, uint32_t>> unaccepted;  // (slot, gen) announced, not accept()ed
    uint32_t holds = 0;       // references of forked processes besides the owner's (fork_holds.hpp)
    bool owner_gone = false;  // the owner closed it or exited; it lives on for those holders
  };
  struct HalfOpen {  // SYN-RECEIVED: no flow entry or slot yet
    uint32_t listener = 0;
    PeerPath path;
    uint32_t iss = 0;
    uint32_t ts_offset = 0;
    PeerSyn peer;
    HandshakeTimer hs;
  };
  struct Conn {
    ConnState state = ConnState::kFree;
    bool installed = false;  // kInstall pushed and no kRemove since
    bool arp_wait = false;   // SYN-SENT: the next hop is not resolved yet
    bool inner_arp_wait = false;  // SYN-SENT, a tenant's flow: the peer's inner MAC is not known yet
    uint16_t ctx = 0;
    uint32_t slot = 0;
    uint32_t gen = 0;
    FourTuple tuple{};
    PeerPath path;
    uint32_t cookie = 0;  // active open: the app's connect cookie
    uint32_t iss = 0;
    uint8_t rcv_wscale = 0;  // our shift, if negotiated
    uint16_t mss = 0;        // send MSS, once installed
    uint8_t tcp_opts = 0;    // abi::kFlowOpt* agreed in the handshake
    // Congestion control (congestion.cpp): the window, and the fast path's counters at the last tick.
    bool cc_on = false;
    CongestionWindow cc;
    uint64_t cc_acked = 0;
    uint32_t cc_recoveries = 0;
    uint64_t cc_ece_bytes = 0;
    uint32_t cc_rounds = 0;
    uint32_t cc_ece_rounds = 0;
    uint32_t cc_cwnd_limited = 0;
    uint32_t cc_rtt_rounds = 0;
    TimeMs cc_last_cut = 0;
    uint32_t cc_spurious = 0;      // FlowEntry::spurious_recoveries at the last tick
    bool cc_cut_undoable = false;  // the last tick with recoveries cut once for them: undo() takes it back
    TimeMs cc_last_tick = 0;  // the tick that last read the flow's counters (0: none yet)
    uint32_t ts_offset = 0;  // our timestamp clock's offset for this connection
    HandshakeTimer hs;       // SYN-SENT
    // Retransmission timer, from the fast path's acked_bytes progress.
    uint32_t base_rto = 0;
    uint32_t rto = 0;
    uint32_t retries = 0;
    uint64_t last_acked = 0;
    uint64_t last_segs_in = 0;
    TimeMs rto_deadline = 0;    // 0: not armed
    TimeMs progress_at = 0;     // when acked_bytes last moved (or the timer was armed)
    TimeMs state_deadline = 0;  // orphaned FIN_WAIT_2 give-up; 0: none
    TimeMs installed_at = 0;
    // Keepalive (keepalive.cpp): idle means segs_in has not moved since keep_heard.
    bool keep_enabled = false;
    uint32_t keep_idle_ms = 0;
    uint32_t keep_intvl_ms = 0;
    uint32_t keep_cnt = 0;
    uint32_t keep_probes = 0;  // sent since the peer was last heard
    uint64_t keep_segs_in = 0;
    TimeMs keep_heard = 0;     // when segs_in last moved, or keepalive was switched on
    TimeMs keep_next = 0;      // next probe (or give-up) once probing
    // fork() (fork_holds.cpp): references besides the owner app's, and a move into a claimant.
    uint64_t serial = 0;       // tells this connection from a later one in the same entry
    uint32_t holds = 0;
    int32_t claimant = -1;     // the context waiting to take it (kClaim), -1: none
    uint32_t claim_cookie = 0;
    std::deque<std::pair<uint16_t, uint32_t>> claim_queue;  // (context, cookie) claims after it
    bool moving = false;       // kRehome sent, kRehomed not yet received
    uint32_t move_slot = 0;    // the claimant's slot it is moving into
    int end_error = 0;         // why it failed, for a claimant that hears of it after the fact
    bool rst_sent = false;     // aborted while installed, with a RST at rst_seq
    uint32_t rst_seq = 0;
    // ICMP (icmp_errors.cpp): what a timeout reports instead of ETIMEDOUT, and the path's MSS.
    int soft_error = 0;
    uint16_t path_mss = 0;     // 0: no ICMP lowered it below mss
  };
  struct SlotInfo {
    uint32_t gen = 0;
    uint32_t flow = kNoFlow;  // the connection using it, until kRemoved
    bool used = false;
    bool app_holds = false;  // the app was told about it and has not released it yet
  };
  struct Context {
    CtxState state = CtxState::kFree;
    uint16_t tenant = 0;  // 0: the host's own (plain mode)
    bool app_gone = false;
    abi::AppRegionView view{};
    std::vector<SlotInfo> slots;
    IdPool free_slots;
    uint32_t conns = 0;  // connections (any state) holding one of its slots
  };
  // TIME_WAIT after the flow left the fast path and gave back its slot: only what answering the
  // peer needs (RFC 9293 3.10.7.4), and the 4-tuple stays taken until `deadline`.
  struct TimeWait {
    PeerPath path;
    uint32_t snd_nxt = 0;  // after our FIN
    uint32_t rcv_nxt = 0;  // after the peer's FIN
    uint16_t window = 0;   // as last advertised (scaled form)
    uint8_t tcp_opts = 0;  // abi::kFlowOpt*: our answers carry timestamps if they were agreed
    uint32_t ts_offset = 0;
    TimeMs deadline = 0;
    uint64_t serial = 0;   // tells this record's timer from a former record's of the same 4-tuple
  };
  struct TimeWaitTimer {
    TimeMs deadline;
    uint64_t serial;
    FourTuple tuple;
    bool operator>(const TimeWaitTimer& o) const { return deadline > o.deadline; }
  };
  struct InstallParams {
    uint16_t mss;
    uint8_t snd_wscale;
    uint8_t rcv_wscale;
    uint32_t snd_una;
    uint32_t rcv_nxt;
    uint32_t snd_wnd;
    uint8_t tcp_opts;
    uint32_t ts_recent;  // the peer's latest TSval
    bool passive;        // accepted on a listening port (congestion_by_port applies)
  };
  struct Segment {  // one parsed punted TCP frame (the inner one of a tenant's) and its bytes (to replay it)
    const wire::TcpFrame& f;
    const uint8_t* raw;  // the whole frame as received, outer headers included
    size_t raw_len;
    uint32_t vni;        // 0: plain
    PeerPath path;       // the way back to its sender
  };

  // tenancy.cpp: tenants, their virtual networks and the switch's remote entries
  const config::TenantConfig* tenant(uint16_t id) const {
    return id >= 1 && id <= s_.tenants.size() ? &s_.tenants[id - 1] : nullptr;
  }
  uint16_t tenant_of_vni(uint32_t vni) const;  // 0: no tenant has it (or vni 0)
  config::TenantConfig* tenant_named(std::string_view name, std::string& error);
  uint32_t tenant_flows(uint16_t tenant_id) const;
  bool flow_limit_reached(uint16_t ctx);                  // counted when true
  bool listen_limit_reached(uint16_t ctx, uint16_t port);  // counted when true
  void end_rerouted(const config::TenantConfig& t);
  uint32_t vni_of(uint16_t ctx) const;
  PortTable& ports_of(uint32_t vni);
  const PortTable& ports_of(uint32_t vni) const;
  void handle_vxlan(const uint8_t* data, size_t len, TimeMs now);
  void handle_inner_arp(uint16_t tenant_id, const uint8_t* inner, size_t inner_len, const PeerPath& back, TimeMs now);
  void handle_inner_ping(uint16_t tenant_id, const uint8_t* inner, size_t inner_len, const PeerPath& back);
  void send_inner_arp_request(uint16_t tenant_id, const PeerPath& path, uint32_t local_ip, uint32_t target_ip);
  // connect() inside the context's virtual network: the tunnel towards `remote` (path.vtep) and
  // the underlay next hop to resolve (`hop`); 0 or the errno for connect().
  int tenant_route(uint16_t ctx, uint32_t remote, PeerPath& path, uint32_t& hop);
  // Whether apps of tenants `a` and `b` may exchange frames on this host: one tenant, or either
  // reaches the other (the one that connected was checked at connect()).
  bool may_talk(uint16_t a, uint16_t b) const;
  // SYN-SENT of a tenant's flow: the underlay MAC is known; resolve the peer's inner MAC, then SYN.
  void resolve_inner(uint32_t flow, Conn& c, TimeMs now);
  void tick_inner_arp(TimeMs now);
  Underlay underlay() const { return Underlay{mac_, s_.local_ip}; }
  uint16_t tunnel_overhead(uint32_t vni) const;  // bytes of outer headers a flow's segments carry

  // control_plane.cpp: dispatch and shared helpers
  void handle_arp(const uint8_t* data, size_t len, TimeMs now);
  // Whether a line of `kind` (caused by an app or a peer) may be logged now; if some were held back
  // since the last one, says how many first (slowpath.log_lines_suppressed counts them all).
  bool log_ok(LogKind kind);
  void handle_icmp(const uint8_t* data, size_t len, TimeMs now);
  void icmp_for_conn(uint32_t flow, Conn& c, const wire::IcmpUnreachable& u, uint32_t seq, TimeMs now);
  void lower_path_mtu(uint32_t flow, Conn& c, uint32_t mtu);
  // ICMP fragmentation needed about a VXLAN datagram to `vtep`: its connections take mtu - 50.
  void tunnel_path_mtu(uint32_t vtep, uint32_t mtu, TimeMs now);
  // The MSS a new connection on `path` starts with from what earlier ICMP taught (path_mtus_), 0: none.
  uint16_t cached_path_mss(const FourTuple& t, const PeerPath& path, TimeMs now) const;
  void handle_tcp(const Segment& seg, TimeMs now);
  void send_segment(const SegmentSpec& spec);
  void reply_rst(const Segment& seg);
  uint8_t our_wscale() const;
  // Our MSS: the MTU less IPv4 and TCP headers, and a tenant's VXLAN headers (vni != 0).
  uint16_t our_mss(uint32_t vni) const { return uint16_t(s_.mtu - 40 - tunnel_overhead(vni)); }
  uint16_t syn_window() const;
  static PeerSyn peer_syn(const wire::TcpFrame& f);
  // Options our SYN or SYN-ACK offers; for a SYN-ACK, only what the peer's SYN offered (`peer`).
  wire::TcpOptionsOut syn_options(const PeerSyn* peer, uint32_t ts_offset, uint32_t vni) const;
  uint8_t agreed_options(const PeerSyn& peer) const;
  uint32_t ts_now(uint32_t ts_offset) const { return uint32_t(now_) + ts_offset; }
  // RFC 7323 3.2: once timestamps are agreed every segment but a reset carries them.
  void add_timestamps(SegmentSpec& s, uint8_t tcp_opts, uint32_t ts_offset) const;
  void add_timestamps(SegmentSpec& s, const Conn& c) const { add_timestamps(s, c.tcp_opts, c.ts_offset); }
  void emit_ctl(const Conn& c, abi::CtlEventKind kind, int error, uint32_t id = 0);
  bool app_holds(const Conn& c) const;

  // contexts.cpp
  Context* attached_ctx(uint16_t ctx);
  std::optional<uint32_t> alloc_slot(uint16_t ctx, uint32_t flow);
  void free_slot(uint16_t ctx, uint32_t slot);
  void on_ctx_attached(uint16_t ctx, int error);
  void on_ctx_detached(uint16_t ctx);
  void on_ctx_fault(uint16_t ctx, int error);
  void maybe_detach(uint16_t ctx);

  // app_requests.cpp
  void req_listen(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r);
  void req_unlisten(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r);
  void req_bind(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r);
  void req_unbind(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r);
  void req_accept_ack(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r);
  void req_close(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r, bool abort);
  int check_local_ip(uint16_t ctx, uint32_t ip);
  std::optional<uint16_t> choose_local_port(uint16_t ctx, uint16_t port, int& error);

  // sharing.cpp: listeners shared across fork()
  void req_share_listener(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r);
  void req_accepting(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r);
  void share_retarget(uint32_t group, bool advance);
  void share_took_syn(uint32_t listener_id);
  void share_leave(uint32_t listener_id);
  void share_ctx_gone(uint16_t ctx);

  // fork_holds.cpp
  void add_refs(HoldRefs& into, uint16_t ctx);  // a new reference on everything ctx's app holds
  void copy_refs(HoldRefs& into, const HoldRefs& from);
  void drop_refs(HoldRefs& refs);
  void drop_flow_ref(const HoldRefs::FlowRef& ref);
  void drop_listener_ref(uint32_t listener_id);
  bool take_flow_ref(HoldRefs& refs, uint32_t flow);  // true if `refs` held it (and no longer does)
  bool take_listener_ref(HoldRefs& refs, uint32_t listener_id);
  uint32_t claimed_flow(uint32_t vni, const abi::AppRequest& req) const;  // kNoFlow: none; vni: the network it is in
  void req_claim(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r);
  void req_drop_hold(HoldRefs& refs, uint32_t vni, const abi::AppRequest& req, abi::AppResponse& r);
  bool shared(const Conn& c) const {
    return c.holds != 0 || c.claimant >= 0 || c.moving || !c.claim_queue.empty();
  }
  // The owner app let go of a connection others hold: hand it to a claimant, or end it if nobody
  // else holds it any more (FIN, or RST for `abort` or unread bytes, as a last close()).
  void owner_let_go(uint32_t flow, Conn& c, bool abort);
  void end_unheld(uint32_t flow, Conn& c, bool abort);
  bool take_from_owner(uint32_t flow, Conn& c);  // false: its app is working on it, try again later
  void start_move(uint32_t flow, Conn& c);
  void on_moved(uint32_t flow, Conn& c, int error);
  void claim_failed(Conn& c, int error);
  void fail_queued_claims(Conn& c, int error);
  void tell_claim_failed(uint16_t ctx, uint32_t cookie, int error);
  void next_claim(uint32_t flow, Conn& c);
  void listener_owner_gone(uint32_t listener_id);  // the owner let go while others hold it
  void ctx_refs_gone(uint16_t ctx);

  // passive_open.cpp
  void on_listen_syn(uint32_t listener_id, const Segment& seg, TimeMs now);
  void on_half_open_segment(const FourTuple& t, HalfOpen& ho, const Segment& seg, TimeMs now);
  void send_synack(const FourTuple& t, const HalfOpen& ho);
  // SYN cookies (syn_cookie.hpp): a SYN-ACK that keeps no entry; and the ACK that brings its
  // cookie back, made a connection (true) or dropped for a full accept queue (true), or not a
  // cookie of ours (false: answered as any segment to no connection).
  void send_cookie_synack(const FourTuple& t, const Segment& seg, TimeMs now);
  bool accept_cookie(uint32_t listener_id, const FourTuple& t, const Segment& seg, TimeMs now);
  void complete_passive(const FourTuple& t, HalfOpen& ho, const Segment& seg, TimeMs now);
  void tick_half_open(TimeMs now);
  void drop_listener(uint32_t listener_id);
  uint32_t listener_for(uint32_t vni, uint32_t ip, uint16_t port) const;  // 0: none

  // active_open.cpp
  void req_connect(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r, TimeMs now);
  int next_hop(uint32_t remote, uint32_t& hop) const;
  void send_syn(const Conn& c);
  void start_syn(Conn& c, TimeMs now);
  void send_arp_request(uint32_t ip);
  void on_syn_sent_segment(uint32_t flow, Conn& c, const Segment& seg, TimeMs now);
  void on_arp_resolved(uint32_t flow, const wire::MacAddr& mac, TimeMs now);
  void connect_failed(uint32_t flow, int error);
  void tick_syn_sent(uint32_t flow, Conn& c, TimeMs now);

  // flow_install.cpp
  std::optional<uint32_t> new_conn(uint16_t ctx, const FourTuple& t);
  void install(uint32_t flow, Conn& c, const InstallParams& p, const HandshakeTimer& hs, TimeMs now);
  void on_installed_segment(uint32_t flow, Conn& c, const Segment& seg, TimeMs now);
  void send_ack(uint32_t flow, const Conn& c);
  uint16_t rcv_window(const Conn& c) const;

  // teardown.cpp
  void on_peer_fin(uint32_t flow, Conn& c, TimeMs now);
  void on_fin_acked(uint32_t flow, Conn& c, TimeMs now);
  void enter_time_wait(uint32_t flow, Conn& c, TimeMs now);
  void remove_flow(uint32_t flow, Conn& c);
  void orphan_flow(uint32_t flow, Conn& c);
  void send_fin(uint32_t flow, const Conn& c);
  void abort_flow(uint32_t flow, Conn& c, bool send_rst);
  uint32_t send_rst_now(uint32_t flow, const Conn& c);
  void fail_flow(uint32_t flow, Conn& c, int error, bool send_rst);
  void release_conn(uint32_t flow);
  void release_by_app(uint16_t ctx, uint32_t slot);

  // time_wait.cpp
  void add_time_wait(const FourTuple& t, const TimeWait& tw);
  void drop_time_wait(const FourTuple& t);
  bool on_time_wait_segment(const FourTuple& t, TimeWait& tw, const Segment& seg, TimeMs now);
  void send_time_wait_ack(const FourTuple& t, const TimeWait& tw);
  void tick_time_wait(TimeMs now);

  // keepalive.cpp
  void req_keepalive(uint16_t ctx, const abi::AppRequest& req, abi::AppResponse& r, TimeMs now);
  void tick_keepalive(uint32_t flow, Conn& c, TimeMs now);
  void send_keepalive_probe(const Conn& c, const abi::FlowEntry& e);

  // rst_validation.cpp: RST and SYN on a synchronized connection (true: handled)
  bool on_synchronized_ctl(uint32_t flow, Conn& c, const Segment& seg, TimeMs now);
  bool challenge_ack_allowed(TimeMs now);
  // RFC 5961 3.2 for a RST against `rcv_nxt` and a window of `wnd` bytes, counted in the stats:
  // kAccept exactly at rcv_nxt, kChallenge elsewhere in the window (and the budget allows an
  // ACK), kIgnore otherwise.
  enum class RstVerdict { kAccept, kChallenge, kIgnore };
  RstVerdict check_rst(uint32_t seq, uint32_t rcv_nxt, uint32_t wnd, TimeMs now);

  // congestion.cpp
  void start_congestion_control(uint32_t flow, Conn& c, bool passive);
  void tick_congestion(uint32_t flow, Conn& c, TimeMs now);
  bool wants_congestion_pacing(const Conn& c, const abi::FlowEntry& e) const;
  // The algorithm a connection of context `ctx` gets: its tenant's, else [tcp]'s; with
  // `listening_port`, that port's own first (the tenant's congestion_by_port, or [tcp]'s).
  config::CongestionAlgo congestion_algo_of(uint16_t ctx, std::optional<uint16_t> listening_port = {}) const;
  static void write_congestion_name(char (&out)[abi::kCongestionNameMax], config::CongestionAlgo algo);
  void publish_congestion(const Conn& c);
  // The flow's pacing rate for the fast path (FlowEntry::pacing_rate) and TCP_INFO: its window per
  // round trip if it is under congestion control and [tcp] pacing is on, capped by the app's
  // SO_MAX_PACING_RATE (FlowSlot::max_pacing_rate).
  void update_pacing(uint32_t flow, const Conn& c);
  // The connection's slot in its app's region while the context is attached, else nullptr.
  abi::FlowSlot* live_slot(const Conn& c);
  // How many congestion events (cuts) `recoveries` entered over the tick's `span_us` make.
  uint32_t congestion_events(const Conn& c, uint32_t recoveries, uint32_t srtt_us, uint64_t span_us,
                             TimeMs now) const;
  void congestion_timeout(uint32_t flow, Conn& c, TimeMs now);

  // timers.cpp
  void tick_conn(uint32_t flow, Conn& c, TimeMs now);
  void tick_retransmit(uint32_t flow, Conn& c, TimeMs now);
  uint32_t handshake_rto(const HandshakeTimer& hs, TimeMs now) const;
  bool has_unsent(const Conn& c, const abi::FlowEntry& e) const;
  void tick_arp(TimeMs now);

  Settings s_;
  abi::ControlRegionView ctrl_;
  Outputs& out_;
  wire::MacAddr mac_{};
  KeyedHash hash_;
  ArpResolver arp_;
  PathMtuCache path_mtus_;  // per underlay destination (a plain peer, a VTEP)
  LogLimit log_limit_;
  std::vector<PortTable> ports_;      // per tenant id: each virtual network has its own ports
  std::vector<ArpResolver> inner_arp_;  // per tenant id: MACs inside its virtual network
  SlowpathStats stats_;

  std::vector<Context> ctxs_;
  std::vector<TenantWork> tenant_work_;  // [tenant id]
  std::vector<uint32_t> tick_flows_;     // [tenant id]: connections in the last tick
  // Flows for pace_congestion: rebuilt by each tick (moving, round trip under a tick), and new
  // flows join at install (slow start moves fastest). May hold a flow twice or one gone since.
  std::vector<uint32_t> fast_cc_flows_;
  std::vector<uint32_t> pace_flows_;     // [tenant id]: connections the last pace_congestion ticked
  WorkGate gate_;
  abi::AppCallCounters departed_calls_{};  // what the regions of departed apps had counted
  IdPool ctx_ids_;
  std::vector<Conn> conns_;  // indexed by flow entry
  IdPool flow_ids_;
  std::unordered_map<FourTuple, uint32_t, FourTupleHash> by_tuple_;
  std::unordered_map<FourTuple, HalfOpen, FourTupleHash> half_open_;
  std::unordered_map<uint32_t, Listener> listeners_;
  std::unordered_map<FourTuple, TimeWait, FourTupleHash> time_wait_;
  std::priority_queue<TimeWaitTimer, std::vector<TimeWaitTimer>, std::greater<>> time_wait_timers_;
  uint64_t next_time_wait_serial_ = 1;
  uint32_t next_listener_id_ = 1;
  ShareState share_;
  HoldState holds_;
  TimeMs challenge_second_ = 0;  // start of the current challenge ACK budget second
  uint32_t challenge_sent_ = 0;  // challenge ACKs sent in it
  uint32_t challenge_budget_ = 0;  // how many it may send (drawn anew each second)
  TimeMs now_ = 0;  // the `now` of the input being handled (timestamps of segments we build)
  util::TokenBucket icmp_out_{util::kIcmpRatePerS, util::kIcmpBurst};  // echo replies in tenants' networks
  util::TokenBucket rst_out_;  // resets for segments to no connection (reply_rst)
};

}  // namespace virtuoso::slowpath
