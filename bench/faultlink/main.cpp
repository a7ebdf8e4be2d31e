// faultlink: a lossy Ethernet link between two DPDK ports, through the fast path's fault injector.
//
//   faultlink -l 1 --no-pci --vdev=net_tap0,iface=A --vdev=net_tap1,iface=B [memory] -- --faults SPEC
//
// Every frame from port 0 goes out of port 1 and back. Port 0 is wrapped in a FaultPort, so its
// rx faults hit frames travelling 0 -> 1 and its tx faults frames travelling 1 -> 0: the same
// injector, in the same place, as on the stack's own port. With the taps moved into two network
// namespaces, Linux talks to Linux over the kind of link the stack is measured on.
#include <fmt/format.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <string>

#include "clock.hpp"
#include "dpdk_port.hpp"
#include "fault_port.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int fail(const std::string& what) {
  fmt::print(stderr, "faultlink: {}\n", what);
  rte_eal_cleanup();
  return 1;
}

// Moves one burst from `from` to `to`; returns the frames moved.
uint16_t forward(virtuoso::fastpath::PacketPort& from, virtuoso::fastpath::PacketPort& to) {
  virtuoso::fastpath::Frame frames[virtuoso::fastpath::DpdkPort::kBurst];
  uint16_t n = from.rx_burst(frames, virtuoso::fastpath::DpdkPort::kBurst);
  for (uint16_t i = 0; i < n; ++i) to.send(frames[i]);
  to.flush();
  return n;
}

std::string counters_json(const virtuoso::abi::FaultCounters& c, uint64_t early) {
  return fmt::format(R"({{"lost": {}, "burst_lost": {}, "reordered": {}, "duplicated": {}, "corrupted": {}, "released_early": {}}})",
                     c.lost, c.burst_lost, c.reordered, c.duplicated, c.corrupted, early);
}

}  // namespace

int main(int argc, char** argv) {
  int eal_args = rte_eal_init(argc, argv);
  if (eal_args < 0) {
    fmt::print(stderr, "faultlink: EAL initialisation failed: {} (read the EAL lines above)\n", rte_strerror(rte_errno));
    return 1;
  }
  argc -= eal_args;
  argv += eal_args;
  std::string spec;
  CLI::App cli{"faultlink: two DPDK ports joined through the fault injector", "faultlink"};
  cli.add_option("--faults", spec, "settings in key=value form, e.g. \"seed=7 loss=0.01\" (rx: port 0 -> 1, tx: 1 -> 0)");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    rte_eal_cleanup();
    return cli.exit(e);
  }
  virtuoso::abi::FaultSettings settings = virtuoso::abi::kNoFaultSettings;
  if (std::string bad = virtuoso::abi::apply_fault_spec(spec, settings); !bad.empty()) return fail("--faults: " + bad);
  if (rte_eth_dev_count_avail() != 2) return fail("needs exactly two DPDK ports (two --vdev=net_tapN,iface=NAME)");
  rte_mempool* pool = rte_pktmbuf_pool_create("faultlink", 8191, 256, 0,
                                              RTE_PKTMBUF_HEADROOM + virtuoso::fastpath::kFrameCapacity,
                                              int(rte_socket_id()));
  if (pool == nullptr) return fail(fmt::format("cannot create the packet pool: {}", rte_strerror(rte_errno)));
  virtuoso::fastpath::DpdkPort a, b;
  std::string error;
  if (!a.open(0, pool, error) || !b.open(1, pool, error)) return fail(error);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  {
    virtuoso::fastpath::SteadyClock clock;
    virtuoso::fastpath::FaultPort lossy(a, clock, settings);
    fmt::print("faultlink: ready on lcore {}: {}\n", rte_lcore_id(), virtuoso::abi::format_fault_spec(settings));
    std::fflush(stdout);
    while (!g_stop) {
      forward(lossy, b);
      forward(b, lossy);
    }
    // Frames the devices refused (tx_dropped) are losses too, beyond the injected ones.
    auto pa = a.counters(), pb = b.counters();
    fmt::print("{{\"a_to_b\": {}, \"b_to_a\": {}, \"port0\": {{\"rx_frames\": {}, \"tx_frames\": {}, \"tx_dropped\": {}}}, "
               "\"port1\": {{\"rx_frames\": {}, \"tx_frames\": {}, \"tx_dropped\": {}}}}}\n",
               counters_json(lossy.rx_counters(), lossy.rx_released_early()),
               counters_json(lossy.tx_counters(), lossy.tx_released_early()), pa.rx_frames, pa.tx_frames,
               pa.tx_dropped, pb.rx_frames, pb.tx_frames, pb.tx_dropped);
  }
  a.close();
  b.close();
  rte_eal_cleanup();
  return 0;
}
