// Reads the [[tenant]] tables of the daemon's file into Config::tenants.
#pragma once
#include <string>

#include "config.hpp"
#include "table_reader.hpp"

namespace virtuoso::config {

// Reads the top-level array `tenant` (null when absent: no tenants, plain mode) into cfg.tenants
// and checks it against the rest of `cfg` (run_dir, apps) and across tenants. Call after [apps].
void read_tenants(const toml::array* tables, Config& cfg, const std::string& source);

}  // namespace virtuoso::config
