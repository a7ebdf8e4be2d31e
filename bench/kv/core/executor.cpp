// Request execution: get/gets, set/add/replace, delete, flush_all, version, stats, quit.
#include "kv/core/executor.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <iterator>

#include "kv/core/limits.hpp"

namespace virtuoso::kv {

int64_t expire_at(int64_t exptime, int64_t now) {
  if (exptime == 0) return kNeverExpires;
  if (exptime < 0) return now;
  if (exptime <= kMaxRelativeExptime) return now + exptime;
  return exptime;
}

Disposition Executor::execute(const Request& request, int64_t now, std::string& out) {
  switch (request.command) {
    case Command::kGet:
    case Command::kGets: {
      std::size_t next_key = 0;
      get_some(request, now, next_key, out, SIZE_MAX);
      break;
    }
    case Command::kSet:
    case Command::kAdd:
    case Command::kReplace:
      store(request, now, out);
      break;
    case Command::kDelete:
      remove(request, now, out);
      break;
    case Command::kFlushAll:
      store_.flush();
      counters_.cmd_flush.add();
      if (!request.noreply) out += "OK\r\n";
      break;
    case Command::kVersion:
      fmt::format_to(std::back_inserter(out), "VERSION {}\r\n", info_.version);
      break;
    case Command::kStats:
      append_stats(info_, now, out);
      break;
    case Command::kQuit:
      return Disposition::kClose;
  }
  return Disposition::kContinue;
}

bool Executor::get_some(const Request& request, int64_t now, std::size_t& next_key,
                        std::string& out, std::size_t out_limit) {
  const bool with_cas = request.command == Command::kGets;
  const std::size_t first = next_key;
  for (; next_key < request.keys.size(); ++next_key) {
    if (next_key > first && out.size() >= out_limit) return false;
    const std::string_view key = request.keys[next_key];
    counters_.cmd_get.add();
    const bool hit = store_.get(key, now, [&](uint32_t flags, std::string_view value) {
      // No cas support: gets reports a constant unique value, which no command accepts back.
      fmt::format_to(std::back_inserter(out), "VALUE {} {} {}{}\r\n", key, flags, value.size(),
                     with_cas ? " 0" : "");
      out.append(value);
      out += "\r\n";
    });
    (hit ? counters_.get_hits : counters_.get_misses).add();
  }
  out += "END\r\n";
  return true;
}

void Executor::store(const Request& request, int64_t now, std::string& out) {
  counters_.cmd_set.add();
  const StoreMode mode = request.command == Command::kSet   ? StoreMode::kSet
                         : request.command == Command::kAdd ? StoreMode::kAdd
                                                            : StoreMode::kReplace;
  const StoreResult result = store_.store(mode, request.keys.front(), request.flags,
                                          expire_at(request.exptime, now), request.data, now);
  switch (result) {
    case StoreResult::kStored:
      if (!request.noreply) out += "STORED\r\n";
      break;
    case StoreResult::kNotStored:
      if (!request.noreply) out += "NOT_STORED\r\n";
      break;
    case StoreResult::kOutOfMemory:
      // Errors are sent even under noreply: the client must learn that its data is not there.
      counters_.out_of_memory.add();
      out += "SERVER_ERROR out of memory storing object\r\n";
      break;
  }
}

void Executor::remove(const Request& request, int64_t now, std::string& out) {
  const bool hit = store_.remove(request.keys.front(), now);
  (hit ? counters_.delete_hits : counters_.delete_misses).add();
  if (!request.noreply) out += hit ? "DELETED\r\n" : "NOT_FOUND\r\n";
}

}  // namespace virtuoso::kv
