// Reads a `congestion_by_port` table ({5201 = "dctcp", ...}): the algorithm for the connections a
// listening port accepts, overriding the host's or the tenant's `congestion_control`.
#pragma once
#include <string>

#include "congestion_algo.hpp"
#include "table_reader.hpp"

namespace virtuoso::config {

// Reads `parent`'s table `key` (absent: `out` is left empty); `source` names the file for errors.
void read_congestion_by_port(TableReader& parent, std::string_view key, const std::string& source,
                             CongestionByPort& out);

}  // namespace virtuoso::config
