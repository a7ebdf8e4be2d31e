// Carries out one parsed request against the store and appends the protocol reply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "kv/core/counters.hpp"
#include "kv/core/request.hpp"
#include "kv/core/store.hpp"

namespace virtuoso::kv {

enum class Disposition : uint8_t { kContinue, kClose };

class Executor {
 public:
  Executor(Store& store, WorkerCounters& counters, const ServerInfo& info)
      : store_(store), counters_(counters), info_(info) {}

  // `now` is Unix seconds; it resolves relative and absolute exptimes.
  Disposition execute(const Request& request, int64_t now, std::string& out);

  // Answers a get/gets from key `next_key` on, stopping once `out` has grown to `out_limit`
  // bytes (after at least one key), so that a multi-get of many large values can be answered
  // in pieces as the socket drains. Returns true when the reply is complete (END appended).
  bool get_some(const Request& request, int64_t now, std::size_t& next_key, std::string& out,
                std::size_t out_limit);

 private:
  void store(const Request& request, int64_t now, std::string& out);
  void remove(const Request& request, int64_t now, std::string& out);

  Store& store_;
  WorkerCounters& counters_;
  const ServerInfo& info_;
};

// memcached's exptime rules: 0 never, negative already expired, up to 30 days relative to now,
// beyond that an absolute Unix time.
int64_t expire_at(int64_t exptime, int64_t now);

}  // namespace virtuoso::kv
