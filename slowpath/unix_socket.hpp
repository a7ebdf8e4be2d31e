// Unix-domain sockets of the daemon: listening at a path, messages with SCM_RIGHTS, peer credentials.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>

#include "unique_fd.hpp"

namespace virtuoso::slowpath {

// A listening socket whose file is removed again when it is destroyed.
class ListeningSocket {
 public:
  ListeningSocket() = default;
  // Removes a stale socket file, binds, sets `mode` and listens (non-blocking, close-on-exec).
  // Throws std::runtime_error naming the path on failure.
  ListeningSocket(std::string path, int type, mode_t mode);
  ~ListeningSocket();
  ListeningSocket(ListeningSocket&&) = default;
  ListeningSocket& operator=(ListeningSocket&&) = default;

  int get() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  std::string path_;
};

// Accepts one connection, non-blocking and close-on-exec; empty when none is waiting.
UniqueFd accept_unix(int listen_fd);

// Sends one message carrying `fds`. Returns 0 or an errno value.
int send_with_fds(int sock, const void* data, size_t len, std::initializer_list<int> fds);

struct PeerCred {
  pid_t pid;
  uid_t uid;
  gid_t gid;
};
std::optional<PeerCred> peer_credentials(int sock);

}  // namespace virtuoso::slowpath
