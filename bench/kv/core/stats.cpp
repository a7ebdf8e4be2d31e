// The `stats` reply: memcached's general-purpose counters, summed over workers and shards.
#include <fmt/format.h>
#include <sys/resource.h>

#include <iterator>

#include "kv/core/counters.hpp"
#include "kv/core/store.hpp"

namespace virtuoso::kv {
namespace {

struct Totals {
  uint64_t cmd_get = 0, get_hits = 0, get_misses = 0, cmd_set = 0, cmd_flush = 0;
  uint64_t delete_hits = 0, delete_misses = 0, opened = 0, closed = 0;
  uint64_t bytes_read = 0, bytes_written = 0, protocol_errors = 0, out_of_memory = 0;
};

Totals sum(const ServerInfo& info) {
  Totals t;
  for (const WorkerCounters* w : info.workers) {
    t.cmd_get += w->cmd_get.get();
    t.get_hits += w->get_hits.get();
    t.get_misses += w->get_misses.get();
    t.cmd_set += w->cmd_set.get();
    t.cmd_flush += w->cmd_flush.get();
    t.delete_hits += w->delete_hits.get();
    t.delete_misses += w->delete_misses.get();
    t.opened += w->conns_opened.get();
    t.closed += w->conns_closed.get();
    t.bytes_read += w->bytes_read.get();
    t.bytes_written += w->bytes_written.get();
    t.protocol_errors += w->protocol_errors.get();
    t.out_of_memory += w->out_of_memory.get();
  }
  return t;
}

void stat(std::string& out, std::string_view name, auto value) {
  fmt::format_to(std::back_inserter(out), "STAT {} {}\r\n", name, value);
}

std::string seconds(const timeval& tv) {
  return fmt::format("{}.{:06}", tv.tv_sec, tv.tv_usec);
}

}  // namespace

void append_stats(const ServerInfo& info, int64_t now, std::string& out) {
  const Totals t = sum(info);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  stat(out, "pid", info.pid);
  stat(out, "uptime", now - info.start_time);
  stat(out, "time", now);
  stat(out, "version", info.version);
  stat(out, "pointer_size", sizeof(void*) * 8);
  stat(out, "rusage_user", seconds(usage.ru_utime));
  stat(out, "rusage_system", seconds(usage.ru_stime));
  // A connection may be counted open by its worker a moment before `closed` catches up.
  stat(out, "curr_connections", t.opened >= t.closed ? t.opened - t.closed : 0);
  stat(out, "total_connections", t.opened);
  stat(out, "cmd_get", t.cmd_get);
  stat(out, "cmd_set", t.cmd_set);
  stat(out, "cmd_flush", t.cmd_flush);
  stat(out, "get_hits", t.get_hits);
  stat(out, "get_misses", t.get_misses);
  stat(out, "delete_misses", t.delete_misses);
  stat(out, "delete_hits", t.delete_hits);
  stat(out, "bytes_read", t.bytes_read);
  stat(out, "bytes_written", t.bytes_written);
  stat(out, "protocol_errors", t.protocol_errors);
  stat(out, "out_of_memory", t.out_of_memory);
  stat(out, "threads", info.threads);
  if (info.store != nullptr) {
    const StoreStats s = info.store->stats();
    stat(out, "limit_maxbytes", s.limit_bytes);
    stat(out, "bytes", s.bytes);
    stat(out, "curr_items", s.curr_items);
    stat(out, "total_items", s.total_items);
    stat(out, "evictions", s.evictions);
    stat(out, "reclaimed", s.reclaimed);
  }
  out += "END\r\n";
}

}  // namespace virtuoso::kv
