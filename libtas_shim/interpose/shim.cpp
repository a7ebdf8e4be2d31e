// The process-wide Stack: configuration from the environment, attaching on first use, and what
// fork() and exit() do to it.
#include "shim.hpp"

#include <pthread.h>

#include <cstdlib>
#include <string>

#include "core/attach.hpp"
#include "core/exec_name.hpp"

namespace virtuoso::shim {
namespace {

std::atomic<Stack*> g_stack{nullptr};

uint32_t poll_us_from_env() {
  const char* v = getenv("VIRTUOSO_POLL_US");
  const uint32_t fallback = StackConfig{}.poll_us;
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  unsigned long n = strtoul(v, &end, 10);
  if (*end != '\0' || n > 1000000) return fallback;  // unparsable or absurd: keep the default
  return static_cast<uint32_t>(n);
}

void fork_prepare() { stack().fork_prepare(); }
void fork_parent() { stack().fork_parent(); }
void fork_child() { stack().fork_child(); }

Stack* make_stack() {
  StackConfig cfg;
  cfg.poll_us = poll_us_from_env();
  // The run directory is read when the first stack socket attaches, so a program may set
  // VIRTUOSO_RUN_DIR itself before creating sockets.
  // A fork() child attaches to its parent's daemon even if the app cleared its environment
  // meanwhile (nginx resets it for its workers): the directory of the first attach is kept.
  ContextFactory attach = [dir = std::string()](const KernelOps& k, std::shared_ptr<Context>& out) mutable {
    std::string d = dir.empty() ? run_dir_from_env() : dir;
    int rc = attach_to_daemon(k, d, out);
    if (rc == 0) dir = d;
    return rc;
  };
  auto* st = new Stack(real_kernel_ops(), cfg, std::move(attach));
  pthread_atfork(fork_prepare, fork_parent, fork_child);
  return st;
}

// A program exec'd by a fork() child that held stack sockets takes them back before main() (or
// another library's constructor) can read its descriptor 0. Without VIRTUOSO_HOLD_FD: nothing.
__attribute__((constructor)) void take_sockets_after_exec() {
  if (getenv(kHoldFdEnv) != nullptr) stack().start_after_exec();
}

// Exit closes every descriptor; the kernel would then finish each connection with FIN (or RST
// when unread data is left). Do the same for stack sockets the app never closed.
__attribute__((destructor)) void close_at_exit() {
  if (Stack* st = g_stack.load(std::memory_order_acquire)) st->close_all_at_exit();
}

}  // namespace

Stack& stack() {
  static Stack* st = [] {
    Stack* s = make_stack();
    g_stack.store(s, std::memory_order_release);
    return s;
  }();
  return *st;
}

}  // namespace virtuoso::shim
