// virtuoso-slowpath: command line, logging, then the daemon loop until SIGINT/SIGTERM.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "config/config.hpp"
#include "daemon.hpp"

namespace {

void setup_logging(const std::string& level_name) {
  auto logger = spdlog::stderr_color_mt("slowpath");
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [slowpath] [%^%l%$] %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level_name));
}

bool valid_level(const std::string& s) {
  for (const char* l : {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"})
    if (s == l) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  int ready_fd = -1;
  std::string log_level;
  CLI::App app{"Virtuoso slow path: handshakes, teardown, timers, ARP and the app registry", "virtuoso-slowpath"};
  app.add_option("--config", config_path, "the daemon's TOML configuration file")->required();
  app.add_option("--ready-fd", ready_fd, "write \"ready\\n\" to this descriptor once the sockets listen, then close it");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off (default: log_level in the config)");
  CLI11_PARSE(app, argc, argv);

  virtuoso::config::Config cfg;
  try {
    cfg = virtuoso::config::load_config(config_path);
  } catch (const virtuoso::config::ConfigError& e) {
    fmt::print(stderr, "virtuoso-slowpath: {}\n", e.what());
    return 2;
  }
  std::string level = log_level.empty() ? cfg.log_level : log_level;
  if (!valid_level(level)) {
    fmt::print(stderr, "virtuoso-slowpath: --log-level '{}' is not one of trace, debug, info, warn, error, off\n", level);
    return 2;
  }
  setup_logging(level);
  std::signal(SIGPIPE, SIG_IGN);  // a vanished peer is an error return, not a signal

  try {
    virtuoso::slowpath::Daemon daemon(cfg);
    if (ready_fd >= 0) {
      const char line[] = "ready\n";
      if (write(ready_fd, line, sizeof line - 1) != ssize_t(sizeof line - 1))
        spdlog::warn("cannot write to --ready-fd {}: {}", ready_fd, std::strerror(errno));
      close(ready_fd);
    }
    daemon.run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "virtuoso-slowpath: {}\n", e.what());
    return 1;
  }
  return 0;
}
