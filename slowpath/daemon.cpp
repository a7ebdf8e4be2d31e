// virtuoso-slowpath: setup of regions, doorbells and sockets; the epoll loop; draining the fast
// path's punt and event queues; the sleep protocol on sp_sleeping; the once-a-second watches.
#include "daemon.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/log_format.hpp"
#include "core/regions.hpp"
#include "core/status.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {
namespace {

constexpr uint32_t kDrainBatch = 256;  // entries per queue before looking at sockets again

uint64_t tag_data(uint32_t tag, uint32_t id) { return uint64_t(tag) << 32 | id; }

// A fresh secret per process: sequence numbers and ports must not be predictable from outside.
Settings keyed(Settings s) {
  random_key(s.secret0, s.secret1);
  return s;
}

}  // namespace

Settings settings_from_config(const config::Config& cfg) {
  Settings s;
  s.local_ip = cfg.network.ip;
  s.prefix_len = cfg.network.prefix_len;
  s.gateway = cfg.network.gateway;
  s.mtu = cfg.network.mtu;
  s.initial_rto_ms = cfg.tcp.initial_rto_ms;
  s.min_rto_ms = cfg.tcp.min_rto_ms;
  s.max_rto_ms = cfg.tcp.max_rto_ms;
  s.max_retries = cfg.tcp.max_retries;
  s.syn_retries = cfg.tcp.syn_retries;
  s.time_wait_ms = cfg.tcp.time_wait_ms;
  s.timestamps = cfg.tcp.timestamps;
  s.sack = cfg.tcp.sack;
  s.syn_cookies = cfg.tcp.syn_cookies;
  s.pacing = cfg.tcp.pacing;
  s.ecn = cfg.tcp.ecn;
  s.congestion_control = cfg.tcp.congestion_control;
  s.congestion_by_port = cfg.tcp.congestion_by_port;
  s.keepalive_time_s = cfg.tcp.keepalive_time_s;
  s.keepalive_intvl_s = cfg.tcp.keepalive_intvl_s;
  s.keepalive_probes = cfg.tcp.keepalive_probes;
  s.challenge_ack_limit = cfg.tcp.challenge_ack_limit;
  s.rst_limit = cfg.tcp.rst_limit;
  s.ephemeral_lo = cfg.tcp.ephemeral_lo;
  s.ephemeral_hi = cfg.tcp.ephemeral_hi;
  s.max_contexts = cfg.apps.max_contexts;
  s.max_flows = cfg.apps.max_flows;
  s.app_layout = app_layout(cfg.apps.slots_per_context, cfg.apps.rx_buffer, cfg.apps.tx_buffer);
  s.tenants = cfg.tenants;
  return s;
}

Daemon::Daemon(const config::Config& cfg)
    : cfg_(cfg),
      settings_(keyed(settings_from_config(cfg))),
      control_mem_("virtuoso-control", control_layout(settings_.max_flows).total_bytes()),
      ctrl_{control_mem_.base(), control_layout(settings_.max_flows)},
      sp_bell_(make_eventfd()),
      fp_bell_(make_eventfd()),
      channels_(ctrl_, settings_.max_contexts),
      cp_(settings_, ctrl_, *this),
      ctx_res_(settings_.max_contexts) {
  if (!settings_.app_layout.valid())
    throw std::runtime_error("apps.slots_per_context, apps.rx_buffer or apps.tx_buffer give an invalid region "
                             "layout: use powers of two, buffers of at least 2048 bytes");
  if (!ctrl_.layout.valid())
    throw std::runtime_error("apps.max_flows must be between 1 and 1048576");
  init_control_region(ctrl_);
  write_tenant_table(ctrl_.header()->tenants, settings_.tenants);
  write_budget_settings(ctrl_.header()->budget_settings, cfg_.budgets, settings_.tenants);
  configure_gate();

  epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw std::runtime_error(fmt::format("epoll_create1 failed: {}", std::strerror(errno)));
  signal_fd_ = make_stop_signalfd();
  timer_fd_ = make_timerfd();
  if (mkdir(cfg_.run_dir.c_str(), 0755) != 0 && errno != EEXIST)
    throw std::runtime_error(fmt::format("cannot create run_dir {}: {} (create its parent, or change run_dir)",
                                         cfg_.run_dir, std::strerror(errno)));
  // Apps of any user may attach; the fast path link and the control socket are for root.
  std::string dir = cfg_.run_dir + "/";
  fp_listen_ = ListeningSocket(dir + abi::kFpSocketName, SOCK_SEQPACKET, 0600);
  app_listen_ = ListeningSocket(dir + abi::kAppSocketName, SOCK_SEQPACKET, 0666);
  ctl_listen_ = ListeningSocket(dir + abi::kCtlSocketName, SOCK_STREAM, 0600);
  watch(signal_fd_.get(), Tag::kSignal, 0);
  watch(timer_fd_.get(), Tag::kTimer, 0);
  pace_fd_ = make_timerfd();
  watch(pace_fd_.get(), Tag::kPace, 0);
  second_fd_ = make_timerfd();
  arm_timerfd(second_fd_.get(), 1000);
  watch(second_fd_.get(), Tag::kSecond, 0);
  watch(sp_bell_.get(), Tag::kDoorbell, 0);
  watch(fp_listen_.get(), Tag::kFpListen, 0);
  watch(app_listen_.get(), Tag::kAppListen, 0);
  watch(ctl_listen_.get(), Tag::kCtlListen, 0);
  listen_tenant_sockets();
  listen_metrics();
  spdlog::info("slow path up: ip {}/{}, run_dir {}, {} flows, {} contexts of {} slots", ip_str(settings_.local_ip),
               settings_.prefix_len, cfg_.run_dir, settings_.max_flows, settings_.max_contexts,
               settings_.app_layout.n_slots);
}

void Daemon::watch(int fd, Tag tag, uint32_t id) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag_data(uint32_t(tag), id);
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    throw std::runtime_error(fmt::format("epoll_ctl failed: {}", std::strerror(errno)));
}

// The slow path's own budgets: the same weights and enforcement as the fast path's (as they are
// now in the control region), its own period.
void Daemon::configure_gate() {
  const abi::BudgetSettings& b = ctrl_.header()->budget_settings;
  WorkGate::Settings s;
  s.enforce = b.enforce != 0;
  s.period_ns = uint64_t{cfg_.budgets.slowpath_period_us} * 1000;
  s.burst_periods = b.burst_periods;
  s.backlog_frames = cfg_.budgets.backlog_frames;
  uint32_t weights[WorkGate::kAccounts] = {};
  for (size_t i = 0; i < WorkGate::kAccounts; ++i) weights[i] = b.weight[i];
  cp_.gate().configure(s, weights);
}

// Changes what epoll reports for a watched descriptor (0: nothing, until changed again).
bool Daemon::rewatch(int fd, Tag tag, uint32_t id, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag_data(uint32_t(tag), id);
  return epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

void Daemon::run() {
  epoll_event events[64];
  abi::ControlHeader* hdr = ctrl_.header();
  while (!stop_) {
    // No lost wake-up: announce sleep, then look at the queues once more before blocking.
    shm::store_seq_cst(hdr->sp_sleeping, 1u);
    int timeout = wait_timeout();
    if (!ctrl_.punt().looks_empty() || !ctrl_.evt().looks_empty()) timeout = 0;
    int n = epoll_wait(epoll_.get(), events, 64, timeout);
    shm::store_relaxed(hdr->sp_sleeping, 0u);
    if (n < 0 && errno != EINTR) throw std::runtime_error(fmt::format("epoll_wait failed: {}", std::strerror(errno)));
    TimeMs now = monotonic_ms();
    cp_.gate().begin_round(monotonic_ns());
    for (int i = 0; i < n; ++i) dispatch(events[i], now);
    drain_fastpath(now);
    channels_.flush(*this);
    resume_apps();
    update_timer();
  }
  spdlog::info("slow path stopping");
}

// Entries waiting for room in a full queue, and work held back for want of budget, are retried
// soon; otherwise only events wake us.
int Daemon::wait_timeout() { return channels_.waiting() || cp_.gate().has_parked() || !paused_apps_.empty() ? 1 : -1; }

void Daemon::dispatch(const epoll_event& ev, TimeMs now) {
  auto tag = Tag(ev.data.u64 >> 32);
  auto id = uint32_t(ev.data.u64);
  switch (tag) {
    case Tag::kSignal: {
      signalfd_siginfo si;
      [[maybe_unused]] ssize_t r = read(signal_fd_.get(), &si, sizeof si);
      spdlog::info("signal {} received", si.ssi_signo);
      stop_ = true;
      break;
    }
    case Tag::kTimer:
      drain_timerfd(timer_fd_.get());
      drain_fastpath(now);  // events first: a timer must see the flow's latest state
      tick(now);
      break;
    case Tag::kPace:
      drain_timerfd(pace_fd_.get());
      drain_fastpath(now);
      pace(now);
      break;
    case Tag::kSecond:
      drain_timerfd(second_fd_.get());
      if (!settings_.tenants.empty()) watch_budgets();
      watch_drops();
      break;
    case Tag::kDoorbell: drain_eventfd(sp_bell_.get()); break;
    case Tag::kFpListen: accept_fastpath(); break;
    case Tag::kAppListen: accept_app(id); break;
    case Tag::kCtlListen: accept_ctl(); break;
    case Tag::kMetricsListen: accept_metrics(); break;
    case Tag::kFp: on_fastpath_readable(); break;
    case Tag::kApp: on_app_readable(id, now); break;
    case Tag::kCtl: on_ctl_readable(id); break;
  }
}

// One batch from each queue; the loop comes back at once (timeout 0) while they are not empty,
// so a punt flood cannot starve the sockets and timers.
void Daemon::drain_fastpath(TimeMs now) {
  abi::FpEvent ev;
  auto evt = ctrl_.evt();
  for (uint32_t i = 0; i < kDrainBatch; ++i) {
    auto r = evt.try_pop(ev);
    if (r == shm::PopResult::kEmpty) break;
    if (r == shm::PopResult::kCorrupt) {
      spdlog::error("the fast path's event queue indices are corrupt");
      break;
    }
    uint64_t t0 = monotonic_ns();
    cp_.handle_event(ev, now);
    uint64_t ns = monotonic_ns() - t0;
    uint16_t tenant = cp_.context_tenant(ev.ctx);
    cp_.charge_work(tenant, ControlPlane::WorkKind::kEvent, ns);
    cp_.gate().done(cp_.gate().account(tenant), ns);  // spent from its budget, never held back
  }
  abi::PacketSlot slot;
  auto punt = ctrl_.punt();
  WorkGate& gate = cp_.gate();
  for (uint32_t i = 0; i < kDrainBatch; ++i) {
    auto r = punt.try_pop(slot);
    if (r == shm::PopResult::kEmpty) break;
    if (r == shm::PopResult::kCorrupt) {
      spdlog::error("the fast path's punt queue indices are corrupt");
      break;
    }
    if (slot.len > sizeof slot.data) continue;
    uint32_t acct = gate.account(cp_.frame_tenant(slot.data, slot.len));
    if (gate.admit_frame(acct, slot) == WorkGate::Admit::kNow) handle_punted(acct, slot, now);
  }
  // Frames parked for want of budget, as budget (or spare time) allows.
  uint32_t acct = 0;
  for (uint32_t i = 0; i < kDrainBatch && gate.next_parked(acct, slot); ++i) handle_punted(acct, slot, now);
}

// The 10 ms tick, its time shared out among the tenants by the connections it went through (the
// host's when there were none): timers are spent from budgets, never held back.
void Daemon::tick(TimeMs now) {
  uint64_t t0 = monotonic_ns();
  cp_.tick(now);
  charge_timer_work(monotonic_ns() - t0, cp_.last_tick_flows());
}

// Congestion control between ticks, charged like the tick to the tenants of the flows it paced.
void Daemon::pace(TimeMs now) {
  uint64_t t0 = monotonic_ns();
  cp_.pace_congestion(now);
  charge_timer_work(monotonic_ns() - t0, cp_.last_pace_flows());
}

void Daemon::charge_timer_work(uint64_t ns, const std::vector<uint32_t>& flows) {
  uint64_t total = 0;
  for (uint32_t n : flows) total += n;
  for (size_t t = 0; t < flows.size(); ++t) {
    if (total ? flows[t] == 0 : t != 0) continue;
    uint64_t share = total ? ns * flows[t] / total : ns;
    cp_.charge_work(uint16_t(t), ControlPlane::WorkKind::kTimer, share);
    cp_.gate().done(cp_.gate().account(uint32_t(t)), share);
  }
}

// One line when an account runs out of its fast-path budget, one when it is back within it.
void Daemon::watch_budgets() {
  const abi::ControlHeader& hdr = *ctrl_.header();
  uint32_t n = uint32_t(settings_.tenants.size()) + 1;
  abi::BudgetAccount now[abi::kMaxTenants + 1];
  for (uint32_t i = 0; i < n; ++i) {
    const abi::BudgetAccount& a = hdr.budget_accounts[i];
    now[i] = {};
    now[i].deferred_rx = shm::load_relaxed(a.deferred_rx);
    now[i].dropped_rx = shm::load_relaxed(a.dropped_rx);
    now[i].deferred_tx = shm::load_relaxed(a.deferred_tx);
    now[i].deferred_apps = shm::load_relaxed(a.deferred_apps);
  }
  for (const BudgetWatch::Change& c : budget_watch_.sample(now, n)) {
    std::string name = c.account == 0 ? "host" : settings_.tenants[c.account - 1].name;
    uint32_t weight = shm::load_relaxed(hdr.budget_settings.weight[c.account]);
    if (c.over) {
      spdlog::warn("budget: tenant={} state=over weight={} deferred_rx={} dropped_rx={} deferred_tx={} "
                   "deferred_apps={} interval_ms=1000",
                   name, weight, c.held.deferred_rx, c.held.dropped_rx, c.held.deferred_tx, c.held.deferred_apps);
    } else {
      spdlog::info("budget: tenant={} state=within weight={}", name, weight);
    }
  }
}

// One line a second while anything is being dropped: how much, by reason.
void Daemon::watch_drops() {
  std::vector<DropCounter> grew = drop_watch_.sample(drop_counters(cp_, *ctrl_.header()));
  if (grew.empty()) return;
  uint64_t total = 0;
  std::string reasons;
  for (const DropCounter& d : grew) {
    total += d.value;
    reasons += fmt::format(" {}={}", d.name, d.value);
  }
  spdlog::warn("drops: total={} interval_ms=1000{}", total, reasons);
}

void Daemon::handle_punted(uint32_t acct, const abi::PacketSlot& slot, TimeMs now) {
  uint64_t t0 = monotonic_ns();
  cp_.handle_frame(slot.data, slot.len, now);
  uint64_t ns = monotonic_ns() - t0;
  cp_.charge_work(uint16_t(acct), ControlPlane::WorkKind::kFrame, ns);
  cp_.gate().done(acct, ns);
}

// The 10 ms tick runs only while something has a deadline; the 1 ms congestion pace only while
// flows with short round trips move.
void Daemon::update_timer() {
  bool want = cp_.timers_pending();
  if (want != timer_armed_) {
    arm_timerfd(timer_fd_.get(), want ? unsigned(ControlPlane::kTickMs) : 0);
    timer_armed_ = want;
  }
  bool pace = cp_.congestion_pacing_wanted();
  if (pace != pace_armed_) {
    arm_timerfd(pace_fd_.get(), pace ? 1 : 0);
    pace_armed_ = pace;
  }
}

void Daemon::ring_app(uint16_t ctx) {
  if (ctx < ctx_res_.size() && ctx_res_[ctx].doorbell) ring_eventfd(ctx_res_[ctx].doorbell.get());
}

}  // namespace virtuoso::slowpath
