// echo-client results: merged over threads, printed as text and written as JSON.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "client_config.hpp"
#include "client_ctx.hpp"
#include "common/histogram.hpp"

namespace virtuoso::bench {

struct Summary {
  ClientMode mode = ClientMode::kClosedLoop;
  double elapsed_s = 0;  // measured window (request modes) or first start to last finish (bulk)
  uint64_t requests = 0;
  double requests_per_s = 0;
  double gbit_per_s = 0;  // echoed payload, one direction
  LogHistogram latency_ns;
  ErrorCounts errors;
  // Bulk mode only.
  std::vector<BulkStream> streams;
  std::vector<double> stream_gbit_per_s;
  double jain_fairness = 0;
};

// Jain's fairness index of the allocations: 1 when all equal, 1/n when one takes everything.
double jain_index(const std::vector<double>& x);

Summary summarize(const ClientConfig& cfg, const std::vector<const ThreadResult*>& results,
                  double measured_s);
void print_summary(const ClientConfig& cfg, const Summary& s);
// False (with the reason on stderr) when the file cannot be written.
bool write_json(const ClientConfig& cfg, const Summary& s, const std::string& path);

}  // namespace virtuoso::bench
