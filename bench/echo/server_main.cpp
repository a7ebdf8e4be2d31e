// echo-server: epoll TCP echo server (or one-way sink) for benchmarks; runs on Linux TCP or under the shim.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/net.hpp"
#include "server_modes.hpp"
#include "server_worker.hpp"

using namespace virtuoso::bench;

namespace {

// Set from the signal handler; the workers poll it between epoll waits.
std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

struct ServerConfig {
  std::string bind = "0.0.0.0";
  uint16_t port = 7007;
  unsigned threads = 1;
  bool blocking = false;      // a thread per connection, blocking calls
  bool shared_epoll = false;  // --threads workers on one epoll set
  EchoWorkerOptions worker;
};

int parse_args(int argc, char** argv, ServerConfig& cfg) {
  CLI::App app{"TCP echo server for benchmarks: echoes every byte it receives on each connection "
               "(or, with --sink, discards it)."};
  app.add_option("--port", cfg.port, "TCP port to listen on (0: any free port)")->capture_default_str();
  app.add_option("--threads", cfg.threads, "worker threads, each with its own epoll set")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  auto* blocking = app.add_flag("--blocking", cfg.blocking,
                                "a thread per connection with blocking accept, recv and send (echo only)");
  app.add_flag("--shared-epoll", cfg.shared_epoll,
               "the --threads workers share one epoll set, each ready connection armed EPOLLONESHOT "
               "for one of them (echo only)")
      ->excludes(blocking);
  app.add_option("--bind", cfg.bind, "IPv4 address to listen on")->capture_default_str();
  app.add_option("--work-ns", cfg.worker.work_ns, "busy-wait this many ns per request (simulated work)")
      ->capture_default_str();
  app.add_option("--request-size", cfg.worker.request_size,
                 "bytes that make one request for --work-ns (0: each read that returns data)")
      ->capture_default_str();
  auto* sink = app.add_flag("--sink", cfg.worker.sink,
                            "one-way bulk: read and discard everything, never write; close on the "
                            "peer's FIN (for echo-client --bulk BYTES --one-way)")
                   ->excludes("--blocking")
                   ->excludes("--shared-epoll");
  app.add_flag("--verify-pattern", cfg.worker.verify_pattern,
               "with --sink: check every connection's bytes against the one-way pattern; report "
               "mismatches per connection and exit 1 at the stop if any were seen")
      ->needs(sink);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return -1;
}

int make_listener(const ServerConfig& cfg, sockaddr_in& bound) {
  auto addr = ipv4_address(cfg.bind, cfg.port);
  if (!addr) {
    std::fprintf(stderr, "echo-server: --bind %s: give an IPv4 address such as 127.0.0.1\n",
                 cfg.bind.c_str());
    return -1;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::fprintf(stderr, "echo-server: socket: %s\n", errno_text(errno).c_str());
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr)) != 0 || listen(fd, 4096) != 0) {
    std::fprintf(stderr, "echo-server: cannot listen on %s: %s (is --port in use?)\n",
                 to_string(*addr).c_str(), errno_text(errno).c_str());
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) != 0) bound = *addr;
  if (!set_nonblocking(fd)) {
    std::fprintf(stderr, "echo-server: fcntl(O_NONBLOCK): %s\n", errno_text(errno).c_str());
    ::close(fd);
    return -1;
  }
  return fd;
}

// --blocking or --shared-epoll: serves until stopped, then reports.
int run_mode(const ServerConfig& cfg, int lfd, const sockaddr_in& bound) {
  std::printf("echo-server: listening on %s (%s)\n", to_string(bound).c_str(),
              cfg.blocking ? "a thread per connection, blocking" : "threads sharing one epoll set");
  std::fflush(stdout);
  ModeStats stats;
  if (cfg.blocking) {
    run_blocking(lfd, g_stop, stats);
  } else {
    run_shared_epoll(lfd, cfg.threads, g_stop, stats);
  }
  ::close(lfd);
  std::fprintf(stderr,
               "echo-server: stopped: %llu connections, %llu bytes echoed, %llu reset, at most %u "
               "threads in socket calls at once\n",
               (unsigned long long)stats.accepted.load(), (unsigned long long)stats.bytes.load(),
               (unsigned long long)stats.resets.load(), stats.most_in_call.load());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ServerConfig cfg;
  if (int rc = parse_args(argc, argv, cfg); rc >= 0) return rc;

  std::signal(SIGPIPE, SIG_IGN);  // a peer that vanishes mid-write is an error return, not a kill
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  sockaddr_in bound{};
  int lfd = make_listener(cfg, bound);
  if (lfd < 0) return 1;

  if (cfg.blocking || cfg.shared_epoll) return run_mode(cfg, lfd, bound);

  std::vector<std::unique_ptr<EchoWorker>> workers;
  for (unsigned i = 0; i < cfg.threads; ++i) {
    workers.push_back(std::make_unique<EchoWorker>(lfd, cfg.worker, g_stop));
    std::string err;
    if (!workers.back()->init(err)) {
      std::fprintf(stderr, "echo-server: %s\n", err.c_str());
      return 1;
    }
  }
  std::printf("echo-server: listening on %s%s\n", to_string(bound).c_str(),
              !cfg.worker.sink ? "" : cfg.worker.verify_pattern ? " (sink, verifying the pattern)" : " (sink)");
  std::fflush(stdout);

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < cfg.threads; ++i) threads.emplace_back([&w = *workers[i]] { w.run(); });
  workers[0]->run();
  for (auto& t : threads) t.join();

  EchoWorkerStats total;
  std::string per_thread;
  for (auto& w : workers) {
    total.accepted += w->stats().accepted;
    total.bytes += w->stats().bytes;
    total.resets += w->stats().resets;
    total.mismatched_bytes += w->stats().mismatched_bytes;
    total.mismatched_conns += w->stats().mismatched_conns;
    per_thread += (per_thread.empty() ? "" : "/") + std::to_string(w->stats().accepted);
  }
  workers.clear();
  ::close(lfd);
  std::fprintf(stderr, "echo-server: stopped: %llu connections (per thread %s), %llu bytes %s, %llu reset\n",
               (unsigned long long)total.accepted, per_thread.c_str(), (unsigned long long)total.bytes,
               cfg.worker.sink ? "received" : "echoed", (unsigned long long)total.resets);
  if (!cfg.worker.verify_pattern) return 0;
  std::fprintf(stderr, "echo-server: pattern mismatches: %llu bytes on %llu connections\n",
               (unsigned long long)total.mismatched_bytes, (unsigned long long)total.mismatched_conns);
  return total.mismatched_conns == 0 ? 0 : 1;
}
