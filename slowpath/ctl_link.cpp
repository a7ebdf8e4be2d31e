// virtuoso-slowpath: ctl.sock, one text request per connection ("status\n", "status connections\n", "faults set rx.loss=0.1\n",
// "switch add web 10.1.2.0/24 192.0.2.7\n"),
// one JSON answer; fault settings are published to the fast path through the control region.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "core/status.hpp"
#include "daemon.hpp"
#include "virtuoso/shm/atomic.hpp"

namespace virtuoso::slowpath {
namespace {
constexpr size_t kMaxRequest = 1024;
}

void Daemon::accept_ctl() {
  for (;;) {
    UniqueFd fd = accept_unix(ctl_listen_.get());
    if (!fd) return;
    add_ctl_conn(std::move(fd), false);
  }
}

void Daemon::add_ctl_conn(UniqueFd fd, bool http) {
  // Reads never block (MSG_DONTWAIT); the answer, a few kilobytes, is written blocking with a
  // timeout, so a client that does not read cannot stall the loop for long.
  fcntl(fd.get(), F_SETFL, fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  timeval tv{1, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  uint32_t id = next_conn_id_++;
  if (next_conn_id_ == 0) next_conn_id_ = 1;
  CtlConn& c = ctls_[id];
  c.fd = std::move(fd);
  c.http = http;
  watch(c.fd.get(), Tag::kCtl, id);
}

void Daemon::on_ctl_readable(uint32_t id) {
  auto it = ctls_.find(id);
  if (it == ctls_.end()) return;
  CtlConn& c = it->second;
  char buf[kMaxRequest];
  ssize_t n = recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  bool eof = n <= 0;
  if (n > 0) c.buf.append(buf, size_t(n));
  size_t nl = c.buf.find('\n');
  // A scrape's answer waits for the end of its headers: closing with some unread would reset the
  // connection under the answer.
  bool whole = c.http ? c.buf.find("\r\n\r\n") != std::string::npos || c.buf.find("\n\n") != std::string::npos
                      : nl != std::string::npos;
  bool complete = whole || (eof && !c.buf.empty()) || c.buf.size() > kMaxRequest;
  if (complete) {
    std::string line = c.buf.substr(0, nl);
    std::string answer = c.http ? metrics_answer(line) : ctl_answer(line) + "\n";
    size_t off = 0;
    while (off < answer.size()) {
      ssize_t w = send(c.fd.get(), answer.data() + off, answer.size() - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      off += size_t(w);
    }
  }
  if (complete || eof) {
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
    ctls_.erase(it);
  }
}

std::string Daemon::ctl_answer(std::string_view request) {
  while (!request.empty() && (request.back() == '\r' || request.back() == ' ')) request.remove_suffix(1);
  if (request == "status" || request == "status connections") {
    nlohmann::json status = status_json(cp_, *ctrl_.header(), fp_attached_);
    status["faults"] = faults_status_json(*ctrl_.header(), faults_in_effect());
    if (request != "status") status["connections"] = connections_json(cp_);
    auto level = spdlog::level::to_string_view(spdlog::get_level());
    status["log_level"] = std::string(level.data(), level.size());
    return status.dump();
  }
  if (request.substr(0, 10) == "log-level ") return log_level_answer(request.substr(10));
  if (request == "faults" || request.substr(0, 7) == "faults ") return faults_answer(request.substr(6));
  if (request.substr(0, 7) == "switch ") return switch_answer(request.substr(7));
  if (request.substr(0, 8) == "tenants ") return tenants_answer(request.substr(8));
  return nlohmann::json{{"error", "unknown request"}}.dump();
}

// "LEVEL": the slow path's log level from now on (spdlog's names; "warn" also as "warning").
std::string Daemon::log_level_answer(std::string_view name) {
  static constexpr std::string_view kNames[] = {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"};
  if (std::find(std::begin(kNames), std::end(kNames), name) == std::end(kNames)) {
    return nlohmann::json{{"error", fmt::format("'{}' is not a log level; use trace, debug, info, warn, error, "
                                                "critical or off", name)}}.dump();
  }
  spdlog::level::level_enum level = spdlog::level::from_str(std::string(name == "warning" ? "warn" : name));
  spdlog::info("log level {} from virtuosoctl", name);
  spdlog::set_level(level);
  return nlohmann::json{{"ok", true}}.dump();
}

// "add TENANT PREFIX VTEP" / "remove TENANT PREFIX": the virtual switch's remote entries.
std::string Daemon::switch_answer(std::string_view args) {
  std::vector<std::string_view> words;
  for (size_t pos = 0; pos < args.size();) {
    size_t end = std::min(args.find(' ', pos), args.size());
    if (end > pos) words.push_back(args.substr(pos, end - pos));
    pos = end + 1;
  }
  std::string error;
  if (words.size() == 4 && words[0] == "add") {
    error = cp_.switch_add(words[1], words[2], words[3]);
  } else if (words.size() == 3 && words[0] == "remove") {
    error = cp_.switch_remove(words[1], words[2]);
  } else {
    error = "unknown switch request; use: switch add TENANT PREFIX VTEP, switch remove TENANT PREFIX";
  }
  if (!error.empty()) return nlohmann::json{{"error", error}}.dump();
  return nlohmann::json{{"ok", true}}.dump();
}

// What the fast path runs with: the config's [faults] until something was published.
abi::FaultSettings Daemon::faults_in_effect() const {
  const abi::FaultControl& block = ctrl_.header()->faults;
  return block.generation == 0 ? cfg_.faults.settings : block.settings;
}

// "set PAIRS" changes the named settings and keeps the others; "clear" turns every fault off
// (the seed stays). Published like a seqlock: odd generation while the settings are written.
std::string Daemon::faults_answer(std::string_view args) {
  while (!args.empty() && args.front() == ' ') args.remove_prefix(1);
  abi::FaultControl& block = ctrl_.header()->faults;
  abi::FaultSettings next = faults_in_effect();
  if (args.substr(0, 4) == "set ") {
    if (std::string bad = abi::apply_fault_spec(args.substr(4), next); !bad.empty())
      return nlohmann::json{{"error", bad}}.dump();
  } else if (args == "clear") {
    next = abi::kNoFaultSettings;
    next.seed = faults_in_effect().seed;
  } else if (!args.empty()) {
    return nlohmann::json{{"error", "unknown faults request; use: faults set KEY=VALUE..., faults clear"}}.dump();
  }
  if (!args.empty()) {
    if (!fp_attached_ || shm::load_acquire(block.fp_injector) != 1) {
      return nlohmann::json{{"error", "the fast path runs without the fault injector; set enabled = true "
                                      "under [faults] in the config and restart the daemon"}}
          .dump();
    }
    uint32_t gen = block.generation;
    shm::store_relaxed(block.generation, gen + 1);
    std::atomic_thread_fence(std::memory_order_release);
    block.settings = next;
    shm::store_release(block.generation, gen + 2);
    spdlog::info("faults: generation {}: {}", gen + 2, abi::format_fault_spec(next));
  }
  return nlohmann::json{{"ok", true},
                        {"generation", block.generation},
                        {"settings", abi::format_fault_spec(faults_in_effect())}}
      .dump();
}

}  // namespace virtuoso::slowpath
