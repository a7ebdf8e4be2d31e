// The [faults] section: the fault injector's settings for the fast path's port.
#pragma once
#include <string>

#include "config.hpp"
#include "table_reader.hpp"

namespace virtuoso::config {

// Reads [faults] (seed, enabled) and its sub-tables [faults.rx] and [faults.tx].
void read_faults(TableReader r, FaultsConfig& faults, const std::string& source);

}  // namespace virtuoso::config
