// virtuosoctl stats and watch: the operator's summary of a `status` answer (port, fast-path cores,
// drops by reason, TCP recovery, CPU time and traffic by tenant), and the rates between two of them.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace virtuoso::tools {

// {"port", "cores", "drops", "tcp", "tenants"} from the daemon's status JSON. Drops are the
// status's own: every counter of a frame or segment thrown away, by process and reason;
// "tenants" holds the host's account ("host") and each tenant's, with their cycles and traffic.
nlohmann::ordered_json stats_of(const nlohmann::ordered_json& status);

// Aligned tables of a stats_of() answer.
std::string format_stats(const nlohmann::ordered_json& stats);

// What changed between two stats_of() answers `seconds` apart, per second: frames, bits, drops,
// the fast path's busy share, and each account's share of the cycles and its traffic. Counters
// that went backwards (a restarted daemon) count as zero.
nlohmann::ordered_json stats_rates(const nlohmann::ordered_json& before, const nlohmann::ordered_json& after,
                                   double seconds);

// One screen of stats_rates(): a summary line and a table by account.
std::string format_rates(const nlohmann::ordered_json& rates);

}  // namespace virtuoso::tools
