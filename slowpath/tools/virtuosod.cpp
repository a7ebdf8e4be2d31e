// virtuosod: loads the config, starts the slow path then the fast path, supervises both (restarting
// both when one dies), stops both.
#include <unistd.h>

#include <chrono>
#include <optional>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "child_process.hpp"
#include "config/config.hpp"
#include "config/ipv4.hpp"
#include "ctl_client.hpp"
#include "eal_args.hpp"
#include "log_target.hpp"
#include "config_reload.hpp"
#include "restart_budget.hpp"
#include "run_dir.hpp"
#include "service_notify.hpp"
#include "supervisor.hpp"

namespace {

using namespace std::chrono_literals;
using virtuoso::tools::ChildProcess;
using virtuoso::tools::ServiceNotifier;
using virtuoso::tools::Supervisor;

constexpr auto kReadyTimeout = 30s;
constexpr auto kStopGrace = 10s;
constexpr unsigned kMaxRestarts = 5;  // after a child died; more within kRestartWindow ends the daemon
constexpr auto kRestartWindow = 60s;
constexpr int kExitFailure = 1;
constexpr int kExitBadConfig = 2;

struct Options {
  std::string config_path;      // as given: error messages name the file the way the user wrote it
  std::string config_absolute;  // for the slow path, which need not share our working directory
  std::string fastpath_bin;
  std::string slowpath_bin;
};

std::string own_directory() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

void check_executable(const std::string& path, const char* option) {
  if (access(path.c_str(), X_OK) != 0 || std::filesystem::is_directory(path)) {
    throw std::runtime_error(fmt::format("{} is not an executable file; build the project or pass {}",
                                         path, option));
  }
}

bool choose_hugepages(virtuoso::config::HugepageMode mode) {
  std::ifstream in("/proc/meminfo");
  std::stringstream text;
  text << in.rdbuf();
  uint64_t free_pages = virtuoso::tools::parse_hugepages_free(text.str()).value_or(0);
  bool use = virtuoso::tools::use_hugepages(mode, free_pages);
  if (mode == virtuoso::config::HugepageMode::kOn && free_pages == 0) {
    throw std::runtime_error(
        "fastpath.hugepages is \"on\" but /proc/meminfo shows no free hugepages; reserve some "
        "(echo 512 > /proc/sys/vm/nr_hugepages) or set hugepages = \"auto\"");
  }
  spdlog::info("step memory: {} free hugepages -> {}", free_pages,
               use ? "hugepages (--in-memory)" : "no hugepages (--no-huge)");
  return use;
}

// Sends virtuosod's own log lines and its children's to the configured target (stderr: as is).
void route_logs(const virtuoso::config::Config& cfg, std::vector<ChildProcess*> children) {
  if (cfg.log_target == virtuoso::config::LogTarget::kStderr) return;
  auto socket = std::make_shared<virtuoso::tools::LogTargetSocket>(cfg.log_target, cfg.log_socket);
  spdlog::info("step logs: to {}", socket->path());
  auto logger = std::make_shared<spdlog::logger>("virtuosod", std::make_shared<virtuoso::tools::LogTargetSink>(socket));
  logger->set_level(spdlog::get_level());
  spdlog::set_default_logger(logger);
  for (ChildProcess* c : children) {
    c->set_line_sink([socket](const ChildProcess& child, std::string_view line) {
      socket->write(virtuoso::tools::line_priority(line), child.name(), child.pid(), line);
    });
  }
}

// Why `failed` did not come up, in one line.
std::string failure_reason(const ChildProcess& failed, Supervisor::StartResult result) {
  std::string last = failed.last_output_line();
  if (result == Supervisor::StartResult::kTimedOut) {
    return fmt::format("no ready line within {} s{}", kReadyTimeout.count(),
                       last.empty() ? "" : "; last output: " + last);
  }
  if (!last.empty()) return last;
  if (failed.exited()) return fmt::format("it {}", failed.describe_exit());
  return "it closed its ready pipe without a ready line";
}

void start_child(ChildProcess& child, const std::string& path, const std::vector<std::string>& args) {
  spdlog::info("step {}: {} {}", child.name(), path, fmt::join(args, " "));
  child.start(path, args);
  spdlog::info("{} started, pid {}", child.name(), child.pid());
}

// Starts `child` and waits for its ready line; on failure returns the one-line reason.
bool bring_up(Supervisor& sup, ChildProcess& child, std::string& failure_line) {
  auto result = sup.wait_ready(child, kReadyTimeout);
  if (result == Supervisor::StartResult::kReady) {
    spdlog::info("{} is ready", child.name());
    return true;
  }
  if (result == Supervisor::StartResult::kStopRequested) {
    failure_line = "virtuosod: stopped by a signal before the daemon was ready";
    return false;
  }
  // The child that exited may be the other one (the slow path dying while the fast path starts).
  ChildProcess* failed = sup.first_exited();
  if (failed == nullptr) failed = &child;
  if (result == Supervisor::StartResult::kFailed) sup.collect_last_words(*failed, 2s);
  failure_line = fmt::format("virtuosod: {} failed to start: {}", failed->name(),
                             failure_reason(*failed, result));
  return false;
}

// Starts the slow path, then the fast path, each up to its ready line; on failure stops what
// started and returns the one-line reason.
std::optional<std::string> start_both(Supervisor& sup, ChildProcess& slow, ChildProcess& fast, const Options& opt,
                                      const virtuoso::config::Config& cfg, const std::string& slowpath_bin,
                                      const std::string& fastpath_bin, bool hugepages) {
  std::string failure;
  bool up = false;
  try {
    start_child(slow, slowpath_bin,
                virtuoso::tools::slowpath_args(opt.config_absolute, virtuoso::tools::kChildReadyFd));
    up = bring_up(sup, slow, failure);
    if (up) {
      start_child(fast, fastpath_bin, virtuoso::tools::fastpath_args(cfg, hugepages, virtuoso::tools::kChildReadyFd));
      up = bring_up(sup, fast, failure);
    }
  } catch (const std::exception& e) {
    failure = fmt::format("virtuosod: {}", e.what());
  }
  if (up) return std::nullopt;
  return failure;
}

int run(const Options& opt, const ServiceNotifier& notifier) {
  spdlog::info("step config: {}", opt.config_path);
  std::optional<virtuoso::tools::ConfigReloader> running;
  try {
    running.emplace(opt.config_path);
  } catch (const virtuoso::config::ConfigError& e) {
    fmt::print(stderr, "{}\n", e.what());
    return kExitBadConfig;
  }
  spdlog::set_level(spdlog::level::from_str(running->started().log_level));
  std::string dir = own_directory();
  std::string fastpath_bin = opt.fastpath_bin.empty() ? dir + "/virtuoso-fastpath" : opt.fastpath_bin;
  std::string slowpath_bin = opt.slowpath_bin.empty() ? dir + "/virtuoso-slowpath" : opt.slowpath_bin;
  spdlog::info("step binaries: {}, {}", slowpath_bin, fastpath_bin);
  check_executable(slowpath_bin, "--slowpath-bin");
  check_executable(fastpath_bin, "--fastpath-bin");
  bool hugepages = choose_hugepages(running->started().fastpath.hugepages);

  Supervisor sup;  // before any fork: the children must not miss being watched
  virtuoso::tools::RunDir run_dir(running->started().run_dir);
  spdlog::info("step run_dir: {}", running->started().run_dir);
  run_dir.claim();

  ChildProcess slow("virtuoso-slowpath");
  ChildProcess fast("virtuoso-fastpath");
  sup.watch(slow);
  sup.watch(fast);
  route_logs(running->started(), {&slow, &fast});
  auto shut_down = [&] {
    sup.stop(fast, kStopGrace);
    sup.stop(slow, kStopGrace);
    run_dir.remove_sockets();
  };

  virtuoso::tools::RestartBudget restarts(kMaxRestarts, kRestartWindow);
  for (unsigned generation = 0;; ++generation) {
    const virtuoso::config::Config& cfg = running->started();
    if (auto failure = start_both(sup, slow, fast, opt, cfg, slowpath_bin, fastpath_bin, hugepages)) {
      shut_down();
      fmt::print(stderr, "{}\n", *failure);
      return kExitFailure;
    }
    std::string ready = fmt::format("ready ip={}/{} port={} run_dir={} slowpath_pid={} fastpath_pid={}",
                                    virtuoso::config::format_ipv4(cfg.network.ip), cfg.network.prefix_len,
                                    cfg.port.pci.empty() ? cfg.port.devargs : cfg.port.pci, cfg.run_dir,
                                    slow.pid(), fast.pid());
    fmt::print("virtuosod: {}\n", ready);
    std::fflush(stdout);
    notifier.send(virtuoso::tools::notify_ready(getpid(), generation ? fmt::format("{} (restart {})", ready, generation)
                                                                     : ready));

    ChildProcess* died = sup.run_until_stop_or_exit([&] {
      auto now = std::chrono::steady_clock::now().time_since_epoch();  // CLOCK_MONOTONIC, as the protocol asks
      notifier.send(virtuoso::tools::notify_reloading(
          uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(now).count()), "reloading the configuration"));
      notifier.send(virtuoso::tools::notify_ready(getpid(), running->reload()));
    });
    if (died == nullptr) {
      notifier.send(virtuoso::tools::notify_stopping("stopping"));
      shut_down();
      spdlog::info("stopped");
      return 0;
    }
    sup.collect_last_words(*died, 1s);
    std::string why = fmt::format("{} {} unexpectedly{}", died->name(), died->describe_exit(),
                                  died->last_output_line().empty() ? "" : ": " + died->last_output_line());
    spdlog::error("{}", why);
    // Apps' connections cannot outlive either process: both stop, the apps' sockets fail, and
    // the stack starts again for new ones.
    shut_down();
    if (!restarts.allow(std::chrono::steady_clock::now())) {
      spdlog::error("{} restarts within {} s: giving up", restarts.max(),
                    std::chrono::duration_cast<std::chrono::seconds>(kRestartWindow).count());
      notifier.send(virtuoso::tools::notify_stopping(why));
      return kExitFailure;
    }
    slow.forget();
    fast.forget();
    notifier.send(virtuoso::tools::notify_status("restarting: " + why));
    spdlog::warn("restarting both processes; the apps' connections were reset, new ones work once ready");
    try {
      running.emplace(opt.config_path);  // a restart reads the file again, as a start would
    } catch (const virtuoso::config::ConfigError& e) {
      spdlog::error("restart: {}", e.what());
      notifier.send(virtuoso::tools::notify_stopping(e.what()));
      return kExitBadConfig;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("virtuosod");
  logger->set_pattern("[%H:%M:%S.%e] virtuosod %^%l%$: %v");
  spdlog::set_default_logger(logger);

  Options opt;
  CLI::App app{"Virtuoso daemon: starts and supervises virtuoso-slowpath and virtuoso-fastpath",
               "virtuosod"};
  app.add_option("--config", opt.config_path, "the TOML configuration file")->required();
  app.add_option("--fastpath-bin", opt.fastpath_bin,
                 "virtuoso-fastpath to run (default: next to virtuosod)");
  app.add_option("--slowpath-bin", opt.slowpath_bin,
                 "virtuoso-slowpath to run (default: next to virtuosod)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitBadConfig;
  }
  ServiceNotifier notifier = ServiceNotifier::from_environment();  // before any child is started
  std::error_code ec;
  auto absolute = std::filesystem::absolute(opt.config_path, ec);
  opt.config_absolute = ec ? opt.config_path : absolute.string();
  try {
    return run(opt, notifier);
  } catch (const std::exception& e) {
    fmt::print(stderr, "virtuosod: {}\n", e.what());
    return kExitFailure;
  }
}
