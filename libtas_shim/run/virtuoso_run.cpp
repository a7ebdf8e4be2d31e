// virtuoso-run: runs a program with the Virtuoso socket shim preloaded.
//
//   virtuoso-run [--run-dir DIR] [--] CMD [ARGS...]
//
// Sets LD_PRELOAD to the shim ($VIRTUOSO_SHIM, else ../lib/libtas_shim.so or, installed,
// ../lib/virtuoso/libtas_shim.so beside this executable's directory),
// in front of any LD_PRELOAD already set, and VIRTUOSO_RUN_DIR (--run-dir, else inherited, else
// /run/virtuoso), then replaces itself with CMD. In an AddressSanitizer build (scripts/sanitize.sh)
// the shim is built with ASan too, whose runtime must be loaded first: it goes in front.
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <dlfcn.h>
extern "C" void __asan_init();
#endif

namespace {

constexpr const char* kUsage =
    "usage: virtuoso-run [--run-dir DIR] [--] CMD [ARGS...]\n"
    "  Runs CMD with the Virtuoso socket shim preloaded: its AF_INET stream sockets use the\n"
    "  Virtuoso stack of the daemon whose run directory is DIR (default: $VIRTUOSO_RUN_DIR,\n"
    "  else /run/virtuoso). The shim is $VIRTUOSO_SHIM if set, else ../lib/libtas_shim.so\n"
    "  or ../lib/virtuoso/libtas_shim.so from this program's directory.\n";
constexpr int kExitNotFound = 127;  // the shell's "command not found"
constexpr int kExitNoExec = 126;    // the shell's "found but cannot be run"
constexpr int kExitUsage = 2;

// Beside a build's programs (bin/ and lib/), or where cmake --install and the package put it
// (bin/ and lib/virtuoso/); the first that exists, else the build's path (for the message).
std::string default_shim_path() {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return {};
  exe[n] = '\0';
  std::string dir(exe);
  dir.erase(dir.find_last_of('/'));
  for (const char* rel : {"/../lib/libtas_shim.so", "/../lib/virtuoso/libtas_shim.so"}) {
    if (access((dir + rel).c_str(), R_OK) == 0) return dir + rel;
  }
  return dir + "/../lib/libtas_shim.so";
}

// The shim's absolute path, or exits with a message saying what is missing.
std::string shim_path() {
  const char* env = getenv("VIRTUOSO_SHIM");
  std::string path = (env != nullptr && *env != '\0') ? env : default_shim_path();
  char resolved[PATH_MAX];
  if (path.empty() || realpath(path.c_str(), resolved) == nullptr ||
      access(resolved, R_OK) != 0) {
    fprintf(stderr,
            "virtuoso-run: shim library not found at %s (build the tas_shim target, or set "
            "VIRTUOSO_SHIM to the path of libtas_shim.so)\n",
            path.empty() ? "(unknown)" : path.c_str());
    exit(kExitNotFound);
  }
  return resolved;
}

// LD_PRELOAD with the shim first; the existing entries keep their order.
std::string preload_with(const std::string& shim) {
  const char* old = getenv("LD_PRELOAD");
  if (old == nullptr || *old == '\0') return shim;
  std::string rest;
  std::string all(old);
  size_t pos = 0;
  while (pos <= all.size()) {
    size_t end = all.find_first_of(": ", pos);
    if (end == std::string::npos) end = all.size();
    std::string item = all.substr(pos, end - pos);
    if (!item.empty() && item != shim) rest += (rest.empty() ? "" : ":") + item;
    pos = end + 1;
  }
  return rest.empty() ? shim : shim + ":" + rest;
}

// The shim, preceded by the ASan runtime this program runs on in an ASan build.
std::string preload_first(const std::string& shim) {
#if defined(__SANITIZE_ADDRESS__)
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&__asan_init), &info) != 0 && info.dli_fname != nullptr &&
      info.dli_fname[0] == '/')
    return std::string(info.dli_fname) + ":" + shim;
#endif
  return shim;
}

}  // namespace

int main(int argc, char** argv) {
  std::string run_dir;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--run-dir") {
      if (i + 1 >= argc) {
        fprintf(stderr, "virtuoso-run: --run-dir needs a directory\n%s", kUsage);
        return kExitUsage;
      }
      run_dir = argv[++i];
      continue;
    }
    if (a.rfind("--run-dir=", 0) == 0) {
      run_dir = a.substr(strlen("--run-dir="));
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      fprintf(stderr, "virtuoso-run: unknown option %s (put -- before the command)\n%s",
              a.c_str(), kUsage);
      return kExitUsage;
    }
    break;
  }
  if (i >= argc) {
    fprintf(stderr, "virtuoso-run: no command given\n%s", kUsage);
    return kExitUsage;
  }
  if (run_dir.empty()) {
    const char* env = getenv("VIRTUOSO_RUN_DIR");
    run_dir = (env != nullptr && *env != '\0') ? env : "/run/virtuoso";
  }
  std::string shim = shim_path();
  setenv("LD_PRELOAD", preload_with(preload_first(shim)).c_str(), 1);
  setenv("VIRTUOSO_RUN_DIR", run_dir.c_str(), 1);
  execvp(argv[i], argv + i);
  int e = errno;
  if (e == ENOENT) {
    fprintf(stderr, "virtuoso-run: %s: command not found\n", argv[i]);
    return kExitNotFound;
  }
  fprintf(stderr, "virtuoso-run: cannot run %s: %s\n", argv[i], strerror(e));
  return e == EACCES || e == ENOEXEC ? kExitNoExec : kExitNotFound;
}
