// The synchronous request/response link to the slow path (app.sock, or a fork hold link), as an
// interface so the core can be driven by a fake daemon in tests.
#pragma once
#include <errno.h>
#include "virtuoso/abi/unix_proto.hpp"

namespace virtuoso::shim {

// A request of `kind` with every other field zero (the channel fills in seq).
inline abi::AppRequest make_request(abi::AppRequestKind kind) {
  abi::AppRequest r{};
  r.kind = static_cast<uint32_t>(kind);
  return r;
}

class RequestChannel {
 public:
  virtual ~RequestChannel() = default;
  // Sends `req` (the channel assigns req.seq) and waits for the response with the same seq.
  // Serialised across threads by the channel. Returns 0, or -errno if the link itself failed.
  virtual int call(abi::AppRequest& req, abi::AppResponse& resp) = 0;
  // The same, passing descriptor `fd` with the request (SCM_RIGHTS), as kInherit needs.
  virtual int call_with_fd(abi::AppRequest& req, abi::AppResponse& resp, int fd) {
    (void)req;
    (void)resp;
    (void)fd;
    return -EOPNOTSUPP;
  }
  // The same, taking the one descriptor the response carries (kForkHold) into `fd` (O_CLOEXEC;
  // -1 if the response carried none). The caller owns it.
  virtual int call_receiving_fd(abi::AppRequest& req, abi::AppResponse& resp, int& fd) {
    (void)req;
    (void)resp;
    fd = -1;
    return -EOPNOTSUPP;
  }
  // A descriptor that reports POLLRDHUP when the daemon goes away, or -1.
  virtual int hangup_fd() const { return -1; }
};

}  // namespace virtuoso::shim
