// The per-thread waiting total CallSpan subtracts (call_cycles.hpp).
#include "call_cycles.hpp"

namespace virtuoso::shim {

uint64_t& thread_waited_cycles() {
  thread_local uint64_t waited = 0;
  return waited;
}

}  // namespace virtuoso::shim
