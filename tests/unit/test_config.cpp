// Unit tests of the config parser: accepted files, defaults, and one test per refused input,
// each checking that the one-line error names the field and says how to fix it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/config.hpp"
#include "support/config_text.hpp"
#include "config/ipv4.hpp"

using virtuoso::config::Config;
using virtuoso::config::ConfigError;
using virtuoso::config::HugepageMode;
using virtuoso::config::parse_config;

namespace {

constexpr const char* kMinimal = virtuoso::test::kMinimalConfig;

// The error text parse_config gives for `text`, or a test failure if it accepts it.
std::string error_of(const std::string& text) { return virtuoso::test::config_error(text, "virtuoso.toml"); }

// kMinimal with `extra` appended; TOML forbids reopening a table, so `extra` adds new sections.
std::string minimal_plus(const std::string& extra) { return std::string(kMinimal) + extra; }

// A file with a valid port and the given [network] body.
std::string with_network(const std::string& body) {
  return "[port]\ndevargs = \"net_null0\"\n[network]\n" + body + "\n";
}

// A file with a valid network and the given [port] body.
std::string with_port(const std::string& body) {
  return "[port]\n" + body + "\n[network]\nip = \"10.0.0.2\"\n";
}

}  // namespace

TEST_CASE("config: full file sets every field", "[config]") {
  Config c = parse_config(R"(
run_dir = "/tmp/vrt"
log_level = "debug"
[port]
pci = "0000:03:00.1"
[fastpath]
lcore = 3
idle_backoff_us = 50
hugepages = "off"
memory_mb = 256
mbufs = 4095
[network]
ip = "192.168.7.10"
prefix_len = 16
gateway = "192.168.0.1"
mtu = 9000
[tcp]
initial_rto_ms = 500
min_rto_ms = 100
max_rto_ms = 30000
max_retries = 5
syn_retries = 3
time_wait_ms = 1000
ephemeral_ports = [40000, 50000]
[apps]
max_contexts = 8
slots_per_context = 256
rx_buffer = 131072
tx_buffer = 32768
max_flows = 2048
)",
                          "full.toml");
  CHECK(c.run_dir == "/tmp/vrt");
  CHECK(c.log_level == "debug");
  CHECK(c.port.pci == "0000:03:00.1");
  CHECK(c.port.devargs.empty());
  CHECK(c.fastpath.lcore == 3);
  CHECK(c.fastpath.idle_backoff_us == 50);
  CHECK(c.fastpath.hugepages == HugepageMode::kOff);
  CHECK(c.fastpath.memory_mb == 256);
  CHECK(c.fastpath.mbufs == 4095);
  CHECK(c.network.ip == 0xc0a8070a);
  CHECK(c.network.prefix_len == 16);
  CHECK(c.network.gateway == 0xc0a80001);
  CHECK(c.network.mtu == 9000);
  CHECK(c.tcp.initial_rto_ms == 500);
  CHECK(c.tcp.min_rto_ms == 100);
  CHECK(c.tcp.max_rto_ms == 30000);
  CHECK(c.tcp.max_retries == 5);
  CHECK(c.tcp.syn_retries == 3);
  CHECK(c.tcp.time_wait_ms == 1000);
  CHECK(c.tcp.ephemeral_lo == 40000);
  CHECK(c.tcp.ephemeral_hi == 50000);
  CHECK(c.apps.max_contexts == 8);
  CHECK(c.apps.slots_per_context == 256);
  CHECK(c.apps.rx_buffer == 131072);
  CHECK(c.apps.tx_buffer == 32768);
  CHECK(c.apps.max_flows == 2048);
}

TEST_CASE("config: omitted fields keep their defaults", "[config]") {
  Config c = parse_config(kMinimal, "min.toml");
  Config d;
  CHECK(c.port.devargs == "net_tap0,iface=vtap0");
  CHECK(c.network.ip == 0x0a000002);
  CHECK(c.run_dir == d.run_dir);
  CHECK(c.log_level == d.log_level);
  CHECK(c.fastpath.lcore == d.fastpath.lcore);
  CHECK(c.fastpath.hugepages == HugepageMode::kAuto);
  CHECK(c.fastpath.memory_mb == d.fastpath.memory_mb);
  CHECK(c.fastpath.mbufs == d.fastpath.mbufs);
  CHECK(c.fastpath.delayed_ack_us == d.fastpath.delayed_ack_us);
  CHECK(c.network.prefix_len == d.network.prefix_len);
  CHECK(c.network.gateway == 0);
  CHECK(c.network.mtu == d.network.mtu);
  CHECK(c.tcp.initial_rto_ms == d.tcp.initial_rto_ms);
  CHECK(c.tcp.ephemeral_lo == d.tcp.ephemeral_lo);
  CHECK(c.tcp.ephemeral_hi == d.tcp.ephemeral_hi);
  CHECK(c.apps.slots_per_context == d.apps.slots_per_context);
  CHECK(c.apps.max_flows == d.apps.max_flows);
}

TEST_CASE("config: hugepages accepts auto, on and off", "[config]") {
  auto mode = [](const char* v) {
    return parse_config(minimal_plus(std::string("[fastpath]\nhugepages = \"") + v + "\"\n"), "t")
        .fastpath.hugepages;
  };
  CHECK(mode("auto") == HugepageMode::kAuto);
  CHECK(mode("on") == HugepageMode::kOn);
  CHECK(mode("off") == HugepageMode::kOff);
}

TEST_CASE("config: the shipped example file parses and shows the defaults", "[config]") {
  auto path = std::filesystem::path(__FILE__).parent_path() / "../../docs/virtuoso.example.toml";
  REQUIRE(std::filesystem::exists(path));
  Config c = virtuoso::config::load_config(path.string());
  Config d;
  CHECK(c.network.ip == 0x0a000002);
  CHECK(c.port.devargs.rfind("net_tap0,", 0) == 0);
  // The example promises to show each default: keep it honest.
  CHECK(c.run_dir == d.run_dir);
  CHECK(c.log_level == d.log_level);
  CHECK(c.fastpath.lcore == d.fastpath.lcore);
  CHECK(c.fastpath.idle_backoff_us == d.fastpath.idle_backoff_us);
  CHECK(c.fastpath.hugepages == d.fastpath.hugepages);
  CHECK(c.fastpath.memory_mb == d.fastpath.memory_mb);
  CHECK(c.fastpath.mbufs == d.fastpath.mbufs);
  CHECK(c.network.prefix_len == d.network.prefix_len);
  CHECK(c.network.gateway == d.network.gateway);
  CHECK(c.network.mtu == d.network.mtu);
  CHECK(c.tcp.initial_rto_ms == d.tcp.initial_rto_ms);
  CHECK(c.tcp.min_rto_ms == d.tcp.min_rto_ms);
  CHECK(c.tcp.max_rto_ms == d.tcp.max_rto_ms);
  CHECK(c.tcp.max_retries == d.tcp.max_retries);
  CHECK(c.tcp.syn_retries == d.tcp.syn_retries);
  CHECK(c.tcp.timestamps == d.tcp.timestamps);
  CHECK(c.tcp.sack == d.tcp.sack);
  CHECK(c.tcp.ecn == d.tcp.ecn);
  CHECK(c.tcp.congestion_control == d.tcp.congestion_control);
  CHECK(c.tcp.time_wait_ms == d.tcp.time_wait_ms);
  CHECK(c.tcp.ephemeral_lo == d.tcp.ephemeral_lo);
  CHECK(c.tcp.ephemeral_hi == d.tcp.ephemeral_hi);
  CHECK(c.apps.max_contexts == d.apps.max_contexts);
  CHECK(c.apps.slots_per_context == d.apps.slots_per_context);
  CHECK(c.apps.rx_buffer == d.apps.rx_buffer);
  CHECK(c.apps.tx_buffer == d.apps.tx_buffer);
  CHECK(c.apps.max_flows == d.apps.max_flows);
}

TEST_CASE("config: load_config reads a file from disk", "[config]") {
  auto path = std::filesystem::temp_directory_path() / "virtuoso_test_config_load.toml";
  {
    std::ofstream out(path);
    out << kMinimal;
  }
  Config c = virtuoso::config::load_config(path.string());
  std::filesystem::remove(path);
  CHECK(c.network.ip == 0x0a000002);
}

TEST_CASE("config: missing file names the path and the reason", "[config]") {
  try {
    virtuoso::config::load_config("/nonexistent/virtuoso.toml");
    FAIL("no error");
  } catch (const ConfigError& e) {
    std::string what = e.what();
    CHECK(what.rfind("/nonexistent/virtuoso.toml: cannot open: No such file or directory;", 0) == 0);
  }
}

TEST_CASE("config: TOML syntax error gives the line number", "[config]") {
  std::string e = error_of("[network]\nip = \"10.0.0.2\"\nmtu = = 3\n");
  CHECK(e.find("virtuoso.toml: line 3: ") == 0);
  CHECK(e.find("fix the TOML syntax") != std::string::npos);
}

TEST_CASE("config: misspelt key is refused with a suggestion", "[config]") {
  CHECK(error_of(minimal_plus("[fastpath]\nlcores = 1\n")) ==
        "virtuoso.toml: fastpath.lcores: unknown key; did you mean fastpath.lcore?");
}

TEST_CASE("config: unrelated unknown key lists the allowed keys", "[config]") {
  std::string e = error_of(minimal_plus("[apps]\ncolour = \"blue\"\n"));
  CHECK(e.find("apps.colour: unknown key; remove it (keys allowed in [apps]: max_contexts,") !=
        std::string::npos);
}

TEST_CASE("config: misspelt section is refused before missing fields", "[config]") {
  CHECK(error_of("[port]\ndevargs = \"net_null0\"\n[netwrok]\nip = \"10.0.0.2\"\n") ==
        "virtuoso.toml: netwrok: unknown key; did you mean network?");
}

TEST_CASE("config: wrong type names the field and both types", "[config]") {
  CHECK(error_of(minimal_plus("[fastpath]\nlcore = \"1\"\n")) ==
        "virtuoso.toml: fastpath.lcore: expected an integer, got a string; write a whole number "
        "in 0..127 without quotes");
  CHECK(error_of(minimal_plus("[tcp]\nmax_retries = 2.5\n")).find("tcp.max_retries: expected an "
                                                                  "integer, got a floating-point") !=
        std::string::npos);
  CHECK(error_of("run_dir = 5\n" + std::string(kMinimal)).find("run_dir: expected a string, got an integer") !=
        std::string::npos);
}

TEST_CASE("config: a section given as a value is refused", "[config]") {
  CHECK(error_of("apps = 3\n" + std::string(kMinimal)) ==
        "virtuoso.toml: apps: expected a table, got an integer; write it as a [apps] section");
}

TEST_CASE("config: malformed IPv4 address", "[config]") {
  CHECK(error_of(with_network("ip = \"10.0.0.300\"")) ==
        "virtuoso.toml: network.ip: '10.0.0.300' is not an IPv4 address; write it as a.b.c.d");
  CHECK(error_of(with_network("ip = \"10.0.0.2\"\ngateway = \"10.0.0\"")) ==
        "virtuoso.toml: network.gateway: '10.0.0' is not an IPv4 address; write it as a.b.c.d");
}

TEST_CASE("config: network.ip is required", "[config]") {
  std::string e = error_of(with_network("mtu = 1500"));
  CHECK(e.find("virtuoso.toml: network.ip: missing; add ip = ") == 0);
}

TEST_CASE("config: network.ip must be a host address", "[config]") {
  CHECK(error_of(with_network("ip = \"10.0.0.0\"")).find("network.ip: 10.0.0.0/24 cannot be a host") !=
        std::string::npos);
  CHECK(error_of(with_network("ip = \"10.0.0.255\"")).find("network.ip: ") != std::string::npos);
  CHECK(error_of(with_network("ip = \"224.0.0.1\"")).find("network.ip: ") != std::string::npos);
  CHECK(error_of(with_network("ip = \"0.0.0.0\"")).find("network.ip: ") != std::string::npos);
  // A /31 or /32 has no network or broadcast address to avoid.
  CHECK(parse_config(with_network("ip = \"10.0.0.0\"\nprefix_len = 31"), "t").network.ip == 0x0a000000);
}

TEST_CASE("config: gateway must be another host on the subnet", "[config]") {
  CHECK(error_of(with_network("ip = \"10.0.0.2\"\ngateway = \"10.0.1.1\"")) ==
        "virtuoso.toml: network.gateway: 10.0.1.1 is not another host in 10.0.0.0/24; use a router "
        "on the subnet, or change network.prefix_len");
  CHECK(error_of(with_network("ip = \"10.0.0.2\"\ngateway = \"10.0.0.2\"")).find("network.gateway:") !=
        std::string::npos);
}

TEST_CASE("config: prefix_len and mtu ranges", "[config]") {
  CHECK(error_of(with_network("ip = \"10.0.0.2\"\nprefix_len = 0")) ==
        "virtuoso.toml: network.prefix_len: 0 is out of range; use a value in 1..32");
  CHECK(error_of(with_network("ip = \"10.0.0.2\"\nprefix_len = 33")).find("network.prefix_len: 33") !=
        std::string::npos);
  CHECK(error_of(with_network("ip = \"10.0.0.2\"\nmtu = 575")) ==
        "virtuoso.toml: network.mtu: 575 is out of range; use a value in 576..9000");
  CHECK(error_of(with_network("ip = \"10.0.0.2\"\nmtu = 9001")).find("network.mtu: 9001") !=
        std::string::npos);
  CHECK(parse_config(with_network("ip = \"10.0.0.2\"\nmtu = 576"), "t").network.mtu == 576);
}

TEST_CASE("config: a port is required", "[config]") {
  std::string e = error_of("[network]\nip = \"10.0.0.2\"\n");
  CHECK(e.find("virtuoso.toml: port: no port given; set port.devargs") == 0);
}

TEST_CASE("config: devargs and pci together are refused", "[config]") {
  CHECK(error_of(with_port("devargs = \"net_null0\"\npci = \"0000:01:00.0\"")) ==
        "virtuoso.toml: port: both port.devargs and port.pci are set; keep only one of them");
}

TEST_CASE("config: malformed PCI address and devargs", "[config]") {
  CHECK(error_of(with_port("pci = \"01:00\"")) ==
        "virtuoso.toml: port.pci: '01:00' is not a PCI address; write it as DDDD:BB:DD.F, e.g. "
        "0000:01:00.0");
  CHECK(parse_config(with_port("pci = \"01:00.0\""), "t").port.pci == "01:00.0");
  CHECK(error_of(with_port("devargs = \"net_tap0, iface=x\"")).find("port.devargs: ") !=
        std::string::npos);
}

TEST_CASE("config: lcore out of range", "[config]") {
  CHECK(error_of(minimal_plus("[fastpath]\nlcore = 128\n")) ==
        "virtuoso.toml: fastpath.lcore: 128 is out of range; use a value in 0..127");
  CHECK(error_of(minimal_plus("[fastpath]\nlcore = -1\n")).find("fastpath.lcore: -1 is out of range") !=
        std::string::npos);
}

TEST_CASE("config: fastpath memory_mb and mbufs ranges", "[config]") {
  CHECK(error_of(minimal_plus("[fastpath]\nmemory_mb = 10\n")).find("fastpath.memory_mb: 10 is out") !=
        std::string::npos);
  CHECK(error_of(minimal_plus("[fastpath]\nmbufs = 100\n")).find("fastpath.mbufs: 100 is out") !=
        std::string::npos);
  CHECK(error_of(minimal_plus("[fastpath]\nidle_backoff_us = 2000000\n"))
            .find("fastpath.idle_backoff_us: 2000000 is out") != std::string::npos);
}

TEST_CASE("config: unknown hugepages mode", "[config]") {
  CHECK(error_of(minimal_plus("[fastpath]\nhugepages = \"yes\"\n")) ==
        "virtuoso.toml: fastpath.hugepages: 'yes' is not a valid choice; use one of: auto, on, off");
}

TEST_CASE("config: unknown log level", "[config]") {
  CHECK(error_of("log_level = \"verbose\"\n" + std::string(kMinimal)).find(
            "log_level: 'verbose' is not a valid choice; use one of: trace, debug, info, warn") !=
        std::string::npos);
}

TEST_CASE("config: run_dir must be absolute and short enough for a socket path", "[config]") {
  CHECK(error_of("run_dir = \"run/virtuoso\"\n" + std::string(kMinimal)) ==
        "virtuoso.toml: run_dir: 'run/virtuoso' is not an absolute path; write it as /path/to/dir, "
        "e.g. /run/virtuoso");
  std::string long_dir = "/" + std::string(120, 'd');
  CHECK(error_of("run_dir = \"" + long_dir + "\"\n" + kMinimal).find("is too long for a Unix socket") !=
        std::string::npos);
}

TEST_CASE("config: buffer sizes must be powers of two", "[config]") {
  CHECK(error_of(minimal_plus("[apps]\nrx_buffer = 5000\n")) ==
        "virtuoso.toml: apps.rx_buffer: 5000 is not a power of two; use a power of two in "
        "4096..16777216, e.g. 4096 or 8192");
  CHECK(error_of(minimal_plus("[apps]\ntx_buffer = 2048\n")).find("apps.tx_buffer: 2048 is out of range") !=
        std::string::npos);
  CHECK(error_of(minimal_plus("[apps]\nslots_per_context = 1000\n"))
            .find("apps.slots_per_context: 1000 is not a power of two") != std::string::npos);
}

TEST_CASE("config: a context region larger than 4 GiB is refused", "[config]") {
  std::string e = error_of(
      minimal_plus("[apps]\nslots_per_context = 65536\nrx_buffer = 65536\ntx_buffer = 65536\n"));
  CHECK(e.find("apps.slots_per_context: 65536 slots of 65536 + 65536 bytes make 8192 MiB per app") !=
        std::string::npos);
}

TEST_CASE("config: apps max_contexts and max_flows ranges", "[config]") {
  CHECK(error_of(minimal_plus("[apps]\nmax_contexts = 0\n")).find("apps.max_contexts: 0 is out") !=
        std::string::npos);
  CHECK(error_of(minimal_plus("[apps]\nmax_flows = 2000000\n")).find("apps.max_flows: 2000000 is out") !=
        std::string::npos);
}

TEST_CASE("config: ephemeral port range must be [low, high] with low < high", "[config]") {
  CHECK(error_of(minimal_plus("[tcp]\nephemeral_ports = [50000, 40000]\n")) ==
        "virtuoso.toml: tcp.ephemeral_ports: [50000, 40000] is empty; write [low, high] with low < "
        "high");
  CHECK(error_of(minimal_plus("[tcp]\nephemeral_ports = [50000]\n"))
            .find("tcp.ephemeral_ports: expected [low, high], got an array of 1 values") !=
        std::string::npos);
  CHECK(error_of(minimal_plus("[tcp]\nephemeral_ports = 5\n"))
            .find("tcp.ephemeral_ports: expected [low, high], got an integer") != std::string::npos);
  CHECK(error_of(minimal_plus("[tcp]\nephemeral_ports = [80, 90]\n"))
            .find("tcp.ephemeral_ports: 80 is out of range; use a value in 1024..65535") !=
        std::string::npos);
  CHECK(error_of(minimal_plus("[tcp]\nephemeral_ports = [\"a\", 90]\n"))
            .find("tcp.ephemeral_ports: expected an integer, got a string") != std::string::npos);
}

TEST_CASE("config: RTO values must satisfy min <= initial <= max", "[config]") {
  CHECK(error_of(minimal_plus("[tcp]\nmin_rto_ms = 2000\n")) ==
        "virtuoso.toml: tcp.initial_rto_ms: min_rto_ms 2000 <= initial_rto_ms 1000 <= max_rto_ms "
        "60000 does not hold; order the three values min <= initial <= max");
  CHECK(error_of(minimal_plus("[tcp]\nmax_rto_ms = 500\n")).find("tcp.initial_rto_ms: ") !=
        std::string::npos);
  CHECK(parse_config(minimal_plus("[tcp]\nmin_rto_ms = 1000\nmax_rto_ms = 1000\n"), "t")
            .tcp.initial_rto_ms == 1000);
}

TEST_CASE("config: tcp retry counts and time-wait ranges", "[config]") {
  CHECK(error_of(minimal_plus("[tcp]\nmax_retries = 0\n")).find("tcp.max_retries: 0 is out") !=
        std::string::npos);
  CHECK(error_of(minimal_plus("[tcp]\nsyn_retries = 31\n")).find("tcp.syn_retries: 31 is out") !=
        std::string::npos);
  CHECK(error_of(minimal_plus("[tcp]\ntime_wait_ms = 600001\n")).find("tcp.time_wait_ms: 600001") !=
        std::string::npos);
}

TEST_CASE("ipv4: parse accepts dotted quads only", "[config]") {
  using virtuoso::config::parse_ipv4;
  CHECK(parse_ipv4("0.0.0.0") == 0u);
  CHECK(parse_ipv4("255.255.255.255") == 0xffffffffu);
  CHECK(parse_ipv4("10.1.2.3") == 0x0a010203u);
  CHECK_FALSE(parse_ipv4("10.1.2"));
  CHECK_FALSE(parse_ipv4("10.1.2.3.4"));
  CHECK_FALSE(parse_ipv4("10.1.2.256"));
  CHECK_FALSE(parse_ipv4("010.1.2.3"));
  CHECK_FALSE(parse_ipv4("10.1.2.3 "));
  CHECK_FALSE(parse_ipv4("10..2.3"));
  CHECK_FALSE(parse_ipv4("1000.1.2.3"));
  CHECK_FALSE(parse_ipv4(""));
  CHECK(virtuoso::config::format_ipv4(0x0a010203u) == "10.1.2.3");
}

TEST_CASE("config: tcp options switched off and a delayed-ACK time -> read, a non-boolean named") {
  Config c = parse_config(std::string(kMinimal) + "[fastpath]\ndelayed_ack_us = 0\n[tcp]\ntimestamps = false\n"
                                                  "sack = false\necn = false\n",
                          "t.toml");
  CHECK(c.fastpath.delayed_ack_us == 0);
  CHECK_FALSE(c.tcp.timestamps);
  CHECK_FALSE(c.tcp.sack);
  CHECK_FALSE(c.tcp.ecn);
  CHECK_THROWS_WITH(parse_config(std::string(kMinimal) + "[tcp]\nsack = 1\n", "t.toml"), Catch::Contains("tcp.sack"));
}

TEST_CASE("config: tcp.rst_limit 1000 by default, read, out of range -> named") {
  CHECK(parse_config(kMinimal, "t.toml").tcp.rst_limit == 1000);
  CHECK(parse_config(std::string(kMinimal) + "[tcp]\nrst_limit = 50\n", "t.toml").tcp.rst_limit == 50);
  CHECK_THROWS_WITH(parse_config(std::string(kMinimal) + "[tcp]\nrst_limit = 0\n", "t.toml"),
                    Catch::Contains("tcp.rst_limit"));
}

TEST_CASE("config: tcp.congestion_control cubic by default, reno or none, an unknown algorithm -> "
          "named with the choices") {
  CHECK(parse_config(kMinimal, "t.toml").tcp.congestion_control == virtuoso::config::CongestionAlgo::kCubic);
  using virtuoso::config::CongestionAlgo;
  const std::pair<const char*, CongestionAlgo> algos[] = {
      {"none", CongestionAlgo::kNone}, {"reno", CongestionAlgo::kReno}, {"cubic", CongestionAlgo::kCubic},
      {"dctcp", CongestionAlgo::kDctcp}};
  for (auto [name, algo] : algos) {
    Config c = parse_config(std::string(kMinimal) + "[tcp]\ncongestion_control = \"" + name + "\"\n", "t.toml");
    CHECK(c.tcp.congestion_control == algo);
  }
  CHECK_THROWS_WITH(parse_config(std::string(kMinimal) + "[tcp]\ncongestion_control = \"bbr\"\n", "t.toml"),
                    Catch::Contains("tcp.congestion_control") && Catch::Contains("none, reno, cubic"));
}

TEST_CASE("config: tcp.congestion_by_port -> listening ports with their own algorithm, a bad key or "
          "value named") {
  using virtuoso::config::CongestionAlgo;
  CHECK(parse_config(kMinimal, "t.toml").tcp.congestion_by_port.empty());
  Config c = parse_config(std::string(kMinimal) + "[tcp.congestion_by_port]\n5201 = \"dctcp\"\n80 = \"reno\"\n", "t.toml");
  CHECK(c.tcp.congestion_by_port.size() == 2);
  CHECK(c.tcp.congestion_by_port.at(5201) == CongestionAlgo::kDctcp);
  CHECK(c.tcp.congestion_by_port.at(80) == CongestionAlgo::kReno);
  CHECK(virtuoso::test::config_error(std::string(kMinimal) + "[tcp.congestion_by_port]\nhttp = \"dctcp\"\n", "t.toml") ==
        "t.toml: tcp.congestion_by_port.http: is not a port number; write a listening port from 1 to 65535 as "
        "the key, e.g. 5201 = \"dctcp\"");
  CHECK_THAT(virtuoso::test::config_error(std::string(kMinimal) + "[tcp.congestion_by_port]\n70000 = \"dctcp\"\n"),
             Catch::Contains("tcp.congestion_by_port.70000: is not a port number"));
  CHECK_THAT(virtuoso::test::config_error(std::string(kMinimal) + "[tcp.congestion_by_port]\n5201 = \"bbr\"\n"),
             Catch::Contains("tcp.congestion_by_port.5201: 'bbr' is not a valid choice"));
}

TEST_CASE("config: [metrics] listen -> address and port, off by default, a bad one names the field") {
  using virtuoso::config::parse_config;
  CHECK_FALSE(parse_config(kMinimal, "t.toml").metrics.enabled);
  auto c = parse_config(std::string(kMinimal) + "[metrics]\nlisten = \"127.0.0.1:9108\"\n", "t.toml");
  CHECK(c.metrics.enabled);
  CHECK(c.metrics.ip == 0x7f000001u);
  CHECK(c.metrics.port == 9108);
  for (const char* bad : {"9108", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "localhost:9108", "1.2.3.4:x"}) {
    INFO(bad);
    CHECK_THROWS_WITH(parse_config(std::string(kMinimal) + "[metrics]\nlisten = \"" + bad + "\"\n", "t.toml"),
                      Catch::Contains("metrics.listen") && Catch::Contains("127.0.0.1:9108"));
  }
  CHECK_THROWS_WITH(parse_config(std::string(kMinimal) + "[metrics]\nport = 1\n", "t.toml"),
                    Catch::Contains("metrics.port"));
}

TEST_CASE("config: log_target and log_socket", "[config]") {
  using virtuoso::config::LogTarget;
  CHECK(parse_config(kMinimal, "t").log_target == LogTarget::kStderr);
  Config c = parse_config(std::string("log_target = \"journald\"\n") + kMinimal, "t");
  CHECK(c.log_target == LogTarget::kJournald);
  CHECK(c.log_socket.empty());
  c = parse_config(std::string("log_target = \"syslog\"\nlog_socket = \"/tmp/log.sock\"\n") + kMinimal, "t");
  CHECK(c.log_target == LogTarget::kSyslog);
  CHECK(c.log_socket == "/tmp/log.sock");
  std::string e = error_of(std::string("log_target = \"file\"\n") + kMinimal);
  CHECK(e.find("log_target") != std::string::npos);
  e = error_of(std::string("log_socket = \"/dev/log\"\n") + kMinimal);
  CHECK(e.find("log_socket") != std::string::npos);
  CHECK(e.find("log_target") != std::string::npos);
  e = error_of(std::string("log_target = \"syslog\"\nlog_socket = \"dev/log\"\n") + kMinimal);
  CHECK(e.find("log_socket") != std::string::npos);
  CHECK(e.find("absolute") != std::string::npos);
}

TEST_CASE("config: an error quoting text with a newline or control characters stays on one line", "[config]") {
  // A quoted key with escapes, and the TOML parser's excerpt of a broken value (found by fuzz-config).
  std::string e = error_of(std::string("\"bad\\nkey\\u0001\" = 1\n") + kMinimal);
  CHECK(e.find("bad\\nkey\\x01") != std::string::npos);
  e = error_of(std::string(kMinimal) + "[tcp]\nsack = fals\n");
  CHECK(e.find("fals\\n") != std::string::npos);  // the excerpt, its newline escaped
}
