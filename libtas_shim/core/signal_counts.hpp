// Per-thread counts of the app's signal handlers that ran, split by SA_RESTART, so that a blocking
// call interrupted by a handler can restart as the kernel would (signal(7)).
#pragma once
#include <cstdint>

namespace virtuoso::shim {

struct SignalCounts {
  uint64_t interrupting = 0;  // handlers installed without SA_RESTART
  uint64_t restarting = 0;    // handlers installed with SA_RESTART
};

// Async-signal-safe: called from the shim's handler trampoline.
void note_signal(bool restart);
SignalCounts signal_counts();

// After EINTR: restart the call only if handlers ran since `before` and every one had SA_RESTART.
// A handler the shim did not see (installed behind its back) counts as interrupting.
inline bool restart_after(const SignalCounts& before, const SignalCounts& now) {
  return now.interrupting == before.interrupting && now.restarting != before.restarting;
}

}  // namespace virtuoso::shim
