// virtuosoctl: asks a running daemon for its status, counters and connections, or changes its run-time
// settings, over run_dir/ctl.sock; checks configuration files.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "ctl_client.hpp"
#include "flows_view.hpp"
#include "stats_view.hpp"
#include "status_format.hpp"
#include "virtuoso/abi/unix_proto.hpp"

namespace {

using virtuoso::tools::ctl_socket_path;

// Exit codes, stable: scripts rely on them (docs/deployment.md, "virtuosoctl").
constexpr int kExitReady = 0;      // done; for status: the daemon is ready
constexpr int kExitFailure = 1;    // no daemon answered, it refused the change, or it did not apply it in time
constexpr int kExitBadConfig = 2;  // bad usage, or config check found the file invalid
constexpr int kExitNotReady = 3;   // status: a daemon answered but is not ready

constexpr const char* kExitCodes =
    "Exit codes: 0 done (status: the daemon is ready); 1 no daemon answered, or it refused or did not "
    "apply a change; 2 bad usage, or config check found the file invalid; 3 status: the daemon is not "
    "ready.";

// The daemon's answer to `request`, or nullopt after printing why there is none.
std::optional<std::string> ask(const std::string& path, const std::string& request) {
  std::string why;
  auto answer = virtuoso::tools::ctl_ask(path, request, why);
  if (!answer) fmt::print(stderr, "virtuosoctl: {}\n", why);
  return answer;
}

// The answer to `request` as JSON, or nullopt after printing why there is none.
std::optional<nlohmann::ordered_json> ask_json(const std::string& path, const std::string& request) {
  std::string why;
  auto answer = virtuoso::tools::ctl_ask_json(path, request, why);
  if (!answer) fmt::print(stderr, "virtuosoctl: {}\n", why);
  return answer;
}

// The answer to a change request, or nullopt after printing why there is none or the daemon's
// refusal ("virtuosoctl: WHAT: ...").
std::optional<nlohmann::ordered_json> ask_change(const std::string& path, const std::string& request, const char* what) {
  std::string why;
  auto answer = virtuoso::tools::ctl_change(path, request, why);
  if (!answer) fmt::print(stderr, "virtuosoctl: {}: {}\n", what, why);
  return answer;
}

// What a command that changed something prints: its JSON, or a line for people.
void done(bool json, const nlohmann::ordered_json& what, const std::string& line) {
  if (json) {
    fmt::print("{}\n", what.dump());
  } else {
    fmt::print("{}\n", line);
  }
}

int status(const std::string& run_dir, bool json, bool connections) {
  std::string path = ctl_socket_path(run_dir);
  auto answer = ask(path, connections ? "status connections\n" : "status\n");
  if (!answer) return kExitFailure;
  nlohmann::ordered_json status;
  try {
    status = nlohmann::ordered_json::parse(*answer);
  } catch (const nlohmann::json::exception& e) {
    fmt::print(stderr, "virtuosoctl: the answer from {} is not JSON: {}\n", path, e.what());
    return kExitFailure;
  }
  if (json) {
    while (!answer->empty() && (answer->back() == '\n' || answer->back() == '\r')) answer->pop_back();
    fmt::print("{}\n", *answer);
  } else {
    fmt::print("{}", virtuoso::tools::format_status(status));
  }
  bool ready = status.is_object() && status.value("ready", false);
  return ready ? kExitReady : kExitNotReady;
}

// "stats": port, fast-path cores, drops by reason, TCP recovery, CPU time and traffic by account.
int stats(const std::string& run_dir, bool json) {
  auto status = ask_json(ctl_socket_path(run_dir), "status\n");
  if (!status) return kExitFailure;
  nlohmann::ordered_json s = virtuoso::tools::stats_of(*status);
  if (json) {
    fmt::print("{}\n", s.dump());
  } else {
    fmt::print("{}", virtuoso::tools::format_stats(s));
  }
  return kExitReady;
}

// "watch": the rates of the last interval, refreshed every interval, `count` times (0: until
// interrupted). A terminal gets one screen redrawn; JSON is one object per line.
int watch(const std::string& run_dir, bool json, double interval_s, unsigned count) {
  std::string path = ctl_socket_path(run_dir);
  auto sample = [&]() -> std::optional<std::pair<nlohmann::ordered_json, std::chrono::steady_clock::time_point>> {
    auto status = ask_json(path, "status\n");
    if (!status) return std::nullopt;
    return std::make_pair(virtuoso::tools::stats_of(*status), std::chrono::steady_clock::now());
  };
  auto last = sample();
  if (!last) return kExitFailure;
  bool screen = !json && isatty(STDOUT_FILENO);
  auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(interval_s));
  for (unsigned shown = 0; count == 0 || shown < count; ++shown) {
    std::this_thread::sleep_until(last->second + period);  // the refresh interval is the point
    auto now = sample();
    if (!now) return kExitFailure;
    double seconds = std::chrono::duration<double>(now->second - last->second).count();
    nlohmann::ordered_json rates = virtuoso::tools::stats_rates(last->first, now->first, seconds);
    if (json) {
      fmt::print("{}\n", rates.dump());
    } else {
      if (screen) fmt::print("\033[H\033[2J");
      fmt::print("{}{}", virtuoso::tools::format_rates(rates), screen ? "" : "\n");
    }
    std::fflush(stdout);
    last = std::move(now);
  }
  return kExitReady;
}

// "flows": the connections, one line each (or the JSON array), filtered.
int flows(const std::string& run_dir, const virtuoso::tools::FlowFilter& filter, bool json) {
  std::string path = ctl_socket_path(run_dir);
  auto status = ask_json(path, "status connections\n");
  if (!status) return kExitFailure;
  nlohmann::ordered_json list = virtuoso::tools::select_flows(*status, filter);
  if (json) {
    fmt::print("{}\n", list.dump());
  } else {
    fmt::print("{}", virtuoso::tools::format_flows(list));
  }
  return kExitReady;
}

// "tenants": each tenant's network and what its apps hold, one line each (or the JSON array).
int tenants(const std::string& run_dir, bool json) {
  std::string path = ctl_socket_path(run_dir);
  auto status = ask_json(path, "status\n");
  if (!status) return kExitFailure;
  const auto& list = (*status)["tenants"];
  if (json) {
    fmt::print("{}\n", list.dump());
    return kExitReady;
  }
  if (!list.is_array() || list.empty()) {
    fmt::print("no tenants: plain mode, every app uses {}\n", status->value("ip", std::string("?")));
    return kExitReady;
  }
  fmt::print("{:<16} {:>8} {:>5} {:>6} {:>9}  {:<24} {}\n", "TENANT", "VNI", "APPS", "FLOWS", "LISTENERS",
             "ADDRESSES", "REMOTE (prefix -> vtep)");
  for (const auto& t : list) {
    std::vector<std::string> addresses, remotes;
    for (const auto& a : t["addresses"]) addresses.push_back(a.get<std::string>());
    for (const auto& r : t["remotes"])
      remotes.push_back(fmt::format("{} -> {}", r["prefix"].get<std::string>(), r["vtep"].get<std::string>()));
    fmt::print("{:<16} {:>8} {:>5} {:>6} {:>9}  {:<24} {}\n", t["name"].get<std::string>(), t["vni"].get<uint32_t>(),
               t["apps"].get<uint32_t>(), t["flows"].get<uint32_t>(), t["listeners"].get<uint32_t>(),
               fmt::format("{}", fmt::join(addresses, ",")), fmt::format("{}", fmt::join(remotes, ", ")));
  }
  // The fast path's CPU time per account: the tenants' and the host's.
  const auto& budgets = (*status)["budgets"];
  fmt::print("\nfast-path CPU time (budgets {}, period {} us, burst {} periods):\n",
             budgets.value("enforce", false) ? "enforced" : "counted only", budgets.value("period_us", 0u),
             budgets.value("burst_periods", 0u));
  fmt::print("{:<16} {:>6} {:>7} {:>14} {:>12} {:>12} {:>12} {:>11} {:>8}\n", "ACCOUNT", "WEIGHT", "SHARE",
             "CYCLES", "BUDGET", "DEFERRED_RX", "DROPPED_RX", "DEFERRED_TX", "BACKLOG");
  auto cpu_line = [](const std::string& name, const nlohmann::ordered_json& c) {
    fmt::print("{:<16} {:>6} {:>6.1f}% {:>14} {:>12} {:>12} {:>12} {:>11} {:>8}\n", name, c.value("weight", 0u),
               100.0 * c.value("share", 0.0), c.value("cycles", uint64_t{0}), c.value("budget", int64_t{0}),
               c.value("deferred_rx", uint64_t{0}), c.value("dropped_rx", uint64_t{0}),
               c.value("deferred_tx", uint64_t{0}), c.value("backlog", 0u));
  };
  for (const auto& t : list) cpu_line(t["name"].get<std::string>(), t["cpu"]);
  cpu_line("(host)", budgets["host"]);
  return kExitReady;
}

// "faults set PAIRS" / "faults clear": returns once the fast path applied the new settings, so a
// script may rely on them from the next line on. Without a change, prints the faults status.
int faults(const std::string& run_dir, const std::string& action, const std::vector<std::string>& pairs, bool json) {
  std::string path = ctl_socket_path(run_dir);
  if (action.empty()) {
    auto status = ask_json(path, "status\n");
    if (!status) return kExitFailure;
    nlohmann::ordered_json f{{"faults", (*status)["faults"]}};
    if (json) {
      fmt::print("{}\n", f["faults"].dump());
    } else {
      fmt::print("{}", virtuoso::tools::format_status(f));
    }
    return kExitReady;
  }
  std::string request = "faults " + action;
  for (const auto& p : pairs) request += " " + p;
  auto answer = ask_change(path, request + "\n", "faults");
  if (!answer) return kExitFailure;
  uint64_t generation = answer->value("generation", uint64_t{0});
  std::string why;
  if (!virtuoso::tools::ctl_wait_status(path, [&](const nlohmann::ordered_json& st) {
        return st["faults"].value("applied_generation", uint64_t{0}) == generation;
      }, why)) {
    fmt::print(stderr, "virtuosoctl: fault generation {}: {}\n", generation, why);
    return kExitFailure;
  }
  std::string settings = answer->value("settings", std::string());
  done(json, {{"generation", generation}, {"settings", settings}},
       fmt::format("faults: generation {} applied: {}", generation, settings));
  return kExitReady;
}

// "switch add TENANT PREFIX VTEP" / "switch remove TENANT PREFIX": the change is in effect when
// this returns (the slow path applies it before it answers); "switch list" is the tenants table.
int switch_change(const std::string& run_dir, const std::vector<std::string>& words, bool json) {
  std::string request = fmt::format("switch {}\n", fmt::join(words, " "));
  if (!ask_change(ctl_socket_path(run_dir), request, "switch")) return kExitFailure;
  done(json, {{"switch", words}}, fmt::format("switch: {}", fmt::join(words, " ")));
  return kExitReady;
}

// "log-level LEVEL": the slow path's log level from now on (until it restarts).
int log_level_change(const std::string& run_dir, const std::string& level, bool json) {
  if (!ask_change(ctl_socket_path(run_dir), fmt::format("log-level {}\n", level), "log-level")) return kExitFailure;
  done(json, {{"log_level", level}}, fmt::format("log-level: {}", level));
  return kExitReady;
}

// "tenants set NAME weight=W" / "tenants budgets KEY=VALUE...": returns once the fast path runs
// with the change (it takes it at its next refill, one budget period).
int tenants_change(const std::string& run_dir, const std::vector<std::string>& words, bool json) {
  std::string path = ctl_socket_path(run_dir);
  auto answer = ask_change(path, fmt::format("tenants {}\n", fmt::join(words, " ")), "tenants");
  if (!answer) return kExitFailure;
  uint64_t generation = answer->value("generation", uint64_t{0});
  std::string why;
  if (!virtuoso::tools::ctl_wait_status(path, [&](const nlohmann::ordered_json& st) {
        return st["fastpath"].value("budget_generation", uint64_t{0}) >= generation;
      }, why)) {
    fmt::print(stderr, "virtuosoctl: budget generation {}: {}\n", generation, why);
    return kExitFailure;
  }
  done(json, {{"tenants", words}, {"generation", generation}},
       fmt::format("tenants: {} (generation {} in effect)", fmt::join(words, " "), generation));
  return kExitReady;
}

// "config check FILE": 0 if virtuosod would accept it, 2 with its first error.
int config_check(const std::string& file, bool json) {
  try {
    virtuoso::config::Config c = virtuoso::config::load_config(file);
    done(json, {{"file", file}, {"valid", true}, {"tenants", c.tenants.size()}, {"run_dir", c.run_dir}},
         fmt::format("{}: valid ({} tenants, run_dir {})", file, c.tenants.size(), c.run_dir));
    return kExitReady;
  } catch (const virtuoso::config::ConfigError& e) {
    if (json) fmt::print("{}\n", nlohmann::ordered_json{{"file", file}, {"valid", false}, {"error", e.what()}}.dump());
    fmt::print(stderr, "{}\n", e.what());
    return kExitBadConfig;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Virtuoso control: inspect a running daemon", "virtuosoctl"};
  app.footer(kExitCodes);
  const char* env_dir = std::getenv(virtuoso::abi::kRunDirEnv);
  std::string run_dir = env_dir && *env_dir ? env_dir : virtuoso::abi::kDefaultRunDir;
  std::string config_path;
  bool json = false;
  auto* dir_opt = app.add_option("--run-dir", run_dir,
                                 fmt::format("the daemon's run directory (default: ${} or {})",
                                             virtuoso::abi::kRunDirEnv, virtuoso::abi::kDefaultRunDir));
  app.add_option("--config", config_path, "take run_dir from this configuration file")->excludes(dir_opt);
  app.add_flag("--json", json, "print JSON (one object or array; watch: one object per line) instead of text");
  auto* status_cmd = app.add_subcommand("status", "print the daemon's state and counters; exit 0 if "
                                                  "ready, 3 if not ready, 1 if no daemon answers");
  status_cmd->add_flag("--json", json, "print the daemon's JSON answer unchanged");
  bool connections = false;
  status_cmd->add_flag("--connections", connections,
                       "also list every connection: TCP state, sequence numbers, windows, timers "
                       "and the app's ring positions");
  status_cmd->fallthrough();  // "virtuosoctl status --run-dir D" works as well as the other order
  auto* stats_cmd = app.add_subcommand("stats", "the port, the fast-path cores (cycles by phase), drops by "
                                                "reason, TCP recovery, and CPU time and traffic by tenant");
  stats_cmd->fallthrough();
  double watch_interval = 1.0;
  unsigned watch_count = 0;
  auto* watch_cmd = app.add_subcommand("watch", "a live view: rates of traffic, drops and CPU time by tenant, "
                                                "refreshed every interval until interrupted");
  watch_cmd->add_option("--interval", watch_interval, "seconds between refreshes (default 1)")
      ->check(CLI::Range(0.05, 3600.0));
  watch_cmd->add_option("--count", watch_count, "stop after this many refreshes (default: never)");
  watch_cmd->fallthrough();
  std::string fault_action;
  std::vector<std::string> fault_pairs;
  auto* faults_cmd = app.add_subcommand(
      "faults", "show the fault injector's settings and counters, or change them at run time");
  faults_cmd->fallthrough();
  auto* set_cmd = faults_cmd->add_subcommand(
      "set", "change the named settings, keep the others: [rx.|tx.]loss, burst_start, burst_len, "
             "reorder, reorder_delay_us, duplicate, corrupt, seed (e.g. rx.loss=0.3 tx.loss=0.3)");
  set_cmd->add_option("pairs", fault_pairs, "KEY=VALUE settings; a key without rx./tx. sets both")->required();
  set_cmd->fallthrough();
  set_cmd->callback([&] { fault_action = "set"; });
  auto* clear_cmd = faults_cmd->add_subcommand("clear", "turn every fault off (the injector stays)");
  clear_cmd->fallthrough();
  clear_cmd->callback([&] { fault_action = "clear"; });
  faults_cmd->require_subcommand(0, 1);
  auto* tenants_cmd = app.add_subcommand("tenants", "list the tenants: VNI, addresses, switch entries, "
                                                    "and the apps, connections and listeners each has now");
  tenants_cmd->add_flag("--json", json, "print the JSON array");
  tenants_cmd->fallthrough();
  std::vector<std::string> tenant_words;
  std::string set_name;
  std::vector<std::string> set_pairs;
  auto* tn_set = tenants_cmd->add_subcommand("set", "NAME weight=W: a tenant's CPU weight (NAME host: the "
                                                    "host account's), in effect at the fast path's next refill");
  tn_set->add_option("name", set_name, "the tenant's name, or host")->required();
  tn_set->add_option("pairs", set_pairs, "weight=W, 1..10000")->required();
  tn_set->fallthrough();
  tn_set->callback([&] {
    tenant_words = {"set", set_name};
    tenant_words.insert(tenant_words.end(), set_pairs.begin(), set_pairs.end());
  });
  auto* tn_budgets = tenants_cmd->add_subcommand(
      "budgets", "KEY=VALUE...: enforce=on|off, ecn=on|off, period_us=N, burst_periods=N of time protection");
  tn_budgets->add_option("pairs", set_pairs, "KEY=VALUE settings")->required();
  tn_budgets->fallthrough();
  tn_budgets->callback([&] {
    tenant_words = {"budgets"};
    tenant_words.insert(tenant_words.end(), set_pairs.begin(), set_pairs.end());
  });
  tenants_cmd->require_subcommand(0, 1);
  virtuoso::tools::FlowFilter flow_filter;
  auto* flows_cmd = app.add_subcommand("flows", "list the connections: tenant, state, addresses, congestion "
                                                "control and window, round trip, bytes and segments");
  flows_cmd->add_flag("--json", json, "print the JSON array (each connection as in status --connections)");
  flows_cmd->add_option("--tenant", flow_filter.tenant, "only this tenant's (host: plain-mode connections)");
  flows_cmd->add_option("--port", flow_filter.port, "only those with this local or remote port");
  flows_cmd->add_option("--state", flow_filter.state, "only those in this TCP state (e.g. ESTABLISHED)");
  flows_cmd->fallthrough();
  std::string new_level;
  auto* level_cmd = app.add_subcommand("log-level", "LEVEL: the slow path's log level from now on: trace, "
                                                    "debug, info, warn, error, critical or off");
  level_cmd->add_option("level", new_level, "the level")->required();
  level_cmd->fallthrough();
  std::string check_path;
  auto* config_cmd = app.add_subcommand("config", "work with configuration files (no daemon needed)");
  auto* check_cmd = config_cmd->add_subcommand(
      "check", "FILE: read it as virtuosod would; exit 0 if it is valid, 2 with the first error (file, "
               "field, what is wrong, how to fix it) if not");
  check_cmd->add_option("file", check_path, "the configuration file")->required();
  check_cmd->fallthrough();
  config_cmd->fallthrough();
  config_cmd->require_subcommand(1);
  std::vector<std::string> switch_words;
  auto* switch_cmd = app.add_subcommand(
      "switch", "change the virtual switch's remote entries at run time (connections through a "
                "changed or removed entry end with EHOSTUNREACH; the others carry on)");
  switch_cmd->fallthrough();
  std::string sw_tenant, sw_prefix, sw_vtep;
  auto* sw_add = switch_cmd->add_subcommand("add", "TENANT PREFIX VTEP: the tenant's inner addresses "
                                                   "in PREFIX live behind tunnel endpoint VTEP");
  sw_add->add_option("tenant", sw_tenant, "the tenant's name")->required();
  sw_add->add_option("prefix", sw_prefix, "inner address block a.b.c.d/len")->required();
  sw_add->add_option("vtep", sw_vtep, "the remote host's underlay address")->required();
  sw_add->fallthrough();
  sw_add->callback([&] { switch_words = {"add", sw_tenant, sw_prefix, sw_vtep}; });
  auto* sw_remove = switch_cmd->add_subcommand("remove", "TENANT PREFIX: remove that entry");
  sw_remove->add_option("tenant", sw_tenant, "the tenant's name")->required();
  sw_remove->add_option("prefix", sw_prefix, "the entry's block a.b.c.d/len")->required();
  sw_remove->fallthrough();
  sw_remove->callback([&] { switch_words = {"remove", sw_tenant, sw_prefix}; });
  auto* sw_list = switch_cmd->add_subcommand("list", "the tenants with their entries (as `tenants`)");
  sw_list->add_flag("--json", json, "print the JSON array");
  sw_list->fallthrough();
  switch_cmd->require_subcommand(1);
  app.require_subcommand(1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitBadConfig;
  }
  if (check_cmd->parsed()) return config_check(check_path, json);
  if (!config_path.empty()) {
    try {
      run_dir = virtuoso::config::load_config(config_path).run_dir;
    } catch (const virtuoso::config::ConfigError& e) {
      fmt::print(stderr, "{}\n", e.what());
      return kExitBadConfig;
    }
  }
  if (stats_cmd->parsed()) return stats(run_dir, json);
  if (watch_cmd->parsed()) return watch(run_dir, json, watch_interval, watch_count);
  if (faults_cmd->parsed()) return faults(run_dir, fault_action, fault_pairs, json);
  if (flows_cmd->parsed()) return flows(run_dir, flow_filter, json);
  if (level_cmd->parsed()) return log_level_change(run_dir, new_level, json);
  if (!tenant_words.empty()) return tenants_change(run_dir, tenant_words, json);
  if (tenants_cmd->parsed() || sw_list->parsed()) return tenants(run_dir, json);
  if (switch_cmd->parsed()) return switch_change(run_dir, switch_words, json);
  return status(run_dir, json, connections);
}
