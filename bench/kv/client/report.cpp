// kv-client reporting: throughput, hit ratio, Gbit/s, latency percentiles (us), error breakdown.
#include "kv/client/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

namespace virtuoso::kv {
namespace {

struct Percentile {
  const char* name;
  double p;
};
constexpr Percentile kPercentiles[] = {
    {"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}, {"p99.99", 99.99}};

double us(uint64_t ns) {
  return static_cast<double>(ns) / 1000.0;
}

std::string mode_text(const ClientOptions& opt) {
  if (opt.open_loop()) return fmt::format("open loop at {:.0f} req/s", opt.rate);
  return fmt::format("closed loop, pipeline {}", opt.pipeline);
}

}  // namespace

RunSummary summarize(const std::vector<ThreadResult>& results, const Timeline& tl, uint64_t end_ns,
                     const ClientOptions& opt) {
  RunSummary s;
  uint64_t last = 0;
  for (const ThreadResult& r : results) {
    s.gets += r.gets;
    s.hits += r.hits;
    s.sets += r.sets;
    s.bytes += r.bytes;
    s.errors.merge(r.errors);
    s.latency_ns.merge(r.latency_ns);
    last = std::max(last, r.last_completion_ns);
  }
  // A fixed-count run ends with its last reply. A timed one ends at its end (or interrupt),
  // stretched to the last measured reply when an overloaded open loop drains late: otherwise
  // replies that came after the end would inflate req/s.
  uint64_t stop = opt.requests > 0 ? last : std::max(std::min(tl.measure_end, end_ns), last);
  if (stop < tl.measure_start) stop = tl.measure_start;
  s.seconds = static_cast<double>(stop - tl.measure_start) / 1e9;
  return s;
}

void print_summary(const RunSummary& s, const ClientOptions& opt) {
  fmt::print("kv-client: {}:{} {}, {} connections, {} threads{}\n", opt.host, opt.port,
             mode_text(opt), opt.connections, opt.threads, s.interrupted ? " (interrupted)" : "");
  fmt::print("  workload    {} keys x {} B keys, {} B values, get ratio {:.2f}, {}{}\n", opt.keys,
             opt.key_size, opt.size, opt.get_ratio,
             opt.dist == KeyDist::kZipf ? fmt::format("zipf s={:.2f}", opt.zipf_s) : "uniform",
             opt.verify ? ", verified" : "");
  fmt::print("  requests    {} in {:.3f} s = {:.0f} req/s (gets {}, sets {})\n", s.requests(),
             s.seconds, s.req_per_s(), s.gets, s.sets);
  fmt::print("  hit ratio   {:.4f} ({} hits of {} gets)\n", s.hit_ratio(), s.hits, s.gets);
  fmt::print("  throughput  {:.3f} Gbit/s (request and reply bytes)\n", s.gbit_per_s());
  std::string lat;
  for (const auto& p : kPercentiles) {
    lat += fmt::format("{} {:.1f}  ", p.name, us(s.latency_ns.percentile(p.p)));
  }
  fmt::print("  latency us  {}max {:.1f}  mean {:.1f}\n", lat, us(s.latency_ns.max()),
             s.latency_ns.mean() / 1000.0);
  const ErrorCounts& e = s.errors;
  fmt::print("  errors      {} (connect {}, server {}, protocol {}, io {}, stall {}, verify {})\n",
             e.total(), e.connect, e.server, e.protocol, e.io, e.stall, e.verify);
  std::fflush(stdout);
}

bool write_json(const RunSummary& s, const ClientOptions& opt, const std::string& path) {
  nlohmann::ordered_json j;
  j["tool"] = "kv-client";
  j["host"] = opt.host;
  j["port"] = opt.port;
  j["mode"] = opt.open_loop() ? "open-loop" : "closed-loop";
  j["connections"] = opt.connections;
  j["threads"] = opt.threads;
  j["pipeline"] = opt.pipeline;
  j["rate"] = opt.rate;
  j["size"] = opt.size;
  j["key_size"] = opt.key_size;
  j["keys"] = opt.keys;
  j["get_ratio"] = opt.get_ratio;
  j["dist"] = opt.dist == KeyDist::kZipf ? "zipf" : "uniform";
  j["zipf_s"] = opt.zipf_s;
  j["verify"] = opt.verify;
  j["interrupted"] = s.interrupted;
  j["seconds"] = s.seconds;
  j["requests"] = s.requests();
  j["gets"] = s.gets;
  j["sets"] = s.sets;
  j["hits"] = s.hits;
  j["hit_ratio"] = s.hit_ratio();
  j["req_per_s"] = s.req_per_s();
  j["bytes"] = s.bytes;
  j["gbit_per_s"] = s.gbit_per_s();
  auto& lat = j["latency_us"];
  for (const auto& p : kPercentiles) lat[p.name] = us(s.latency_ns.percentile(p.p));
  lat["max"] = us(s.latency_ns.max());
  lat["mean"] = s.latency_ns.mean() / 1000.0;
  const ErrorCounts& e = s.errors;
  j["errors"] = e.total();
  j["error_kinds"] = {{"connect", e.connect}, {"server", e.server}, {"protocol", e.protocol},
                      {"io", e.io},           {"stall", e.stall},   {"verify", e.verify}};
  std::ofstream out(path);
  out << j.dump(2) << '\n';
  out.close();
  if (!out) {
    fmt::print(stderr, "kv-client: cannot write --json {}: {}\n", path, std::strerror(errno));
    return false;
  }
  return true;
}

}  // namespace virtuoso::kv
