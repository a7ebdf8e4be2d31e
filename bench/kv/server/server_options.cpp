// kv-server command line parsing with CLI11.
#include "kv/server/server_options.hpp"

#include <arpa/inet.h>

#include <CLI/CLI.hpp>
#include <cstdio>

namespace virtuoso::kv {

std::optional<ServerOptions> parse_server_options(int argc, char** argv, int& exit_code) {
  ServerOptions opt;
  CLI::App app{
      "kv-server: an in-memory key-value server speaking the memcached text protocol\n"
      "(get/gets multi-key, set/add/replace, delete, flush_all, stats, version, quit)"};
  app.add_option("--bind", opt.bind, "IPv4 address to listen on")->capture_default_str();
  app.add_option("--port", opt.port, "TCP port to listen on")
      ->capture_default_str()
      ->check(CLI::Range(1, 65535));
  app.add_option("--threads", opt.threads, "worker threads, each with its own epoll set")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--memory", opt.memory_mb,
                 "store limit in MiB (least recently used items are evicted beyond it)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    exit_code = 0;
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "kv-server: %s (see --help)\n", e.what());
    exit_code = 2;
    return std::nullopt;
  }
  in_addr addr{};
  if (inet_pton(AF_INET, opt.bind.c_str(), &addr) != 1) {
    std::fprintf(stderr, "kv-server: --bind '%s' is not an IPv4 address (e.g. 127.0.0.1)\n",
                 opt.bind.c_str());
    exit_code = 2;
    return std::nullopt;
  }
  exit_code = 0;
  return opt;
}

}  // namespace virtuoso::kv
