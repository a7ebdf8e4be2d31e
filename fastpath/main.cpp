// virtuoso-fastpath: EAL and port start-up, attach to the slow path, then the polling loop.
#include <fmt/format.h>
#include <poll.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <string>

#include "datapath.hpp"
#include "dpdk_port.hpp"
#include "fault_port.hpp"
#include "slowpath_link.hpp"
#include "tsc_clock.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;  // set by the signal handler, read by the loop
void on_signal(int) { g_stop = 1; }

struct Options {
  std::string run_dir = "/run/virtuoso";
  int ready_fd = -1;
  unsigned idle_backoff_us = 0;
  unsigned delayed_ack_us = 200;
  unsigned mbufs = 8191;
  std::string log_level = "info";
  std::string faults;  // fault injector settings (abi/fault_settings.hpp text form)
};

int fail(const std::string& what) {
  fmt::print(stderr, "virtuoso-fastpath: {}\n", what);
  return 1;
}

// Polls until stopped. With idle back-off, an idle loop sleeps on its doorbell for at most
// `idle_us`, after announcing it so apps and the slow path ring it when they queue work, and no
// longer than until its first timer (a paced flow's next segment, a delayed ACK) comes due.
// With a fault injector, its settings follow the control region, and the loop does not sleep
// while it holds delayed frames.
void run_loop(virtuoso::fastpath::Datapath& dp, virtuoso::fastpath::SlowpathLink& link, unsigned idle_us,
              virtuoso::fastpath::FaultPort* faults) {
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t spin_before_sleep = hz / 20000;  // 50 us of empty polls before sleeping
  uint64_t idle_since = 0;
  uint64_t next_check = rte_rdtsc() + hz / 10;
  while (!g_stop) {
    uint32_t work = dp.poll_once();
    if (faults != nullptr) {
      faults->poll_control();
      if (faults->held() != 0) work |= 1;
    }
    uint64_t now = rte_rdtsc();
    if (now >= next_check) {
      next_check = now + hz / 10;
      if (!link.slowpath_alive()) {
        spdlog::error("the slow path went away; stopping");
        return;
      }
    }
    if (work || idle_us == 0) {
      idle_since = 0;
      continue;
    }
    if (idle_since == 0) idle_since = now;
    if (now - idle_since < spin_before_sleep) continue;
    dp.announce_sleep(true);
    if (uint64_t sleep_us = std::min<uint64_t>(idle_us, dp.sleep_limit_us()); sleep_us > 0) {
      dp.note_idle_sleep();
      pollfd p{link.own_doorbell(), POLLIN, 0};
      timespec ts{long(sleep_us / 1'000'000), long(sleep_us % 1'000'000) * 1000};
      if (ppoll(&p, 1, &ts, nullptr) > 0) {
        uint64_t v;
        [[maybe_unused]] ssize_t r = read(link.own_doorbell(), &v, sizeof(v));
      }
    }
    dp.announce_sleep(false);
    idle_since = 0;
  }
}

}  // namespace

int main(int argc, char** argv) {
  int eal_args = rte_eal_init(argc, argv);
  if (eal_args < 0) {
    int err = rte_errno;
    const char* hint =
        err == ENODEV ? "a device given with --vdev or -a could not be created: check the driver name "
                        "and its arguments (port.devargs / port.pci)"
        : err == ENOMEM ? "not enough memory: reserve hugepages, or raise fastpath.memory_mb"
                        : "read the EAL lines above; without hugepages use --no-huge -m 512 --no-shconf, "
                          "and pass --no-pci on machines without a DPDK NIC";
    return fail(fmt::format("EAL initialisation failed: {} ({})", rte_strerror(err), hint));
  }
  argc -= eal_args;
  argv += eal_args;

  Options opt;
  CLI::App cli{"Virtuoso fast path: [EAL options] -- [options]", "virtuoso-fastpath"};
  cli.add_option("--run-dir", opt.run_dir, "the daemon's run directory (fp.sock)");
  cli.add_option("--ready-fd", opt.ready_fd, "write one line to this fd once running");
  cli.add_option("--idle-backoff-us", opt.idle_backoff_us, "sleep up to this long when idle (0: busy poll)")
      ->check(CLI::Range(0u, 100000u));
  cli.add_option("--delayed-ack-us", opt.delayed_ack_us,
                 "longest wait for a reply to carry the ACK of one small segment (0: ACK at once)")
      ->check(CLI::Range(0u, 500000u));
  cli.add_option("--mbufs", opt.mbufs, "packet buffers in the pool")->check(CLI::Range(1023u, 1u << 22));
  cli.add_option("--log-level", opt.log_level, "trace|debug|info|warn|error");
  auto* faults_opt = cli.add_option("--faults", opt.faults,
                                    "inject faults on the port, e.g. \"seed=7 rx.loss=0.01 tx.reorder=0.01\"; "
                                    "given (even as \"seed=1\"), virtuosoctl faults can change them at run time");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    rte_eal_cleanup();
    return cli.exit(e);
  }
  virtuoso::abi::FaultSettings fault_settings = virtuoso::abi::kNoFaultSettings;
  if (std::string bad = virtuoso::abi::apply_fault_spec(opt.faults, fault_settings); !bad.empty()) {
    rte_eal_cleanup();
    return fail("--faults: " + bad);
  }
  spdlog::set_level(spdlog::level::from_str(opt.log_level));
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  virtuoso::fastpath::DpdkPort port;
  virtuoso::fastpath::SlowpathLink link;
  std::string error;
  if (rte_eth_dev_count_avail() == 0) {
    rte_eal_cleanup();
    return fail("no DPDK port: pass a virtual device (--vdev=net_tap0,iface=NAME) or a NIC (-a PCI)");
  }
  spdlog::info("step port: opening DPDK port 0 with {} buffers", opt.mbufs);
  if (!port.open(0, opt.mbufs, error)) {
    rte_eal_cleanup();
    return fail(error);
  }
  spdlog::info("step slowpath: attaching to {}/fp.sock", opt.run_dir);
  if (!link.connect(opt.run_dir, port.mac(), error)) {
    port.close();
    rte_eal_cleanup();
    return fail(error);
  }
  virtuoso::fastpath::DatapathConfig cfg;
  cfg.local_ip = link.local_ip();
  cfg.local_mac = port.mac();
  cfg.delayed_ack_us = opt.delayed_ack_us;
  {
    virtuoso::fastpath::TscClock clock;
    virtuoso::fastpath::TscCycles cycles;
    std::optional<virtuoso::fastpath::FaultPort> faults;  // without --faults the port is not wrapped
    if (faults_opt->count() != 0) {
      faults.emplace(port, clock, fault_settings, link.control().header());
      spdlog::info("step faults: {}", virtuoso::abi::format_fault_spec(fault_settings));
    }
    virtuoso::fastpath::PacketPort& dp_port = faults ? static_cast<virtuoso::fastpath::PacketPort&>(*faults) : port;
    virtuoso::fastpath::Datapath dp(cfg, link.control(), dp_port, link, clock, cycles);
    virtuoso::shm::store_release(link.control().header()->fp_ready, 1u);
    auto m = port.mac();
    spdlog::info("step loop: running on lcore {}, mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, TSC {} Hz",
                 rte_lcore_id(), m[0], m[1], m[2], m[3], m[4], m[5], cycles.hz());
    if (opt.ready_fd >= 0) {
      [[maybe_unused]] ssize_t r = write(opt.ready_fd, "ready\n", 6);
      close(opt.ready_fd);
    }
    run_loop(dp, link, opt.idle_backoff_us, faults ? &*faults : nullptr);
    virtuoso::shm::store_release(link.control().header()->fp_ready, 0u);
  }
  spdlog::info("stopping: closing the port");
  port.close();
  rte_eal_cleanup();
  return 0;
}
