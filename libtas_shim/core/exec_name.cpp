// Building and parsing the abstract names of placeholders that carry a stack socket across exec().
#include "exec_name.hpp"

#include <arpa/inet.h>
#include <stddef.h>

#include <cstdio>
#include <cstring>

namespace virtuoso::shim {
namespace {

constexpr const char kPrefix[] = "virtuoso-sock/";

std::string ip_text(uint32_t ip) {
  struct in_addr a = {htonl(ip)};
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, &a, buf, sizeof buf) ? buf : "0.0.0.0";
}

bool ip_from_text(const char* text, uint32_t& ip) {
  struct in_addr a;
  if (inet_pton(AF_INET, text, &a) != 1) return false;
  ip = ntohl(a.s_addr);
  return true;
}

}  // namespace

std::string format_exec_name(const ExecName& n) {
  char buf[160];
  std::string local = ip_text(n.local_ip);
  if (n.kind == ExecName::Kind::kListener) {
    snprintf(buf, sizeof buf, "%s%u.%x/%c/%s:%u/%x.%x", kPrefix, n.pid, n.seq, n.ipv6 ? 'L' : 'l',
             local.c_str(), unsigned{n.local_port}, n.listener_id, n.backlog);
  } else {
    snprintf(buf, sizeof buf, "%s%u.%x/%c/%s:%u/%s:%u/%x.%x.%x", kPrefix, n.pid, n.seq,
             n.ipv6 ? 'C' : 'c', local.c_str(), unsigned{n.local_port}, ip_text(n.remote_ip).c_str(),
             unsigned{n.remote_port}, n.ctx, n.slot, n.gen);
  }
  return buf;
}

bool parse_exec_name(const char* text, size_t len, ExecName& out) {
  constexpr size_t kPrefixLen = sizeof kPrefix - 1;
  if (len <= kPrefixLen || len > 200 || memcmp(text, kPrefix, kPrefixLen) != 0) return false;
  std::string s(text, len);  // NUL-terminated for sscanf; a NUL inside fails the comparison below
  ExecName n;
  char local[16] = {};
  char remote[16] = {};
  unsigned lport = 0;
  unsigned rport = 0;
  int used = -1;
  n.ipv6 = s.find("/L/") != std::string::npos || s.find("/C/") != std::string::npos;
  if (s.find("/l/") != std::string::npos || s.find("/L/") != std::string::npos) {
    n.kind = ExecName::Kind::kListener;
    sscanf(s.c_str() + kPrefixLen, n.ipv6 ? "%u.%x/L/%15[0-9.]:%u/%x.%x%n" : "%u.%x/l/%15[0-9.]:%u/%x.%x%n",
           &n.pid, &n.seq, local, &lport, &n.listener_id, &n.backlog, &used);
  } else {
    sscanf(s.c_str() + kPrefixLen,
           n.ipv6 ? "%u.%x/C/%15[0-9.]:%u/%15[0-9.]:%u/%x.%x.%x%n" : "%u.%x/c/%15[0-9.]:%u/%15[0-9.]:%u/%x.%x.%x%n",
           &n.pid, &n.seq, local, &lport, remote, &rport, &n.ctx, &n.slot, &n.gen, &used);
  }
  if (used < 0 || lport > 0xffff || rport > 0xffff) return false;
  if (!ip_from_text(local, n.local_ip)) return false;
  if (n.kind == ExecName::Kind::kConnection && !ip_from_text(remote, n.remote_ip)) return false;
  n.local_port = static_cast<uint16_t>(lport);
  n.remote_port = static_cast<uint16_t>(rport);
  // Exactly the canonical text: no leading zeros, signs, spaces or trailing bytes slip through.
  if (format_exec_name(n) != s) return false;
  out = n;
  return true;
}

struct sockaddr_un exec_name_address(const ExecName& n, socklen_t& len) {
  struct sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  std::string text = format_exec_name(n);
  size_t room = sizeof a.sun_path - 1;  // after the leading NUL that makes it abstract
  size_t copy = text.size() < room ? text.size() : room;
  memcpy(a.sun_path + 1, text.data(), copy);
  len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + 1 + copy);
  return a;
}

bool exec_name_from_address(const struct sockaddr_un& a, socklen_t len, ExecName& out) {
  constexpr socklen_t kHead = offsetof(struct sockaddr_un, sun_path) + 1;
  if (a.sun_family != AF_UNIX || len <= kHead || len > static_cast<socklen_t>(sizeof a))
    return false;
  if (a.sun_path[0] != '\0') return false;  // a path name: not ours
  return parse_exec_name(a.sun_path + 1, len - kHead, out);
}

}  // namespace virtuoso::shim
