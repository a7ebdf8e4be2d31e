// Asking a running daemon over run_dir/ctl.sock: one request line, its whole answer (virtuosoctl,
// and virtuosod when it applies a reloaded configuration).
#pragma once
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace virtuoso::tools {

inline constexpr std::chrono::milliseconds kCtlAnswerTimeout{5000};

// run_dir/ctl.sock.
std::string ctl_socket_path(const std::string& run_dir);

// The whole answer to `request` (a line ending in '\n'), or nullopt with `why` set to one sentence
// saying what went wrong and what to do (no daemon, permissions, no answer in time...).
std::optional<std::string> ctl_ask(const std::string& socket_path, const std::string& request, std::string& why,
                                   std::chrono::milliseconds timeout = kCtlAnswerTimeout);

// ctl_ask() of an answer that must be JSON.
std::optional<nlohmann::ordered_json> ctl_ask_json(const std::string& socket_path, const std::string& request,
                                                   std::string& why,
                                                   std::chrono::milliseconds timeout = kCtlAnswerTimeout);

// ctl_ask_json() of a change: nullopt with `why` = the daemon's refusal when it answers {"error": ...}.
std::optional<nlohmann::ordered_json> ctl_change(const std::string& socket_path, const std::string& request,
                                                 std::string& why);

// Asks for status until `reached(status)` holds (a change the daemon accepted is in effect): true;
// false with `why` set when no daemon answers, it stops being ready, or `timeout` passes.
bool ctl_wait_status(const std::string& socket_path, const std::function<bool(const nlohmann::ordered_json&)>& reached,
                     std::string& why, std::chrono::milliseconds timeout = kCtlAnswerTimeout);

}  // namespace virtuoso::tools
