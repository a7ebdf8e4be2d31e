// kv-client results: merged totals, the text summary and the JSON file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kv/client/run_state.hpp"

namespace virtuoso::kv {

struct RunSummary {
  double seconds = 0;  // measured span
  uint64_t gets = 0, hits = 0, sets = 0, bytes = 0;
  ErrorCounts errors;
  bench::LogHistogram latency_ns;
  bool interrupted = false;

  uint64_t requests() const { return gets + sets; }
  double req_per_s() const { return seconds > 0 ? static_cast<double>(requests()) / seconds : 0; }
  double hit_ratio() const {
    return gets ? static_cast<double>(hits) / static_cast<double>(gets) : 0;
  }
  double gbit_per_s() const {
    return seconds > 0 ? static_cast<double>(bytes) * 8 / seconds / 1e9 : 0;
  }
};

RunSummary summarize(const std::vector<ThreadResult>& results, const Timeline& tl, uint64_t end_ns,
                     const ClientOptions& opt);
void print_summary(const RunSummary& s, const ClientOptions& opt);
// Returns false (and says why on stderr) if the file cannot be written.
bool write_json(const RunSummary& s, const ClientOptions& opt, const std::string& path);

}  // namespace virtuoso::kv
