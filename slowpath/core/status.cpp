// Building the status JSON.
#include "status.hpp"

#include <algorithm>
#include <string_view>

#include "log_format.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {
namespace {

struct FpStatField {
  const char* name;
  uint64_t abi::FpStats::*field;
};

constexpr FpStatField kFpStatFields[] = {
    {"rx_frames", &abi::FpStats::rx_frames},
    {"tx_frames", &abi::FpStats::tx_frames},
    {"rx_bytes", &abi::FpStats::rx_bytes},
    {"tx_bytes", &abi::FpStats::tx_bytes},
    {"drop_bad_eth", &abi::FpStats::drop_bad_eth},
    {"drop_bad_ip", &abi::FpStats::drop_bad_ip},
    {"drop_bad_tcp", &abi::FpStats::drop_bad_tcp},
    {"drop_punt_full", &abi::FpStats::drop_punt_full},
    {"drop_no_mbuf", &abi::FpStats::drop_no_mbuf},
    {"drop_tx_full", &abi::FpStats::drop_tx_full},
    {"drop_rx_window", &abi::FpStats::drop_rx_window},
    {"drop_bad_ack", &abi::FpStats::drop_bad_ack},
    {"punted", &abi::FpStats::punted},
    {"injected", &abi::FpStats::injected},
    {"arp_replies", &abi::FpStats::arp_replies},
    {"arp_ignored", &abi::FpStats::arp_ignored},
    {"arp_limited", &abi::FpStats::arp_limited},
    {"local_delivered", &abi::FpStats::local_delivered},
    {"circuits", &abi::FpStats::circuits},
    {"circuit_bytes", &abi::FpStats::circuit_bytes},
    {"circuits_refused", &abi::FpStats::circuits_refused},
    {"circuits_late", &abi::FpStats::circuits_late},
    {"sp_events_lost", &abi::FpStats::sp_events_lost},
    {"icmp_echo_replies", &abi::FpStats::icmp_echo_replies},
    {"icmp_rate_limited", &abi::FpStats::icmp_rate_limited},
    {"budget_generation", &abi::FpStats::budget_generation},
    {"path_mtu_lowered", &abi::FpStats::path_mtu_lowered},
    {"vxlan_rx", &abi::FpStats::vxlan_rx},
    {"vxlan_tx", &abi::FpStats::vxlan_tx},
    {"drop_vxlan_outer", &abi::FpStats::drop_vxlan_outer},
    {"drop_vxlan_vni", &abi::FpStats::drop_vxlan_vni},
    {"drop_vxlan_inner", &abi::FpStats::drop_vxlan_inner},
    {"app_cmd_bad", &abi::FpStats::app_cmd_bad},
    {"loops", &abi::FpStats::loops},
    {"idle_sleeps", &abi::FpStats::idle_sleeps},
    {"ooo_segments", &abi::FpStats::ooo_segments},
    {"ooo_dropped", &abi::FpStats::ooo_dropped},
    {"paws_dropped", &abi::FpStats::paws_dropped},
    {"dup_segments", &abi::FpStats::dup_segments},
    {"fast_retransmits", &abi::FpStats::fast_retransmits},
    {"sack_retransmits", &abi::FpStats::sack_retransmits},
    {"lost_retransmits", &abi::FpStats::lost_retransmits},
    {"tail_probes", &abi::FpStats::tail_probes},
    {"port_buffers_in_use", &abi::FpStats::port_buffers_in_use},
    {"rto_retransmits", &abi::FpStats::rto_retransmits},
    {"window_probes", &abi::FpStats::window_probes},
    {"delayed_acks", &abi::FpStats::delayed_acks},
    {"paced_waits", &abi::FpStats::paced_waits},
    {"prr_waits", &abi::FpStats::prr_waits},
    {"dsacks_received", &abi::FpStats::dsacks_received},
    {"spurious_recoveries", &abi::FpStats::spurious_recoveries},
    {"rack_waits", &abi::FpStats::rack_waits},
    {"reordering_seen", &abi::FpStats::reordering_seen},
    {"drop_port_tx", &abi::FpStats::drop_port_tx},
    {"ce_received", &abi::FpStats::ce_received},
    {"busy_loops", &abi::FpStats::busy_loops},
    {"rx_segments", &abi::FpStats::rx_segments},
    {"tx_data_segments", &abi::FpStats::tx_data_segments},
    {"tx_pure_acks", &abi::FpStats::tx_pure_acks},
    {"tsc_hz", &abi::FpStats::tsc_hz},
};

struct FpCycleField {
  const char* name;
  uint64_t abi::FpCycles::*field;
};

constexpr FpCycleField kFpCycleFields[] = {
    {"rx", &abi::FpCycles::rx},     {"local", &abi::FpCycles::local}, {"commands", &abi::FpCycles::commands},
    {"apps", &abi::FpCycles::apps}, {"tx", &abi::FpCycles::tx},       {"events", &abi::FpCycles::events},
    {"idle", &abi::FpCycles::idle},
};

// null rather than a made-up figure when nothing was counted yet.
nlohmann::json ratio(uint64_t cycles, uint64_t count) {
  if (count == 0) return nullptr;
  return double(cycles) / double(count);
}

// The phase cycles and what they cost per segment (docs/architecture.md, "Cycle accounting").
void add_cycles(const abi::FpStats& st, nlohmann::json& fp) {
  nlohmann::json c = nlohmann::json::object();
  for (const auto& f : kFpCycleFields) c[f.name] = shm::load_relaxed(st.cycles.*f.field);
  uint64_t rx = c["rx"].get<uint64_t>() + c["local"].get<uint64_t>();
  uint64_t tx = c["tx"].get<uint64_t>();
  uint64_t tx_segments = shm::load_relaxed(st.tx_data_segments) + shm::load_relaxed(st.tx_pure_acks);
  fp["cycles"] = std::move(c);
  fp["cycles_per_rx_segment"] = ratio(rx, shm::load_relaxed(st.rx_segments));
  fp["cycles_per_tx_segment"] = ratio(tx, tx_segments);
}

}  // namespace

ControlPlane::TableCounts ControlPlane::table_counts() const {
  TableCounts n;
  for (const Context& x : ctxs_)
    if (x.state != CtxState::kFree) n.slots_in_use += x.free_slots.used();
  for (const PortTable& ports : ports_) {
    n.ports_bound += ports.reservations(ReservationKind::kBind);
    n.ports_listening += ports.reservations(ReservationKind::kListen);
    n.ports_in_use += ports.ports_in_use();
    n.port_refs += ports.port_refs();
  }
  for (const Conn& c : conns_) {
    if (c.state == ConnState::kFree) continue;
    n.syn_sent += c.state == ConnState::kSynSent;
    n.arp_waiting += c.arp_wait || c.inner_arp_wait;
    n.orphans += c.installed && !app_holds(c) && !shared(c);
    n.held_refs += c.holds;
  }
  for (const auto& [id, l] : listeners_) n.held_refs += l.holds;
  n.hold_links = holds_.links.size();
  n.arp_entries = arp_.cache_size();
  for (const ArpResolver& a : inner_arp_) n.arp_entries += a.cache_size();
  return n;
}

std::vector<ControlPlane::TenantCounts> ControlPlane::tenant_counts() const {
  std::vector<TenantCounts> n(s_.tenants.size() + 1);
  for (const Context& x : ctxs_)
    if (x.state != CtxState::kFree && !x.app_gone) ++n[x.tenant].apps;
  for (const Conn& c : conns_)
    if (c.state != ConnState::kFree) ++n[tenant_of_vni(c.tuple.vni)].flows;
  for (const auto& [id, l] : listeners_) ++n[ctxs_[l.ctx].tenant].listeners;
  for (size_t i = 0; i < n.size(); ++i) n[i].ports_in_use = ports_[i].ports_in_use();
  return n;
}

namespace {

struct TenantStatField {
  const char* name;
  uint64_t abi::TenantStats::*field;
};

constexpr TenantStatField kTenantStatFields[] = {
    {"rx_segments", &abi::TenantStats::rx_segments},
    {"rx_bytes", &abi::TenantStats::rx_bytes},
    {"tx_segments", &abi::TenantStats::tx_segments},
    {"tx_bytes", &abi::TenantStats::tx_bytes},
    {"circuit_bytes", &abi::TenantStats::circuit_bytes},
    {"drop_rx_window", &abi::TenantStats::drop_rx_window},
    {"drop_bad_tcp", &abi::TenantStats::drop_bad_tcp},
    {"drop_vxlan_inner", &abi::TenantStats::drop_vxlan_inner},
};

// One tenant's traffic counters from the fast path (index 0: the host's own apps).
nlohmann::json traffic_json(const abi::ControlHeader& hdr, size_t tenant) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& f : kTenantStatFields) out[f.name] = shm::load_relaxed(hdr.tenant_stats[tenant].*f.field);
  return out;
}

// One account's CPU time on the fast path (index 0: the host's), with its share of all the
// cycles charged to any account.
nlohmann::json cpu_json(const abi::ControlHeader& hdr, size_t acct, uint64_t all_cycles) {
  const abi::BudgetAccount& a = hdr.budget_accounts[acct];
  uint64_t cycles = shm::load_relaxed(a.cycles);
  return {{"weight", shm::load_relaxed(hdr.budget_settings.weight[acct])},
          {"cycles", cycles},
          {"share", all_cycles ? double(cycles) / double(all_cycles) : 0.0},
          {"spare_cycles", shm::load_relaxed(a.spare_cycles)},
          {"budget", shm::load_relaxed(a.budget)},
          {"backlog", shm::load_relaxed(a.backlog)},
          {"deferred_rx", shm::load_relaxed(a.deferred_rx)},
          {"dropped_rx", shm::load_relaxed(a.dropped_rx)},
          {"deferred_apps", shm::load_relaxed(a.deferred_apps)},
          {"deferred_tx", shm::load_relaxed(a.deferred_tx)},
          {"ecn_marked", shm::load_relaxed(a.ecn_marked)}};
}

uint64_t all_charged_cycles(const abi::ControlHeader& hdr) {
  uint64_t all = 0;
  for (const abi::BudgetAccount& a : hdr.budget_accounts) all += shm::load_relaxed(a.cycles);
  return all;
}

// What a tenant's work (index 0: the host's) cost the slow path.
nlohmann::json slowpath_work_json(const ControlPlane& cp, size_t acct) {
  const auto& all = cp.tenant_work();
  ControlPlane::TenantWork w = acct < all.size() ? all[acct] : ControlPlane::TenantWork{};
  const WorkGate& gate = cp.gate();
  const WorkGate::Counts& c = gate.counts(uint32_t(acct));
  return {{"ns", w.ns},
          {"frames", w.frames},
          {"requests", w.requests},
          {"events", w.events},
          {"ticks", w.ticks},
          {"budget_ns", gate.budgets().budget(uint32_t(acct))},
          {"deferred_frames", c.deferred_frames},
          {"dropped_frames", c.dropped_frames},
          {"deferred_requests", c.deferred_requests},
          {"parked", gate.parked(uint32_t(acct))}};
}

// The budgets' settings as the fast path is told them.
nlohmann::json budgets_json(const abi::ControlHeader& hdr) {
  const abi::BudgetSettings& b = hdr.budget_settings;
  return {{"enforce", shm::load_relaxed(b.enforce) != 0},
          {"ecn", shm::load_relaxed(b.ecn) != 0},
          {"period_us", shm::load_relaxed(b.period_us)},
          {"burst_periods", shm::load_relaxed(b.burst_periods)},
          {"backlog_frames", shm::load_relaxed(b.backlog_frames)},
          {"host", cpu_json(hdr, 0, all_charged_cycles(hdr))}};
}

std::string prefix_str(const config::Ipv4Prefix& p) { return fmt::format("{}/{}", ip_str(p.network), p.len); }

// The "tenants" array: each tenant's network, switch entries, what its apps hold now and the
// traffic its flows made.
nlohmann::json tenants_json(const ControlPlane& cp, const abi::ControlHeader& hdr) {
  nlohmann::json list = nlohmann::json::array();
  const auto& tenants = cp.settings().tenants;
  std::vector<ControlPlane::TenantCounts> counts = cp.tenant_counts();
  uint64_t all_cycles = all_charged_cycles(hdr);
  for (size_t i = 0; i < tenants.size(); ++i) {
    const config::TenantConfig& t = tenants[i];
    nlohmann::json addresses = nlohmann::json::array();
    for (const auto& a : t.addresses) addresses.push_back(prefix_str(a));
    nlohmann::json remotes = nlohmann::json::array();
    for (const auto& r : t.remotes) remotes.push_back({{"prefix", prefix_str(r.prefix)}, {"vtep", ip_str(r.vtep)}});
    const ControlPlane::TenantCounts& n = counts[i + 1];
    list.push_back({{"name", t.name},
                    {"vni", t.vni},
                    {"addresses", std::move(addresses)},
                    {"remotes", std::move(remotes)},
                    {"cpu_weight", shm::load_relaxed(hdr.budget_settings.weight[i + 1])},
                    {"cpu", cpu_json(hdr, i + 1, all_cycles)},
                    {"slowpath", slowpath_work_json(cp, i + 1)},
                    {"apps", n.apps},
                    {"flows", n.flows},
                    {"listeners", n.listeners},
                    {"ports_in_use", n.ports_in_use},
                    {"traffic", traffic_json(hdr, i + 1)}});
  }
  return list;
}

}  // namespace

std::vector<DropCounter> drop_counters(const ControlPlane& cp, const abi::ControlHeader& hdr) {
  static constexpr std::string_view kFastpathDrops[] = {"ooo_dropped", "paws_dropped", "sp_events_lost", "app_cmd_bad",
                                                        "arp_limited"};
  static constexpr std::string_view kSlowpathDrops[] = {
      "bad_frames",          "vxlan_dropped",    "switch_no_entry",    "syn_dropped_backlog", "syn_dropped_no_memory",
      "accept_no_resources", "segments_dropped", "time_wait_overflow", "arp_cache_full",   "rsts_limited"};
  auto listed = [](std::string_view name, const auto& list) {
    return std::find(std::begin(list), std::end(list), name) != std::end(list);
  };
  std::vector<DropCounter> out;
  for (const auto& f : kFpStatFields) {
    std::string_view name = f.name;
    if (name.substr(0, 5) == "drop_" || listed(name, kFastpathDrops))
      out.push_back({fmt::format("fastpath.{}", name), shm::load_relaxed(hdr.stats.*f.field)});
  }
  for (const auto& f : kSlowpathStatFields)
    if (listed(f.name, kSlowpathDrops)) out.push_back({fmt::format("slowpath.{}", f.name), cp.stats().*f.field});
  return out;
}

namespace {
// drop_counters() as {"fastpath": {reason: n, ...}, "slowpath": {...}}.
nlohmann::json drops_json(const ControlPlane& cp, const abi::ControlHeader& hdr) {
  nlohmann::json out = {{"fastpath", nlohmann::json::object()}, {"slowpath", nlohmann::json::object()}};
  for (const DropCounter& d : drop_counters(cp, hdr)) {
    size_t dot = d.name.find('.');
    out[d.name.substr(0, dot)][d.name.substr(dot + 1)] = d.value;
  }
  return out;
}
}  // namespace

nlohmann::json status_json(const ControlPlane& cp, const abi::ControlHeader& hdr, bool fp_attached) {
  nlohmann::json fp = nlohmann::json::object();
  for (const auto& f : kFpStatFields) fp[f.name] = shm::load_relaxed(hdr.stats.*f.field);
  add_cycles(hdr.stats, fp);
  nlohmann::json sp = nlohmann::json::object();
  for (const auto& f : kSlowpathStatFields) sp[f.name] = cp.stats().*f.field;
  abi::AppCallCounters calls = cp.app_calls();
  nlohmann::json shim = {{"sends", calls.sends},
                         {"send_cycles", calls.send_cycles},
                         {"recvs", calls.recvs},
                         {"recv_cycles", calls.recv_cycles},
                         {"cycles_per_send", ratio(calls.send_cycles, calls.sends)},
                         {"cycles_per_recv", ratio(calls.recv_cycles, calls.recvs)}};
  ControlPlane::TableCounts t = cp.table_counts();
  bool ready = fp_attached && shm::load_acquire(hdr.fp_ready) == 1;
  return nlohmann::json{
      {"ready", ready},
      {"ip", ip_str(cp.settings().local_ip)},
      {"mac", mac_str(cp.local_mac())},
      {"contexts", cp.contexts()},
      {"listeners", cp.listeners()},
      {"flows", cp.flows()},
      {"half_open", cp.half_open()},
      {"time_wait", cp.time_wait()},
      {"slots_in_use", t.slots_in_use},
      {"ports_bound", t.ports_bound},
      {"ports_listening", t.ports_listening},
      {"ports_in_use", t.ports_in_use},
      {"port_refs", t.port_refs},
      {"syn_sent", t.syn_sent},
      {"arp_waiting", t.arp_waiting},
      {"arp_entries", t.arp_entries},
      {"orphans", t.orphans},
      {"hold_links", t.hold_links},
      {"held_refs", t.held_refs},
      {"fastpath", std::move(fp)},
      {"slowpath", std::move(sp)},
      {"shim", std::move(shim)},
      {"tenants", tenants_json(cp, hdr)},
      {"host_traffic", traffic_json(hdr, 0)},
      {"drops", drops_json(cp, hdr)},  // every drop counter by process and reason (virtuosoctl stats)
      {"budgets", budgets_json(hdr)},  // time protection; the tenants' own accounts are theirs
      {"host_slowpath", slowpath_work_json(cp, 0)},  // the host's own apps: every flow in plain mode
  };
}

nlohmann::json connections_json(const ControlPlane& cp) {
  nlohmann::json list = nlohmann::json::array();
  for (const ConnReport& r : cp.conn_reports()) {
    nlohmann::json c{
        {"flow", r.flow},
        {"local", fmt::format("{}:{}", ip_str(r.tuple.local_ip), r.tuple.local_port)},
        {"remote", fmt::format("{}:{}", ip_str(r.tuple.remote_ip), r.tuple.remote_port)},
        {"vni", r.tuple.vni},
        {"state", r.state},
        {"installed", r.installed},
        {"ctx", r.ctx},
        {"slot", r.slot},
        {"cwnd", r.cwnd},
        {"ssthresh", r.ssthresh},
        {"congestion_control", r.congestion},
        {"rto_ms", r.rto_ms},
        {"rto_armed", r.rto_armed},
        {"rto_retries", r.rto_retries},
        {"holds", r.holds},
        {"moving", r.moving},
        {"snd_una", r.snd_una},
        {"snd_nxt", r.snd_nxt},
        {"snd_wnd", r.snd_wnd},
        {"rcv_nxt", r.rcv_nxt},
        {"fp_flags", r.fp_flags},
        {"dupacks", r.dupacks},
        {"recoveries", r.recoveries},
        {"retransmits", r.retransmits},
        {"core", 0},  // the fast-path core that owns the flow: one core today
        {"srtt_us", r.srtt_us},
        {"acked_bytes", r.acked_bytes},
        {"segs_in", r.segs_in},
        {"segs_out", r.segs_out},
        {"ecn", {{"ect", r.ect}, {"ece_bytes", r.ece_bytes}, {"rounds", r.rounds}, {"ece_rounds", r.ece_rounds}}},
        {"pacing_rate", r.pacing_rate},
        {"paced_waits", r.paced_waits},
    };
    // The share of acknowledged bytes the peer echoed as marked (CE), over the connection's life.
    c["ce_fraction"] = r.acked_bytes ? double(r.ece_bytes) / double(r.acked_bytes) : 0.0;
    if (r.dctcp_alpha >= 0) c["dctcp_alpha"] = r.dctcp_alpha;
    if (r.has_slot) {
      c["ring"] = nlohmann::json{
          {"rx_head", r.rx_head},       {"rx_tail", r.rx_tail},   {"rx_size", r.rx_size},
          {"tx_head", r.tx_head},       {"tx_tail", r.tx_tail},   {"tx_size", r.tx_size},
          {"tx_nospace", r.tx_nospace}, {"rx_fin", r.rx_fin},     {"error", r.error},
          {"writer_waiting", (r.app_waiting & abi::kAppWaitsTx) != 0},
          {"reader_waiting", (r.app_waiting & abi::kAppWaitsRx) != 0},
          // Derived, so a reader need not do modular arithmetic: bytes the app has not read,
          // bytes written but not yet sent, bytes sent and not yet acknowledged.
          {"rx_unread", r.rx_head - r.rx_tail},
          {"tx_unsent", r.tx_head - (r.tx_tail + (r.snd_nxt - r.snd_una))},
          {"tx_unacked", r.snd_nxt - r.snd_una},
      };
    }
    list.push_back(std::move(c));
  }
  return list;
}

nlohmann::json faults_status_json(const abi::ControlHeader& hdr, const abi::FaultSettings& in_effect) {
  auto direction = [](const abi::FaultCounters& c, const uint64_t& released_early,
                      const abi::BottleneckCounters& q) {
    return nlohmann::json{{"lost", shm::load_relaxed(c.lost)},
                          {"burst_lost", shm::load_relaxed(c.burst_lost)},
                          {"reordered", shm::load_relaxed(c.reordered)},
                          {"duplicated", shm::load_relaxed(c.duplicated)},
                          {"corrupted", shm::load_relaxed(c.corrupted)},
                          {"released_early", shm::load_relaxed(released_early)},
                          {"queue",
                           {{"queued", shm::load_relaxed(q.queued)},
                            {"dropped", shm::load_relaxed(q.dropped)},
                            {"ce_marked", shm::load_relaxed(q.ce_marked)},
                            {"backlog_bytes", shm::load_relaxed(q.backlog_bytes)},
                            {"peak_bytes", shm::load_relaxed(q.peak_bytes)}}}};
  };
  return nlohmann::json{
      {"injector", shm::load_acquire(hdr.faults.fp_injector) == 1},
      {"settings", abi::format_fault_spec(in_effect)},
      {"generation", shm::load_acquire(hdr.faults.generation)},
      {"applied_generation", shm::load_acquire(hdr.faults.fp_generation)},
      {"rx", direction(hdr.stats.fault_rx, hdr.faults.rx_released_early, hdr.faults.rx_queue)},
      {"tx", direction(hdr.stats.fault_tx, hdr.faults.tx_released_early, hdr.faults.tx_queue)},
  };
}

}  // namespace virtuoso::slowpath
