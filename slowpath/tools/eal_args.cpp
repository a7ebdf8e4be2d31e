// Builds the children's argument vectors from the config.
#include "eal_args.hpp"

#include <charconv>

namespace virtuoso::tools {

std::optional<uint64_t> parse_hugepages_free(std::string_view meminfo) {
  constexpr std::string_view kKey = "HugePages_Free:";
  size_t pos = 0;
  while (pos < meminfo.size()) {
    size_t end = meminfo.find('\n', pos);
    if (end == std::string_view::npos) end = meminfo.size();
    std::string_view line = meminfo.substr(pos, end - pos);
    pos = end + 1;
    if (line.substr(0, kKey.size()) != kKey) continue;
    line.remove_prefix(kKey.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), value);
    if (ec != std::errc() || ptr == line.data()) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

bool use_hugepages(config::HugepageMode mode, uint64_t hugepages_free) {
  switch (mode) {
    case config::HugepageMode::kOn: return true;
    case config::HugepageMode::kOff: return false;
    case config::HugepageMode::kAuto: break;
  }
  return hugepages_free > 0;
}

std::vector<std::string> eal_args(const config::Config& cfg, bool hugepages) {
  std::vector<std::string> args = {"-l", std::to_string(cfg.fastpath.lcore)};
  if (!cfg.port.pci.empty()) {
    args.insert(args.end(), {"-a", cfg.port.pci});
  } else {
    // The machine's own NIC must never be probed: only the configured virtual device.
    args.insert(args.end(), {"--no-pci", "--vdev", cfg.port.devargs});
  }
  if (hugepages) {
    // No hugetlbfs mount and no runtime files needed, and two daemons do not collide.
    args.emplace_back("--in-memory");
  } else {
    args.insert(args.end(),
                {"--no-huge", "-m", std::to_string(cfg.fastpath.memory_mb), "--no-shconf"});
  }
  args.emplace_back("--log-level=lib.eal:notice");
  return args;
}

std::vector<std::string> fastpath_args(const config::Config& cfg, bool hugepages, int ready_fd) {
  std::vector<std::string> args = eal_args(cfg, hugepages);
  args.insert(args.end(), {"--",
                           "--run-dir", cfg.run_dir,
                           "--ready-fd", std::to_string(ready_fd),
                           "--idle-backoff-us", std::to_string(cfg.fastpath.idle_backoff_us),
                           "--delayed-ack-us", std::to_string(cfg.fastpath.delayed_ack_us),
                           "--mbufs", std::to_string(cfg.fastpath.mbufs),
                           "--log-level", cfg.log_level});
  if (cfg.faults.enabled) args.insert(args.end(), {"--faults", abi::format_fault_spec(cfg.faults.settings)});
  return args;
}

std::vector<std::string> slowpath_args(const std::string& config_path, int ready_fd) {
  return {"--config", config_path, "--ready-fd", std::to_string(ready_fd)};
}

}  // namespace virtuoso::tools
