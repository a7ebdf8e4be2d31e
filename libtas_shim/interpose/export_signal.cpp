// Interposed sigaction/signal: the app's handlers run behind a trampoline that records, per thread,
// whether the handler had SA_RESTART, so the shim's blocking calls restart or fail with EINTR as
// the kernel's would. The app always reads back the handler it installed.
#include <dlfcn.h>
#include <signal.h>
#include <string.h>

#include <atomic>
#include <mutex>

#include "core/signal_counts.hpp"
#include "shim.hpp"

using namespace virtuoso::shim;

namespace {

using SigactionFn = int (*)(int, const struct sigaction*, struct sigaction*);

SigactionFn real_sigaction() {
  static SigactionFn fn = reinterpret_cast<SigactionFn>(dlsym(RTLD_NEXT, "sigaction"));
  return fn;
}

// What the app installed for each signal; read by the trampoline (relaxed loads of plain words).
struct AppHandler {
  std::atomic<void*> fn{nullptr};
  std::atomic<int> flags{0};
};
AppHandler g_handlers[NSIG];
std::mutex g_mu;  // serialises installs; the trampoline never takes it
struct sigaction g_app_actions[NSIG];  // the app's view (sigaction's oldact), under g_mu
bool g_wrapped[NSIG];

bool is_handler(const struct sigaction& a) {
  return !(a.sa_flags & SA_SIGINFO) ? (a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN)
                                    : a.sa_sigaction != nullptr;
}

void trampoline(int sig, siginfo_t* info, void* uctx) {
  int saved = errno;
  void* fn = g_handlers[sig].fn.load(std::memory_order_acquire);
  int flags = g_handlers[sig].flags.load(std::memory_order_relaxed);
  note_signal((flags & SA_RESTART) != 0);
  errno = saved;
  if (fn == nullptr) return;
  if (flags & SA_SIGINFO) {
    reinterpret_cast<void (*)(int, siginfo_t*, void*)>(fn)(sig, info, uctx);
  } else {
    reinterpret_cast<void (*)(int)>(fn)(sig);
  }
}

int install(int sig, const struct sigaction* act, struct sigaction* old) {
  SigactionFn real = real_sigaction();
  if (real == nullptr) {
    errno = ENOSYS;
    return -1;
  }
  if (sig <= 0 || sig >= NSIG) return real(sig, act, old);
  std::lock_guard<std::mutex> lk(g_mu);
  struct sigaction prev;
  if (act == nullptr) {
    if (real(sig, nullptr, &prev) < 0) return -1;
    if (old != nullptr) *old = g_wrapped[sig] ? g_app_actions[sig] : prev;
    return 0;
  }
  struct sigaction mine = *act;
  bool wrap = is_handler(*act) && !(act->sa_flags & SA_RESETHAND);
  if (wrap) {
    mine.sa_flags |= SA_SIGINFO;
    mine.sa_sigaction = trampoline;
    void* fn = (act->sa_flags & SA_SIGINFO) ? reinterpret_cast<void*>(act->sa_sigaction)
                                            : reinterpret_cast<void*>(act->sa_handler);
    // Published before the kernel can call the trampoline with the new action.
    g_handlers[sig].flags.store(act->sa_flags, std::memory_order_relaxed);
    g_handlers[sig].fn.store(fn, std::memory_order_release);
  }
  if (real(sig, &mine, &prev) < 0) return -1;
  if (old != nullptr) *old = g_wrapped[sig] ? g_app_actions[sig] : prev;
  g_wrapped[sig] = wrap;
  if (wrap) g_app_actions[sig] = *act;
  return 0;
}

}  // namespace

VIRTUOSO_EXPORT int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  return install(sig, act, old);
}

// glibc's signal() has BSD semantics: the handler stays installed and calls restart.
VIRTUOSO_EXPORT sighandler_t signal(int sig, sighandler_t handler) {
  struct sigaction act;
  memset(&act, 0, sizeof act);
  act.sa_handler = handler;
  sigemptyset(&act.sa_mask);
  sigaddset(&act.sa_mask, sig);
  act.sa_flags = SA_RESTART;
  struct sigaction old;
  if (install(sig, &act, &old) < 0) return SIG_ERR;
  if (!(old.sa_flags & SA_SIGINFO)) return old.sa_handler;
  sighandler_t h;  // sa_handler and sa_sigaction share storage: the same pointer, either type
  static_assert(sizeof h == sizeof old.sa_sigaction);
  memcpy(&h, &old.sa_sigaction, sizeof h);
  return h;
}
