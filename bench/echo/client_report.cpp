// echo-client results: merge per-thread results, derive rates and fairness, print and write JSON.
#include "client_report.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace virtuoso::bench {

namespace {

constexpr double kPercentiles[] = {50, 90, 99, 99.9, 99.99};
const char* const kPercentileNames[] = {"p50", "p90", "p99", "p99.9", "p99.99"};

double us(uint64_t ns) { return double(ns) / 1000.0; }

void summarize_bulk(Summary& s) {
  uint64_t first = UINT64_MAX, last = 0, bytes = 0;
  for (const auto& st : s.streams) {
    // end_ns is set when a stream completes, and for a one-way stream a signal cut short once the
    // sink has closed (all its bytes delivered); a failed stream has none.
    double secs = st.end_ns > st.start_ns ? double(st.end_ns - st.start_ns) / 1e9 : 0;
    s.stream_gbit_per_s.push_back(secs > 0 ? double(st.bytes) * 8 / secs / 1e9 : 0);
    first = std::min(first, st.start_ns);
    last = std::max(last, st.end_ns);
    bytes += st.bytes;
    // Every byte was compared as it arrived; the checksums confirm the two directions agree.
    if (s.mode == ClientMode::kBulk && st.complete && st.tx_checksum != st.rx_checksum)
      s.errors.add(ErrorKind::kVerify);
  }
  s.elapsed_s = last > first ? double(last - first) / 1e9 : 0;
  s.gbit_per_s = s.elapsed_s > 0 ? double(bytes) * 8 / s.elapsed_s / 1e9 : 0;
  s.jain_fairness = jain_index(s.stream_gbit_per_s);
}

}  // namespace

double jain_index(const std::vector<double>& x) {
  double sum = 0, sq = 0;
  for (double v : x) sum += v, sq += v * v;
  return sq > 0 ? sum * sum / (double(x.size()) * sq) : 0;
}

Summary summarize(const ClientConfig& cfg, const std::vector<const ThreadResult*>& results,
                  double measured_s) {
  Summary s;
  s.mode = cfg.mode();
  for (const ThreadResult* r : results) {
    s.latency_ns.merge(r->latency_ns);
    s.requests += r->requests;
    s.errors.merge(r->errors);
    s.streams.insert(s.streams.end(), r->streams.begin(), r->streams.end());
  }
  if (is_bulk(s.mode)) {
    std::sort(s.streams.begin(), s.streams.end(),
              [](const BulkStream& a, const BulkStream& b) { return a.connection < b.connection; });
    summarize_bulk(s);
    return s;
  }
  s.elapsed_s = measured_s;
  if (measured_s > 0) {
    s.requests_per_s = double(s.requests) / measured_s;
    s.gbit_per_s = s.requests_per_s * double(cfg.size) * 8 / 1e9;
  }
  return s;
}

void print_summary(const ClientConfig& cfg, const Summary& s) {
  std::printf("echo-client: %s to %s:%u, %u connections, %u threads", mode_name(s.mode),
              cfg.host.c_str(), cfg.port, cfg.connections, cfg.threads);
  if (is_bulk(s.mode)) {
    if (cfg.bulk_bytes)
      std::printf(", %llu bytes per stream\n", (unsigned long long)cfg.bulk_bytes);
    else
      std::printf(", %.3f s per stream\n", cfg.duration_s);
    for (size_t i = 0; i < s.streams.size(); ++i) {
      const BulkStream& st = s.streams[i];
      std::printf("stream %u: %llu bytes, %.3f Gbit/s, checksum sent %016llx", st.connection,
                  (unsigned long long)st.bytes, s.stream_gbit_per_s[i], (unsigned long long)st.tx_checksum);
      if (s.mode == ClientMode::kBulk) std::printf(" received %016llx", (unsigned long long)st.rx_checksum);
      std::printf("%s\n", st.complete ? "" : " (incomplete)");
    }
    std::printf("total: %.3f Gbit/s over %.3f s, Jain's fairness index %.4f\n", s.gbit_per_s,
                s.elapsed_s, s.jain_fairness);
  } else {
    std::printf(", %u-byte requests", cfg.size);
    if (s.mode == ClientMode::kClosedLoop) std::printf(", pipeline %u", cfg.pipeline);
    if (s.mode == ClientMode::kOpenLoop) std::printf(", offered %.0f req/s", cfg.rate);
    std::printf("\nrequests: %llu in %.3f s: %.0f req/s, %.3f Gbit/s\n", (unsigned long long)s.requests,
                s.elapsed_s, s.requests_per_s, s.gbit_per_s);
    std::printf("latency (us):");
    for (size_t i = 0; i < std::size(kPercentiles); ++i)
      std::printf(" %s %.1f", kPercentileNames[i], us(s.latency_ns.percentile(kPercentiles[i])));
    std::printf(" max %.1f mean %.1f\n", us(s.latency_ns.max()), s.latency_ns.mean() / 1000.0);
  }
  const ErrorCounts& e = s.errors;
  std::printf("errors: %llu (connect %llu, verify %llu, eof %llu, io %llu, stall %llu)\n",
              (unsigned long long)e.total(), (unsigned long long)e.connect, (unsigned long long)e.verify,
              (unsigned long long)e.eof, (unsigned long long)e.io, (unsigned long long)e.stall);
  std::fflush(stdout);
}

bool write_json(const ClientConfig& cfg, const Summary& s, const std::string& path) {
  using nlohmann::json;
  json j;
  j["mode"] = mode_name(s.mode);
  j["config"] = {{"host", cfg.host},          {"port", cfg.port},         {"connections", cfg.connections},
                 {"threads", cfg.threads},    {"size", cfg.size},         {"pipeline", cfg.pipeline},
                 {"duration_s", cfg.duration_s}, {"warmup_s", cfg.warmup_s}, {"rate", cfg.rate},
                 {"requests_per_connection", cfg.requests}, {"verify", cfg.verify},
                 {"bulk_bytes", cfg.bulk_bytes}};
  j["elapsed_s"] = s.elapsed_s;
  j["requests"] = s.requests;
  j["requests_per_s"] = s.requests_per_s;
  j["gbit_per_s"] = s.gbit_per_s;
  json lat;
  for (size_t i = 0; i < std::size(kPercentiles); ++i)
    lat[kPercentileNames[i]] = us(s.latency_ns.percentile(kPercentiles[i]));
  lat["max"] = us(s.latency_ns.max());
  lat["mean"] = s.latency_ns.mean() / 1000.0;
  lat["samples"] = s.latency_ns.count();
  j["latency_us"] = lat;
  j["errors"] = {{"total", s.errors.total()}, {"connect", s.errors.connect}, {"verify", s.errors.verify},
                 {"eof", s.errors.eof},       {"io", s.errors.io},           {"stall", s.errors.stall}};
  if (is_bulk(s.mode)) {
    json streams = json::array();
    for (size_t i = 0; i < s.streams.size(); ++i) {
      const BulkStream& st = s.streams[i];
      json one = {{"connection", st.connection}, {"bytes", st.bytes}, {"gbit_per_s", s.stream_gbit_per_s[i]},
                  {"complete", st.complete}, {"checksum_sent", st.tx_checksum}};
      // A one-way stream receives nothing; its check is the sink's --verify-pattern.
      if (s.mode == ClientMode::kBulk) one["checksum_received"] = st.rx_checksum;
      streams.push_back(std::move(one));
    }
    j["bulk"] = {{"streams", streams}, {"total_gbit_per_s", s.gbit_per_s}, {"jain_fairness", s.jain_fairness}};
  }
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out) {
    std::fprintf(stderr, "echo-client: --json %s: cannot write the file\n", path.c_str());
    return false;
  }
  return true;
}

}  // namespace virtuoso::bench
