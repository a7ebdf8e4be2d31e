// The per-thread signal counters: static TLS (initial-exec), so a signal handler may touch them.
#include "signal_counts.hpp"

namespace virtuoso::shim {
namespace {

__attribute__((tls_model("initial-exec"))) thread_local uint64_t t_interrupting = 0;
__attribute__((tls_model("initial-exec"))) thread_local uint64_t t_restarting = 0;

}  // namespace

void note_signal(bool restart) {
  if (restart) {
    ++t_restarting;
  } else {
    ++t_interrupting;
  }
}

SignalCounts signal_counts() { return SignalCounts{t_interrupting, t_restarting}; }

}  // namespace virtuoso::shim
