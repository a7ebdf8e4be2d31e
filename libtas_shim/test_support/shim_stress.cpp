// shim-stress: a stress program for the shim. As a client under the shim it drives many threads
// with many connections each against an echo server (mixed blocking and epoll use, every echoed
// byte verified), forks during the traffic, closes sockets other threads are blocked on, and
// checks SA_RESTART and EINTR, and sendmmsg/recvmmsg. As a server (--serve, on Linux TCP) it
// is that echo server.
//
//   shim-stress --serve PORT
//   shim-stress --connect IP:PORT [--threads 64] [--conns 64] [--rounds 8] [--forks 4]
// Prints one JSON line; exits 0 only if every check held.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Options {
  int serve_port = 0;
  std::string ip;
  uint16_t port = 0;
  int threads = 64;
  int conns = 64;
  int rounds = 8;
  int forks = 4;
};

std::atomic<uint64_t> g_bytes{0};
std::atomic<uint64_t> g_failures{0};
std::atomic<bool> g_traffic_done{false};
std::atomic<int> g_forks_served{0};  // fork children that served their handed-over connection

void fail(const char* what, int err = 0) {
  g_failures.fetch_add(1);
  if (err != 0) {
    fprintf(stderr, "shim-stress: %s: %s\n", what, strerror(err));
  } else {
    fprintf(stderr, "shim-stress: %s\n", what);
  }
}

// The byte at `pos` of connection `id`'s stream: what the echo must give back.
uint8_t pattern(uint32_t id, uint64_t pos) { return static_cast<uint8_t>((pos * 131 + id * 7919) >> 3); }

int connect_to(const Options& o, bool nonblocking) {
  int fd = socket(AF_INET, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return -errno;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(o.port);
  inet_pton(AF_INET, o.ip.c_str(), &a.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    return -e;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool write_all(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_all(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t r = recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// One thread, blocking sockets: each round sends a message on every connection, then reads
// every echo back and compares it.
void blocking_worker(const Options& o, int t) {
  std::vector<int> fds;
  std::vector<uint64_t> pos;
  for (int c = 0; c < o.conns; ++c) {
    int fd = connect_to(o, false);
    if (fd < 0) return fail("blocking connect", -fd);
    fds.push_back(fd);
    pos.push_back(0);
  }
  std::vector<uint8_t> out(16384), in(16384);
  for (int r = 0; r < o.rounds; ++r) {
    for (size_t c = 0; c < fds.size(); ++c) {
      uint32_t id = static_cast<uint32_t>(t * o.conns + static_cast<int>(c));
      size_t n = 1 + (id * 977 + static_cast<uint32_t>(r) * 131) % out.size();
      for (size_t i = 0; i < n; ++i) out[i] = pattern(id, pos[c] + i);
      if (!write_all(fds[c], out.data(), n)) return fail("blocking send", errno);
      if (!read_all(fds[c], in.data(), n)) return fail("blocking recv", errno);
      if (memcmp(in.data(), out.data(), n) != 0) return fail("blocking: echoed bytes differ");
      pos[c] += n;
      g_bytes.fetch_add(n);
    }
  }
  for (int fd : fds) close(fd);
}

// One thread, non-blocking sockets in its own epoll set (edge- or level-triggered by thread):
// every connection streams `rounds` chunks and verifies what comes back as it arrives.
void epoll_worker(const Options& o, int t) {
  bool edge = (t / 2) % 2 == 1;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct Conn {
    int fd;
    uint32_t id;
    uint64_t sent = 0, got = 0, total = 0;
  };
  std::vector<Conn> conns;
  for (int c = 0; c < o.conns; ++c) {
    int fd = connect_to(o, true);
    if (fd < 0) return fail("epoll connect", -fd);
    uint32_t id = static_cast<uint32_t>(t * o.conns + c);
    conns.push_back(Conn{fd, id, 0, 0, static_cast<uint64_t>(o.rounds) * (1000 + id % 9000)});
  }
  for (size_t i = 0; i < conns.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | (edge ? uint32_t{EPOLLET} : 0u);
    ev.data.u64 = i;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0) return fail("epoll_ctl", errno);
  }
  size_t done = 0;
  uint8_t buf[8192];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (done < conns.size()) {
    if (std::chrono::steady_clock::now() > deadline) return fail("epoll worker: no progress for 120 s");
    epoll_event evs[64];
    int n = epoll_wait(ep, evs, 64, 1000);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("epoll_wait", errno);
    for (int k = 0; k < n; ++k) {
      Conn& c = conns[evs[k].data.u64];
      if (c.fd < 0) continue;
      // Edge-triggered: drain both directions until EAGAIN.
      for (bool progress = true; progress;) {
        progress = false;
        if (c.sent < c.total) {
          size_t m = static_cast<size_t>(std::min<uint64_t>(sizeof buf, c.total - c.sent));
          for (size_t i = 0; i < m; ++i) buf[i] = pattern(c.id, c.sent + i);
          ssize_t w = send(c.fd, buf, m, MSG_NOSIGNAL);
          if (w > 0) {
            c.sent += static_cast<uint64_t>(w);
            progress = true;
          } else if (w < 0 && errno != EAGAIN) {
            return fail("epoll send", errno);
          }
        }
        ssize_t r = recv(c.fd, buf, sizeof buf, 0);
        if (r > 0) {
          for (ssize_t i = 0; i < r; ++i) {
            if (buf[i] != pattern(c.id, c.got + static_cast<uint64_t>(i))) return fail("epoll: echoed bytes differ");
          }
          c.got += static_cast<uint64_t>(r);
          g_bytes.fetch_add(static_cast<uint64_t>(r));
          progress = true;
        } else if (r == 0 || (r < 0 && errno != EAGAIN)) {
          return fail("epoll recv: connection ended early", r < 0 ? errno : 0);
        }
        if (!edge) break;
      }
      if (c.got == c.total) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        close(c.fd);
        c.fd = -1;
        ++done;
      }
    }
  }
  close(ep);
}

// Echoes one 4 KiB pattern through `fd`; false if a byte differs or the connection failed.
bool echo_once(int fd, uint32_t seed) {
  uint8_t out[4096], in[4096];
  for (size_t k = 0; k < sizeof out; ++k) out[k] = pattern(seed, k);
  return write_all(fd, out, sizeof out) && read_all(fd, in, sizeof in) &&
         memcmp(in, out, sizeof in) == 0;
}

// While the others stream: fork, as a fork-per-connection server does: the parent connects,
// forks and closes its copy; the child serves that connection (it moves into the child's
// context), closes the long-lived inherited one unused, and echoes through one of its own too.
// The parent's traffic goes on, and its own copy of the long-lived connection stays open.
void forker(const Options& o, int inherited_fd) {
  for (int i = 0; i < o.forks && !g_traffic_done.load(); ++i) {
    int handoff = connect_to(o, false);
    if (handoff < 0) return fail("connect before fork");
    pid_t pid = fork();
    if (pid < 0) return fail("fork", errno);
    if (pid == 0) {
      int rc = 0;
      close(inherited_fd);  // never used here: the parent keeps it
      if (!echo_once(handoff, 0xbeef + i)) rc = 2;
      close(handoff);
      int fd = connect_to(o, false);
      if (fd < 0 || !echo_once(fd, 0xfeed)) rc = 3;
      if (fd >= 0) close(fd);
      _exit(rc);
    }
    close(handoff);  // the child serves it
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "shim-stress: fork child %d exited with status %d\n", i, status);
      fail("fork child failed");
    } else {
      ++g_forks_served;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // spread forks over the traffic
  }
  if (!echo_once(inherited_fd, 0xcafe)) fail("the connection the fork children closed is gone");
}

// A thread blocked in recv() on a socket another thread closes must return, not hang.
void close_while_blocked(const Options& o) {
  for (int i = 0; i < 8; ++i) {
    int fd = connect_to(o, false);
    if (fd < 0) return fail("connect (close test)", -fd);
    std::atomic<bool> returned{false};
    std::thread t([&] {
      uint8_t b;
      recv(fd, &b, 1, 0);  // nothing was sent: blocks until the close
      returned = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it block: an upper bound follows
    close(fd);
    for (int w = 0; w < 500 && !returned; ++w) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!returned) {
      fail("recv blocked on a closed socket did not return within 5 s");
      t.detach();
      return;
    }
    t.join();
  }
}

void on_signal(int) {}

// SA_RESTART: a blocked recv survives the handler and returns the data sent afterwards;
// without SA_RESTART it fails with EINTR.
void signals_check(const Options& o) {
  for (int restart = 1; restart >= 0; --restart) {
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, nullptr);
    int fd = connect_to(o, false);
    if (fd < 0) return fail("connect (signal test)", -fd);
    std::atomic<ssize_t> result{-2};
    std::atomic<int> err{0};
    std::thread t([&] {
      uint8_t b;
      ssize_t r = recv(fd, &b, 1, 0);
      err = errno;
      result = r;
    });
    // Several signals over a while: whenever recv started blocking, later ones find it blocked.
    for (int k = 0; k < 10 && result == -2; ++k) {
      pthread_kill(t.native_handle(), SIGUSR1);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (restart) {
      if (result != -2) fail("recv returned after a SA_RESTART handler instead of restarting");
      char b = 'r';
      write_all(fd, reinterpret_cast<uint8_t*>(&b), 1);  // the echo ends the restarted recv
    }
    for (int w = 0; w < 500 && result == -2; ++w) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (result == -2) {
      fail(restart ? "restarted recv did not return the echoed byte" : "recv did not return after the signal");
      shutdown(fd, SHUT_RDWR);
    } else if (restart && result != 1) {
      fail("restarted recv did not return 1 byte", err);
    } else if (!restart && !(result == -1 && err == EINTR)) {
      fail("recv without SA_RESTART did not fail with EINTR");
    }
    t.join();
    close(fd);
  }
}

// sendmmsg of three scatter-gather messages, read back with recvmmsg(MSG_WAITFORONE).
void mmsg_check(const Options& o) {
  int fd = connect_to(o, false);
  if (fd < 0) return fail("connect (mmsg test)", -fd);
  uint8_t out[3][700];
  iovec iov[3][2];
  mmsghdr msgs[3]{};
  for (int m = 0; m < 3; ++m) {
    for (size_t k = 0; k < sizeof out[m]; ++k) out[m][k] = pattern(0xbeef, static_cast<uint64_t>(m) * sizeof out[m] + k);
    iov[m][0] = {out[m], 300};
    iov[m][1] = {out[m] + 300, sizeof out[m] - 300};
    msgs[m].msg_hdr.msg_iov = iov[m];
    msgs[m].msg_hdr.msg_iovlen = 2;
  }
  if (sendmmsg(fd, msgs, 3, MSG_NOSIGNAL) != 3) fail("sendmmsg did not send 3 messages", errno);
  for (int m = 0; m < 3; ++m) {
    if (msgs[m].msg_len != sizeof out[m]) fail("sendmmsg: short message");
  }
  std::vector<uint8_t> got;
  uint8_t in[4][512];
  while (got.size() < sizeof out) {
    iovec riov[4];
    mmsghdr rm[4]{};
    for (int m = 0; m < 4; ++m) {
      riov[m] = {in[m], sizeof in[m]};
      rm[m].msg_hdr.msg_iov = &riov[m];
      rm[m].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fd, rm, 4, MSG_WAITFORONE, nullptr);
    if (n <= 0) {
      fail("recvmmsg", n < 0 ? errno : 0);
      break;
    }
    for (int m = 0; m < n; ++m) got.insert(got.end(), in[m], in[m] + rm[m].msg_len);
  }
  if (got.size() != sizeof out || memcmp(got.data(), out, sizeof out) != 0) fail("mmsg: echoed bytes differ");
  close(fd);
}

int client(const Options& o) {
  auto start = std::chrono::steady_clock::now();
  mmsg_check(o);
  signals_check(o);
  close_while_blocked(o);
  int keep = connect_to(o, false);  // inherited by the fork children
  std::vector<std::thread> ts;
  for (int t = 0; t < o.threads; ++t) {
    ts.emplace_back(t % 2 == 0 ? blocking_worker : epoll_worker, std::cref(o), t);
  }
  std::thread f(forker, std::cref(o), keep);
  for (auto& t : ts) t.join();
  g_traffic_done = true;
  f.join();
  close(keep);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  printf("{\"ok\": %s, \"threads\": %d, \"connections\": %d, \"bytes_verified\": %llu, \"forks\": %d, "
         "\"failures\": %llu, \"seconds\": %.2f}\n",
         g_failures == 0 ? "true" : "false", o.threads, o.threads * o.conns,
         static_cast<unsigned long long>(g_bytes.load()), g_forks_served.load(),
         static_cast<unsigned long long>(g_failures.load()), secs);
  return g_failures == 0 ? 0 : 1;
}

// A single-threaded epoll echo server on Linux TCP, for the client's peer.
int serve(int port) {
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(ls, 4096) < 0) {
    perror("shim-stress: bind/listen");
    return 1;
  }
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = ls;
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  printf("listening %d\n", port);
  fflush(stdout);
  std::vector<std::string> pending(1 << 16);  // unsent echo bytes per descriptor
  static char buf[65536];
  for (;;) {
    epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      if (fd == ls) {
        int c;
        while ((c = accept4(ls, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
          if (static_cast<size_t>(c) >= pending.size()) {
            close(c);
            continue;
          }
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLOUT | EPOLLET;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      std::string& q = pending[static_cast<size_t>(fd)];
      bool closed = false;
      for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r > 0) {
          q.append(buf, static_cast<size_t>(r));
          continue;
        }
        if (r == 0 || errno != EAGAIN) closed = true;
        break;
      }
      while (!q.empty()) {
        ssize_t w = send(fd, q.data(), q.size(), MSG_NOSIGNAL);
        if (w <= 0) break;
        q.erase(0, static_cast<size_t>(w));
      }
      if (closed) {
        q.clear();
        close(fd);
      }
    }
  }
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = next();
    if (v == nullptr) return false;
    if (a == "--serve") {
      o.serve_port = atoi(v);
    } else if (a == "--connect") {
      std::string s = v;
      size_t colon = s.rfind(':');
      if (colon == std::string::npos) return false;
      o.ip = s.substr(0, colon);
      o.port = static_cast<uint16_t>(atoi(s.c_str() + colon + 1));
    } else if (a == "--threads") {
      o.threads = atoi(v);
    } else if (a == "--conns") {
      o.conns = atoi(v);
    } else if (a == "--rounds") {
      o.rounds = atoi(v);
    } else if (a == "--forks") {
      o.forks = atoi(v);
    } else {
      return false;
    }
  }
  return o.serve_port > 0 || (o.port != 0 && o.threads > 0 && o.conns > 0 && o.rounds > 0);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    fprintf(stderr,
            "usage: shim-stress --serve PORT | --connect IP:PORT [--threads N] [--conns N] [--rounds N] "
            "[--forks N]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  return o.serve_port > 0 ? serve(o.serve_port) : client(o);
}
