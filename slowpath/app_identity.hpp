// What the daemon knows of an app from its Unix-socket connection, for deciding its tenant.
#pragma once
#include <cstddef>
#include <optional>

#include "config/tenant_match.hpp"
#include "unix_socket.hpp"

namespace virtuoso::slowpath {

// SO_PEERCRED's uid and gid, the supplementary groups and the cgroup v2 path from /proc/PID (left
// empty when the process is gone or /proc hides them), and the tenant socket it connected to.
config::AppCredentials app_credentials(const PeerCred& cred, std::optional<size_t> tenant_socket);

}  // namespace virtuoso::slowpath
