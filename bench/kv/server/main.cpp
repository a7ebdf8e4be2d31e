// kv-server: a memcached-protocol key-value server for benchmarking the stack (Linux or shim).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <thread>
#include <vector>

#include "kv/core/counters.hpp"
#include "kv/core/store.hpp"
#include "kv/server/server_options.hpp"
#include "kv/server/worker.hpp"

using namespace virtuoso::kv;

namespace {

constexpr std::string_view kVersion = "1.6.0-virtuoso";

int open_listener(const ServerOptions& opt) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::fprintf(stderr, "kv-server: socket: %s\n", std::strerror(errno));
    return -1;
  }
  const int one = 1;
  // Lets a restarted server bind while old connections sit in TIME_WAIT.
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(opt.port);
  inet_pton(AF_INET, opt.bind.c_str(), &addr.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    std::fprintf(stderr,
                 "kv-server: cannot bind %s:%u: %s (is another server on it? pick --port)\n",
                 opt.bind.c_str(), opt.port, std::strerror(errno));
    close(fd);
    return -1;
  }
  if (listen(fd, 1024) != 0) {
    std::fprintf(stderr, "kv-server: listen: %s\n", std::strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  int exit_code = 0;
  const auto opt = parse_server_options(argc, argv, exit_code);
  if (!opt) return exit_code;

  // Signals are taken synchronously by main (sigwait), never by a worker mid-request.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a peer that vanishes mid-write is an EPIPE, not a crash

  const int listen_fd = open_listener(*opt);
  if (listen_fd < 0) return 1;

  Store store(opt->memory_mb << 20);
  std::vector<std::unique_ptr<WorkerCounters>> counters;
  ServerInfo info;
  info.version = kVersion;
  info.pid = getpid();
  info.start_time = std::time(nullptr);
  info.threads = opt->threads;
  info.store = &store;
  for (uint32_t i = 0; i < opt->threads; ++i) {
    counters.push_back(std::make_unique<WorkerCounters>());
    info.workers.push_back(counters.back().get());
  }

  std::vector<std::unique_ptr<Worker>> workers;
  try {
    for (uint32_t i = 0; i < opt->threads; ++i) {
      workers.push_back(std::make_unique<Worker>(listen_fd, store, info, *counters[i]));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kv-server: %s\n", e.what());
    return 1;
  }
  std::atomic<bool> stop{false};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (auto& worker : workers) {
    threads.emplace_back([&, w = worker.get()] {
      try {
        w->run(stop);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "kv-server: worker stopped: %s\n", e.what());
        failed.fetch_add(1);
        stop.store(true);
        kill(getpid(), SIGTERM);  // wakes main's sigwait so that the server shuts down
      }
    });
  }
  std::printf("kv-server: listening on %s:%u (threads %u, memory %llu MiB)\n", opt->bind.c_str(),
              opt->port, opt->threads, static_cast<unsigned long long>(opt->memory_mb));
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  stop.store(true);
  for (auto& t : threads) t.join();
  workers.clear();
  close(listen_fd);
  const StoreStats s = store.stats();
  std::printf("kv-server: stopped (items %llu, evictions %llu)\n",
              static_cast<unsigned long long>(s.curr_items),
              static_cast<unsigned long long>(s.evictions));
  return failed.load() == 0 ? 0 : 1;
}
