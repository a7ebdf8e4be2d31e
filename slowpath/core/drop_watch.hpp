// What was dropped in the last second, by reason, for one log line a second while frames or
// segments are being dropped (a flood of junk is a line a second saying how much, never a line a
// frame). Pure bookkeeping over named counters; the daemon samples and writes the line.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace virtuoso::slowpath {

struct DropCounter {
  std::string name;  // "fastpath.drop_bad_ip", "slowpath.bad_frames", ...
  uint64_t value = 0;
};

class DropWatch {
 public:
  // The counters that grew since the previous sample, with how much, in the order given; the
  // first sample (or one with a different set of counters) only sets the baseline.
  std::vector<DropCounter> sample(const std::vector<DropCounter>& now) {
    std::vector<DropCounter> grew;
    if (now.size() == last_.size()) {
      for (size_t i = 0; i < now.size(); ++i)
        if (now[i].value > last_[i].value) grew.push_back({now[i].name, now[i].value - last_[i].value});
    }
    last_ = now;
    return grew;
  }

 private:
  std::vector<DropCounter> last_;
};

}  // namespace virtuoso::slowpath
