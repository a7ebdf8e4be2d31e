// Reading an app's groups and cgroup from /proc, for tenant matching.
#include "app_identity.hpp"

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace virtuoso::slowpath {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The numbers after "Groups:" in /proc/PID/status.
std::vector<uint32_t> supplementary_groups(const std::string& status) {
  std::vector<uint32_t> out;
  size_t at = status.find("\nGroups:");
  if (at == std::string::npos) return out;
  size_t end = status.find('\n', at + 1);
  std::string_view line(status.data() + at + 8, (end == std::string::npos ? status.size() : end) - at - 8);
  while (!line.empty()) {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    uint32_t gid = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), gid);
    if (ec != std::errc()) break;
    out.push_back(gid);
    line.remove_prefix(size_t(p - line.data()));
  }
  return out;
}

}  // namespace

config::AppCredentials app_credentials(const PeerCred& cred, std::optional<size_t> tenant_socket) {
  config::AppCredentials app;
  app.uid = cred.uid;
  app.gid = cred.gid;
  app.tenant_socket = tenant_socket;
  std::string proc = "/proc/" + std::to_string(cred.pid);
  app.supplementary_gids = supplementary_groups(read_text(proc + "/status"));
  if (auto cg = config::parse_proc_cgroup(read_text(proc + "/cgroup"))) app.cgroup = *cg;
  return app;
}

}  // namespace virtuoso::slowpath
