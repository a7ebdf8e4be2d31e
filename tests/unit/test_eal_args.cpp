// Unit tests of the command lines virtuosod builds for the fast path and the slow path.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "tools/eal_args.hpp"

using virtuoso::config::Config;
using virtuoso::config::HugepageMode;
using Args = std::vector<std::string>;

namespace {

Config vdev_config() {
  Config c;
  c.port.devargs = "net_tap0,iface=vtap0,mac=02:00:00:00:00:01";
  c.fastpath.lcore = 1;
  c.fastpath.memory_mb = 256;
  return c;
}

bool contains(const Args& args, const std::string& s) {
  return std::find(args.begin(), args.end(), s) != args.end();
}

}  // namespace

TEST_CASE("eal: virtual device without hugepages", "[eal]") {
  CHECK(virtuoso::tools::eal_args(vdev_config(), false) ==
        Args{"-l", "1", "--no-pci", "--vdev", "net_tap0,iface=vtap0,mac=02:00:00:00:00:01",
             "--no-huge", "-m", "256", "--no-shconf", "--log-level=lib.eal:notice"});
}

TEST_CASE("eal: virtual device with hugepages uses --in-memory and never --no-huge", "[eal]") {
  Args a = virtuoso::tools::eal_args(vdev_config(), true);
  CHECK(a == Args{"-l", "1", "--no-pci", "--vdev", "net_tap0,iface=vtap0,mac=02:00:00:00:00:01",
                  "--in-memory", "--log-level=lib.eal:notice"});
  CHECK_FALSE(contains(a, "--no-huge"));
  CHECK_FALSE(contains(a, "-m"));
}

TEST_CASE("eal: a PCI port is allowed with -a instead of --no-pci and --vdev", "[eal]") {
  Config c = vdev_config();
  c.port.devargs.clear();
  c.port.pci = "0000:01:00.0";
  c.fastpath.lcore = 5;
  Args a = virtuoso::tools::eal_args(c, true);
  CHECK(a == Args{"-l", "5", "-a", "0000:01:00.0", "--in-memory", "--log-level=lib.eal:notice"});
  CHECK_FALSE(contains(a, "--no-pci"));
  CHECK_FALSE(contains(a, "--vdev"));
}

TEST_CASE("eal: fast path options follow EAL's after --", "[eal]") {
  Config c = vdev_config();
  c.run_dir = "/tmp/vrt";
  c.fastpath.idle_backoff_us = 20;
  c.fastpath.mbufs = 4095;
  c.log_level = "debug";
  Args a = virtuoso::tools::fastpath_args(c, false, 3);
  auto dash = std::find(a.begin(), a.end(), "--");
  REQUIRE(dash != a.end());
  CHECK(Args(a.begin(), dash) == virtuoso::tools::eal_args(c, false));
  CHECK(Args(dash + 1, a.end()) == Args{"--run-dir", "/tmp/vrt", "--ready-fd", "3",
                                        "--idle-backoff-us", "20", "--delayed-ack-us", "200",
                                        "--mbufs", "4095",
                                        "--log-level", "debug"});
}

TEST_CASE("eal: slow path gets the config and its ready fd", "[eal]") {
  CHECK(virtuoso::tools::slowpath_args("/etc/virtuoso.toml", 3) ==
        Args{"--config", "/etc/virtuoso.toml", "--ready-fd", "3"});
}

TEST_CASE("eal: hugepages auto follows the free count, on and off are fixed", "[eal]") {
  using virtuoso::tools::use_hugepages;
  CHECK(use_hugepages(HugepageMode::kAuto, 512));
  CHECK_FALSE(use_hugepages(HugepageMode::kAuto, 0));
  CHECK(use_hugepages(HugepageMode::kOn, 0));
  CHECK_FALSE(use_hugepages(HugepageMode::kOff, 512));
}

TEST_CASE("eal: HugePages_Free is read from meminfo text", "[eal]") {
  using virtuoso::tools::parse_hugepages_free;
  const char* meminfo =
      "MemTotal:       24570000 kB\n"
      "HugePages_Total:     512\n"
      "HugePages_Free:      300\n"
      "HugePages_Rsvd:        0\n"
      "Hugepagesize:       2048 kB\n";
  CHECK(parse_hugepages_free(meminfo) == 300u);
  CHECK(parse_hugepages_free("HugePages_Free:        0") == 0u);
  CHECK_FALSE(parse_hugepages_free("MemTotal: 1 kB\n"));
  CHECK_FALSE(parse_hugepages_free("HugePages_Free: x\n"));
}
