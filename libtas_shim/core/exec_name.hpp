// The name that lets a stack socket survive exec(): what a placeholder's abstract AF_UNIX address
// says about the connection or listener behind it, built and parsed as pure functions.
//
// A fork() child about to exec (an inetd-style server: fork, dup2 the connection onto 0 and 1,
// exec the handler) binds each placeholder that survives exec to such a name; the new program finds
// its descriptors by their names and the references they stand for on the hold link whose number
// is in VIRTUOSO_HOLD_FD. Abstract names are per network namespace: the nonce (pid and a counter
// of the process that named it) keeps them apart.
#pragma once
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <string>

namespace virtuoso::shim {

// The environment variable carrying the hold link's descriptor number across exec.
inline constexpr const char* kHoldFdEnv = "VIRTUOSO_HOLD_FD";

struct ExecName {
  enum class Kind : uint8_t { kConnection, kListener };
  Kind kind = Kind::kConnection;
  bool ipv6 = false;  // a dual-stack AF_INET6 socket ("L"/"C" in the text, "l"/"c" for AF_INET)
  uint32_t pid = 0;  // nonce: the process that named it, and its counter
  uint32_t seq = 0;
  uint32_t local_ip = 0;  // host byte order
  uint16_t local_port = 0;
  // Connection: its peer (with the local address, what kClaim by addresses names), and where it
  // lived when the process forked (what kDropHold names).
  uint32_t remote_ip = 0;
  uint16_t remote_port = 0;
  uint32_t ctx = 0;
  uint32_t slot = 0;
  uint32_t gen = 0;
  // Listener: what kShareListener needs.
  uint32_t listener_id = 0;
  uint32_t backlog = 0;

  bool operator==(const ExecName&) const = default;
};

// The abstract name's text (what follows sun_path's leading NUL), e.g.
// "virtuoso-sock/4242.1/c/10.0.0.1:8080/10.0.0.2:33333/1.3.7".
std::string format_exec_name(const ExecName& n);
// False unless `text` is exactly what format_exec_name makes of some name.
bool parse_exec_name(const char* text, size_t len, ExecName& out);

// The abstract socket address for `n`; `len` receives the length to pass to bind().
struct sockaddr_un exec_name_address(const ExecName& n, socklen_t& len);
// The name in an address getsockname() returned, if it is one of ours.
bool exec_name_from_address(const struct sockaddr_un& a, socklen_t len, ExecName& out);

}  // namespace virtuoso::shim
