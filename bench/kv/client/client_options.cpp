// kv-client command line: options, ranges and the combinations that make no sense.
#include "kv/client/client_options.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "kv/core/keyspace.hpp"
#include "kv/core/limits.hpp"

namespace virtuoso::kv {
namespace {

void add_workload_options(CLI::App& app, ClientOptions& opt) {
  app.add_option("--size", opt.size, "value bytes of every set")
      ->check(CLI::Range(uint32_t{1}, static_cast<uint32_t>(kMaxValueBytes)))
      ->capture_default_str();
  app.add_option("--key-size", opt.key_size, "key bytes ('k' and a zero-padded index)")
      ->check(CLI::Range(uint32_t{2}, static_cast<uint32_t>(kMaxKeyBytes)))
      ->capture_default_str();
  app.add_option("--keys", opt.keys, "number of distinct keys")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40))
      ->capture_default_str();
  app.add_option("--get-ratio", opt.get_ratio, "share of gets; the rest are sets")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option_function<std::string>(
         "--dist",
         [&opt](const std::string& name) {
           opt.dist = name == "zipf" ? KeyDist::kZipf : KeyDist::kUniform;
         },
         "key popularity: uniform or zipf")
      ->check(CLI::IsMember({"uniform", "zipf"}))
      ->default_str("uniform");
  app.add_option("--zipf-s", opt.zipf_s, "Zipf exponent (with --dist zipf)")
      ->check(CLI::Range(0.01, 10.0))
      ->capture_default_str();
  app.add_flag("--verify", opt.verify,
               "values derive from the key: check every hit byte for byte, and fail on a miss of a "
               "key whose set was acknowledged (the key space must fit in the server's memory)");
  app.add_flag("--preload", opt.preload, "set every key once before the warm-up");
  app.add_option("--seed", opt.seed, "seed of the key, operation and arrival sequences")
      ->capture_default_str();
}

void add_run_options(CLI::App& app, ClientOptions& opt) {
  app.add_option("--pipeline", opt.pipeline, "requests in flight per connection (closed loop)")
      ->check(CLI::Range(1u, 1u << 16))
      ->capture_default_str();
  app.add_option("--duration", opt.duration_s, "seconds to measure after the warm-up")
      ->check(CLI::Range(0.001, 86400.0))
      ->capture_default_str();
  app.add_option("--warmup", opt.warmup_s, "seconds of load before measuring starts")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("--rate", opt.rate,
                 "open loop: requests/s over all connections with exponential gaps, sent on "
                 "schedule whether or not replies came back (latency counts from the scheduled "
                 "time); 0: closed loop")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--requests", opt.requests,
                 "measured requests per connection, instead of --duration");
}

}  // namespace

int parse_client_options(int argc, char** argv, ClientOptions& opt) {
  CLI::App app{
      "kv-client: load generator for a memcached text-protocol server (get/set mix, uniform or "
      "Zipf keys, closed or open loop), reporting throughput, hit ratio and latency percentiles."};
  app.add_option("--host", opt.host, "server address")->capture_default_str();
  app.add_option("--port", opt.port, "server port")->capture_default_str();
  app.add_option("--connections", opt.connections, "concurrent connections")
      ->check(CLI::Range(1u, 1u << 20))
      ->capture_default_str();
  app.add_option("--threads", opt.threads, "client threads; connections are spread over them")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  add_workload_options(app, opt);
  add_run_options(app, opt);
  app.add_flag("--quiet", opt.quiet, "no progress line every second");
  app.add_option("--json", opt.json_path, "also write the results as JSON to this file");
  app.get_option("--requests")->excludes("--duration");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "kv-client: %s (see --help)\n", e.what());
    return 2;
  }
  if (opt.threads > opt.connections) {
    std::fprintf(stderr,
                 "kv-client: --threads %u exceeds --connections %u: give each thread at least "
                 "one connection\n",
                 opt.threads, opt.connections);
    return 2;
  }
  if (opt.requests == 0 && app.count("--requests") > 0) {
    std::fprintf(stderr,
                 "kv-client: --requests 0: give a positive count, or leave it out to run for "
                 "--duration\n");
    return 2;
  }
  const std::size_t need = KeySpace::min_key_size(opt.keys);
  if (opt.key_size < need) {
    std::fprintf(stderr,
                 "kv-client: --key-size %u cannot name %llu keys: use --key-size %zu or more, or "
                 "fewer --keys\n",
                 opt.key_size, static_cast<unsigned long long>(opt.keys), need);
    return 2;
  }
  return -1;
}

}  // namespace virtuoso::kv
