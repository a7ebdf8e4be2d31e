// The command lines virtuosod gives its two children, built from the config (pure functions).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace virtuoso::tools {

// The "HugePages_Free:" count in /proc/meminfo's text; nullopt when the line is missing.
std::optional<uint64_t> parse_hugepages_free(std::string_view meminfo);

// hugepages = "auto" means: use them iff some are free right now.
bool use_hugepages(config::HugepageMode mode, uint64_t hugepages_free);

// EAL options: -l <lcore>, the port (--no-pci --vdev DEVARGS, or -a PCI) and the memory mode
// (--in-memory with hugepages; --no-huge -m MB --no-shconf without). Never both --in-memory and
// --no-huge: EAL refuses that combination.
std::vector<std::string> eal_args(const config::Config& cfg, bool hugepages);

// Everything after argv[0] for virtuoso-fastpath: EAL options, "--", then its own options
// (--faults with the [faults] settings when the fault injector is enabled).
std::vector<std::string> fastpath_args(const config::Config& cfg, bool hugepages, int ready_fd);

// Everything after argv[0] for virtuoso-slowpath.
std::vector<std::string> slowpath_args(const std::string& config_path, int ready_fd);

}  // namespace virtuoso::tools
