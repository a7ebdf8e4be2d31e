// echo-client command line: flags, ranges, and which flags cannot be combined.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "client_config.hpp"

namespace virtuoso::bench {

const char* mode_name(ClientMode m) {
  switch (m) {
    case ClientMode::kClosedLoop: return "closed-loop";
    case ClientMode::kOpenLoop: return "open-loop";
    case ClientMode::kConnectPerRequest: return "connect-per-request";
    case ClientMode::kBulk: return "bulk";
    case ClientMode::kBulkOneWay: return "bulk-one-way";
  }
  return "?";
}

namespace {

void add_request_flags(CLI::App& app, ClientConfig& cfg) {
  app.add_option("--size", cfg.size, "bytes per request (the echo is the same size)")
      ->check(CLI::Range(1u, 1u << 30))
      ->capture_default_str();
  app.add_option("--pipeline", cfg.pipeline, "requests in flight per connection (closed loop)")
      ->check(CLI::Range(1u, 1u << 16))
      ->capture_default_str();
  app.add_option("--duration", cfg.duration_s, "seconds to measure after the warm-up")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  app.add_option("--warmup", cfg.warmup_s, "seconds of load before measuring starts")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("--rate", cfg.rate,
                 "open loop: requests/s over all connections, sent on schedule whether or not "
                 "echoes came back (latency counts from the scheduled time); 0: closed loop")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--requests", cfg.requests,
                 "stop after this many measured round trips per connection instead of --duration");
  app.add_flag("--connect-per-request", cfg.connect_per_request,
               "each request on a new connection: connect, send, read the echo, close");
  app.add_flag("--verify", cfg.verify,
               "fill requests with a pattern from (connection, request index) and check every echoed byte");
}

}  // namespace

int parse_client_args(int argc, char** argv, ClientConfig& cfg) {
  CLI::App app{"Load generator for a TCP echo server: request/response latency and throughput, "
               "connection setup rate, or bulk streams."};
  app.add_option("--host", cfg.host, "server address")->capture_default_str();
  app.add_option("--port", cfg.port, "server port")->capture_default_str();
  app.add_option("--connections", cfg.connections, "concurrent connections (or connection slots)")
      ->check(CLI::Range(1u, 1u << 20))
      ->capture_default_str();
  app.add_option("--threads", cfg.threads, "client threads; connections are spread over them")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  add_request_flags(app, cfg);
  auto* bulk = app.add_option("--bulk", cfg.bulk_bytes,
                              "bulk mode: send this many pseudo-random bytes per connection while "
                              "reading and verifying the echo; reports Gbit/s and fairness")
                   ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 50));
  auto* one_way = app.add_flag("--one-way", cfg.one_way,
                               "one-way streams to an echo-server --sink: --bulk BYTES per connection "
                               "or, without --bulk, for --duration; each stream ends with a FIN and "
                               "counts until the server's close (delivery to the server); the sink's "
                               "--verify-pattern checks the bytes");
  app.add_flag("--quiet", cfg.quiet, "no progress line every second");
  app.add_option("--json", cfg.json_path, "also write the results as JSON to this file");
  for (const char* other : {"--size", "--pipeline", "--duration", "--warmup", "--rate", "--requests",
                            "--connect-per-request"})
    bulk->excludes(other);
  for (const char* other : {"--size", "--pipeline", "--warmup", "--rate", "--requests",
                            "--connect-per-request", "--verify"})
    one_way->excludes(other);
  app.get_option("--connect-per-request")->excludes("--pipeline")->excludes("--rate");
  app.get_option("--requests")->excludes("--duration");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (cfg.threads > cfg.connections) {
    std::fprintf(stderr, "echo-client: --threads %u exceeds --connections %u: give each thread at "
                 "least one connection\n", cfg.threads, cfg.connections);
    return 2;
  }
  if (cfg.requests == 0 && app.count("--requests")) {
    std::fprintf(stderr, "echo-client: --requests 0: give a positive count, or leave it out to "
                 "run for --duration\n");
    return 2;
  }
  return -1;
}

}  // namespace virtuoso::bench
