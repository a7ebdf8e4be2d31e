// shim-loopback-daemon: a test double for the daemon, so the preloaded shim can be run with real
// programs before (and without) DPDK. It speaks the real app.sock protocol and the real region
// layout, and plays both stack processes for connections between its own apps: a connect to a
// port someone listens on becomes a pair of slots, and bytes move from one slot's tx ring into the
// other's rx ring. It is not a TCP stack (no network, no wire): only the shim's side is real.
//
//   shim-loopback-daemon --run-dir DIR [--ip A.B.C.D] [--slots N] [--ring BYTES]
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "virtuoso/abi/unix_proto.hpp"
#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/shm/byte_ring.hpp"

using namespace virtuoso;

namespace {

volatile sig_atomic_t g_stop = 0;

struct App;
struct Endpoint {
  App* app = nullptr;
  uint32_t slot = 0;
  uint32_t gen = 0;
  Endpoint* peer = nullptr;
  bool fin_requested = false;  // kTxFin seen
  bool fin_delivered = false;  // the peer's rx_fin set after our last byte
  bool released = false;       // kClose: the app is done, the bytes it queued still go out
};

struct App {
  int sock = -1;
  int doorbell = -1;
  uint8_t* base = nullptr;
  abi::AppRegionView view{};
  std::vector<std::unique_ptr<Endpoint>> slots;  // null: free
  std::vector<uint32_t> gens;
  bool ring_due = false;
};

struct Listener {
  App* app;
  uint32_t id;
};

class Daemon {
 public:
  Daemon(abi::AppLayout layout, uint32_t ip) : layout_(layout), ip_(ip) {
    fp_doorbell_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  }
  int run(const std::string& run_dir);

 private:
  void accept_app();
  bool handle_request(App& a);
  void answer(App& a, const abi::AppRequest& r, abi::AppResponse& resp);
  void do_register(App& a, const abi::AppRequest& r);
  void do_connect(App& a, const abi::AppRequest& r, abi::AppResponse& resp);
  Endpoint* open_slot(App& a);
  void free_slot(App& a, uint32_t slot, uint32_t gen, bool reset_peer);
  void close_slot(App& a, uint32_t slot, uint32_t gen);
  void reap(Endpoint& ep);
  bool poll_app_queues(App& a);
  void pump(Endpoint& from);
  void push_event(App& a, const Endpoint& ep, abi::AppEventKind kind);
  void push_ctl(App& a, const abi::CtlEvent& ev);
  void ring(App& a);
  void drop_app(size_t index);

  abi::AppLayout layout_;
  uint32_t ip_;
  int listen_fd_ = -1;
  int fp_doorbell_ = -1;
  std::vector<std::unique_ptr<App>> apps_;
  std::map<uint16_t, Listener> listeners_;  // by port
  std::map<uint16_t, App*> reserved_;
  uint32_t next_listener_ = 1;
  uint16_t next_port_ = 40000;
};

void Daemon::ring(App& a) {
  if (!a.ring_due) return;
  a.ring_due = false;
  shm::full_fence();
  if (shm::load_relaxed(a.view.header()->app_sleeping) != 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t r = write(a.doorbell, &one, sizeof one);
  }
}

void Daemon::push_event(App& a, const Endpoint& ep, abi::AppEventKind kind) {
  abi::AppEvent ev{ep.slot, ep.gen, static_cast<uint16_t>(kind), 0, 0};
  if (!a.view.arx().try_push(ev)) shm::store_seq_cst(a.view.header()->arx_overflow, uint32_t{1});
  a.ring_due = true;
}

void Daemon::push_ctl(App& a, const abi::CtlEvent& ev) {
  if (!a.view.ctl().try_push(ev)) fprintf(stderr, "loopback: ctl queue full, event lost\n");
  a.ring_due = true;
}

Endpoint* Daemon::open_slot(App& a) {
  for (uint32_t i = 0; i < a.slots.size(); ++i) {
    if (a.slots[i]) continue;
    auto ep = std::make_unique<Endpoint>();
    ep->app = &a;
    ep->slot = i;
    ep->gen = ++a.gens[i];
    abi::FlowSlot* fs = a.view.slot(i);
    fs->rx_head = fs->rx_tail = fs->tx_head = fs->tx_tail = 0;
    fs->rx_fin = 0;
    fs->error = 0;
    fs->gen = ep->gen;
    a.slots[i] = std::move(ep);
    return a.slots[i].get();
  }
  return nullptr;
}

void Daemon::close_slot(App& a, uint32_t slot, uint32_t gen) {
  if (slot >= a.slots.size() || !a.slots[slot] || a.slots[slot]->gen != gen) return;
  Endpoint* ep = a.slots[slot].get();
  ep->released = true;
  ep->fin_requested = true;
  pump(*ep);
  reap(*ep);
}

// A released endpoint goes once everything it queued (and its FIN) reached the peer.
void Daemon::reap(Endpoint& ep) {
  if (ep.released && (ep.fin_delivered || ep.peer == nullptr)) {
    free_slot(*ep.app, ep.slot, ep.gen, false);
  }
}

void Daemon::free_slot(App& a, uint32_t slot, uint32_t gen, bool reset_peer) {
  if (slot >= a.slots.size() || !a.slots[slot] || a.slots[slot]->gen != gen) return;
  Endpoint* ep = a.slots[slot].get();
  if (Endpoint* p = ep->peer) {
    p->peer = nullptr;
    if (reset_peer) {
      abi::CtlEvent ev{};
      ev.kind = static_cast<uint16_t>(abi::CtlEventKind::kReset);
      ev.slot = p->slot;
      ev.gen = p->gen;
      ev.error = ECONNRESET;
      push_ctl(*p->app, ev);
    }
  }
  a.slots[slot].reset();
}

// Moves what `from` queued into its peer's rx ring, as far as it has room; then the FIN.
void Daemon::pump(Endpoint& from) {
  Endpoint* to = from.peer;
  abi::FlowSlot* fs = from.app->view.slot(from.slot);
  uint32_t tail = fs->tx_tail;
  uint32_t used = shm::load_acquire(fs->tx_head) - tail;
  if (used > layout_.tx_size) return;  // the app broke its ring: leave the flow alone
  if (to == nullptr) return;
  abi::FlowSlot* ts = to->app->view.slot(to->slot);
  uint32_t head = ts->rx_head;
  uint32_t room = layout_.rx_size - (head - shm::load_acquire(ts->rx_tail));
  uint32_t n = std::min(used, room);
  if (n > 0) {
    std::vector<uint8_t> tmp(n);
    shm::ring_read(from.app->view.tx_buf(from.slot), layout_.tx_size, tail, tmp.data(), n);
    shm::ring_write(to->app->view.rx_buf(to->slot), layout_.rx_size, head, tmp.data(), n);
    shm::store_release(ts->rx_head, head + n);
    shm::store_release(fs->tx_tail, tail + n);
    push_event(*to->app, *to, abi::AppEventKind::kRxData);
    push_event(*from.app, from, abi::AppEventKind::kTxSpace);
  }
  if (from.fin_requested && !from.fin_delivered && n == used) {
    from.fin_delivered = true;
    shm::store_release(ts->rx_fin, uint32_t{1});
    push_event(*to->app, *to, abi::AppEventKind::kPeerFin);
    if (to->fin_delivered) {
      for (Endpoint* e : {&from, to}) {
        abi::CtlEvent ev{};
        ev.kind = static_cast<uint16_t>(abi::CtlEventKind::kClosed);
        ev.slot = e->slot;
        ev.gen = e->gen;
        push_ctl(*e->app, ev);
      }
    }
  }
}

bool Daemon::poll_app_queues(App& a) {
  bool work = false;
  abi::AppCmd c;
  auto atx = a.view.atx();
  while (atx.try_pop(c) == shm::PopResult::kOk) {
    work = true;
    if (c.slot >= a.slots.size() || !a.slots[c.slot] || a.slots[c.slot]->gen != c.gen) continue;
    Endpoint& ep = *a.slots[c.slot];
    if (ep.released) continue;
    switch (static_cast<abi::AppCmdKind>(c.kind)) {
      case abi::AppCmdKind::kTxBump:
        pump(ep);
        break;
      case abi::AppCmdKind::kRxConsumed:
        if (Endpoint* p = ep.peer) {
          pump(*p);
          reap(*p);
        }
        break;
      case abi::AppCmdKind::kTxFin:
        ep.fin_requested = true;
        pump(ep);
        break;
    }
  }
  return work;
}

void Daemon::do_connect(App& a, const abi::AppRequest& r, abi::AppResponse& resp) {
  resp.ip = ip_;
  resp.port = next_port_++;
  auto it = listeners_.find(r.port);
  abi::CtlEvent ev{};
  ev.id = r.id;
  Endpoint* client = it == listeners_.end() ? nullptr : open_slot(a);
  Endpoint* server = client ? open_slot(*it->second.app) : nullptr;
  if (server == nullptr) {
    if (client) free_slot(a, client->slot, client->gen, false);
    ev.kind = static_cast<uint16_t>(abi::CtlEventKind::kConnectFailed);
    ev.error = it == listeners_.end() ? ECONNREFUSED : ENOBUFS;
    push_ctl(a, ev);
    return;
  }
  client->peer = server;
  server->peer = client;
  ev.kind = static_cast<uint16_t>(abi::CtlEventKind::kConnected);
  ev.slot = client->slot;
  ev.gen = client->gen;
  ev.local_ip = ip_;
  ev.local_port = resp.port;
  ev.remote_ip = r.ip;
  ev.remote_port = r.port;
  ev.mss = 1460;
  push_ctl(a, ev);
  abi::CtlEvent acc = ev;
  acc.kind = static_cast<uint16_t>(abi::CtlEventKind::kAccepted);
  acc.id = it->second.id;
  acc.slot = server->slot;
  acc.gen = server->gen;
  acc.local_port = r.port;
  acc.remote_ip = ip_;
  acc.remote_port = resp.port;
  push_ctl(*it->second.app, acc);
}

void Daemon::answer(App& a, const abi::AppRequest& r, abi::AppResponse& resp) {
  switch (static_cast<abi::AppRequestKind>(r.kind)) {
    case abi::AppRequestKind::kBind: {
      uint16_t port = r.port != 0 ? r.port : next_port_++;
      if (reserved_.count(port) || listeners_.count(port)) {
        resp.error = EADDRINUSE;
        return;
      }
      reserved_[port] = &a;
      resp.ip = r.ip;
      resp.port = port;
      return;
    }
    case abi::AppRequestKind::kUnbind:
      if (reserved_.count(r.port) && reserved_[r.port] == &a) reserved_.erase(r.port);
      return;
    case abi::AppRequestKind::kListen: {
      uint16_t port = r.port != 0 ? r.port : next_port_++;
      bool mine = reserved_.count(port) && reserved_[port] == &a;
      if (listeners_.count(port) || (reserved_.count(port) && !mine)) {
        resp.error = EADDRINUSE;
        return;
      }
      reserved_.erase(port);
      listeners_[port] = {&a, next_listener_};
      resp.id = next_listener_++;
      resp.port = port;
      return;
    }
    case abi::AppRequestKind::kUnlisten:
      for (auto it = listeners_.begin(); it != listeners_.end(); ++it) {
        if (it->second.app == &a && it->second.id == r.id) {
          listeners_.erase(it);
          break;
        }
      }
      return;
    case abi::AppRequestKind::kConnect:
      do_connect(a, r, resp);
      return;
    case abi::AppRequestKind::kClose:
      close_slot(a, r.slot, r.gen);
      return;
    case abi::AppRequestKind::kAbort:
      free_slot(a, r.slot, r.gen, true);
      return;
    case abi::AppRequestKind::kAcceptAck:
      return;
    default:
      resp.error = EINVAL;
  }
}

void Daemon::do_register(App& a, const abi::AppRequest& r) {
  abi::AppResponse resp{};
  resp.kind = r.kind;
  resp.seq = r.seq;
  size_t bytes = layout_.total_bytes();
  int mfd = memfd_create("loopback-app", MFD_CLOEXEC);
  if (r.version != abi::kAbiVersion || mfd < 0 || ftruncate(mfd, bytes) < 0) {
    resp.error = r.version != abi::kAbiVersion ? EPROTO : ENOMEM;
    send(a.sock, &resp, sizeof resp, MSG_NOSIGNAL);
    if (mfd >= 0) close(mfd);
    return;
  }
  a.base = static_cast<uint8_t*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0));
  a.view = {a.base, layout_};
  abi::AppRegionHeader* h = a.view.header();
  h->magic = abi::kAppRegionMagic;
  h->version = abi::kAbiVersion;
  h->n_slots = layout_.n_slots;
  h->rx_size = layout_.rx_size;
  h->tx_size = layout_.tx_size;
  h->atx_capacity = layout_.atx_capacity;
  h->arx_capacity = layout_.arx_capacity;
  h->ctl_capacity = layout_.ctl_capacity;
  h->region_bytes = bytes;
  a.slots.resize(layout_.n_slots);
  a.gens.assign(layout_.n_slots, 0);
  a.doorbell = eventfd(0, EFD_CLOEXEC);
  resp.layout = layout_;
  resp.local_ip = ip_;
  int fds[3] = {mfd, a.doorbell, fp_doorbell_};
  char cbuf[CMSG_SPACE(sizeof fds)] = {};
  struct iovec iov = {&resp, sizeof resp};
  struct msghdr m = {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  sendmsg(a.sock, &m, MSG_NOSIGNAL);
  close(mfd);
}

bool Daemon::handle_request(App& a) {
  abi::AppRequest r{};
  ssize_t n = recv(a.sock, &r, sizeof r, MSG_DONTWAIT);
  if (n < 0 && errno == EAGAIN) return true;
  if (n != sizeof r) return false;
  if (r.kind == static_cast<uint32_t>(abi::AppRequestKind::kRegister)) {
    do_register(a, r);
    return true;
  }
  if (a.base == nullptr) return false;  // must register first
  abi::AppResponse resp{};
  resp.kind = r.kind;
  resp.seq = r.seq;
  // The events a request causes are queued before its answer is sent, the order the shim must
  // cope with (it registers cookies before asking and parks early kAccepted).
  answer(a, r, resp);
  send(a.sock, &resp, sizeof resp, MSG_NOSIGNAL);
  return true;
}

void Daemon::drop_app(size_t index) {
  App& a = *apps_[index];
  for (uint32_t i = 0; i < a.slots.size(); ++i) {
    if (a.slots[i]) free_slot(a, i, a.slots[i]->gen, true);
  }
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    it = it->second.app == &a ? listeners_.erase(it) : std::next(it);
  }
  for (auto it = reserved_.begin(); it != reserved_.end();) {
    it = it->second == &a ? reserved_.erase(it) : std::next(it);
  }
  close(a.sock);
  if (a.doorbell >= 0) close(a.doorbell);
  if (a.base) munmap(a.base, layout_.total_bytes());
  apps_.erase(apps_.begin() + static_cast<long>(index));
}

int Daemon::run(const std::string& run_dir) {
  std::string path = run_dir + "/" + abi::kAppSocketName;
  listen_fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  struct sockaddr_un sun = {};
  sun.sun_family = AF_UNIX;
  if (path.size() >= sizeof sun.sun_path) {
    fprintf(stderr, "shim-loopback-daemon: socket path too long: %s\n", path.c_str());
    return 1;
  }
  strcpy(sun.sun_path, path.c_str());
  unlink(path.c_str());
  if (bind(listen_fd_, reinterpret_cast<struct sockaddr*>(&sun), sizeof sun) < 0 ||
      listen(listen_fd_, 64) < 0) {
    fprintf(stderr, "shim-loopback-daemon: cannot listen on %s: %s\n", path.c_str(),
            strerror(errno));
    return 1;
  }
  printf("ready %s\n", path.c_str());
  fflush(stdout);
  while (!g_stop) {
    bool work = false;
    for (auto& a : apps_) {
      if (a->base) work |= poll_app_queues(*a);
    }
    for (auto& a : apps_) ring(*a);
    // Sleep protocol of the fast path: flag, re-check, then block on the doorbell.
    for (auto& a : apps_) {
      if (a->base) shm::store_seq_cst(a->view.header()->fp_sleeping, uint32_t{work ? 0u : 1u});
    }
    if (!work) {
      for (auto& a : apps_) {
        if (a->base && !a->view.atx().looks_empty()) work = true;
      }
    }
    std::vector<struct pollfd> fds = {{listen_fd_, POLLIN, 0}, {fp_doorbell_, POLLIN, 0}};
    for (auto& a : apps_) fds.push_back({a->sock, POLLIN, 0});
    if (poll(fds.data(), fds.size(), work ? 0 : 200) < 0 && errno != EINTR) break;
    for (auto& a : apps_) {
      if (a->base) shm::store_relaxed(a->view.header()->fp_sleeping, uint32_t{0});
    }
    if (fds[1].revents & POLLIN) {
      uint64_t v;
      [[maybe_unused]] ssize_t r = read(fp_doorbell_, &v, sizeof v);
    }
    for (size_t i = fds.size(); i-- > 2;) {
      if (fds[i].revents == 0) continue;
      if ((fds[i].revents & (POLLHUP | POLLERR)) || !handle_request(*apps_[i - 2])) drop_app(i - 2);
    }
    if (fds[0].revents & POLLIN) accept_app();
    for (auto& a : apps_) ring(*a);
  }
  unlink(path.c_str());
  return 0;
}

void Daemon::accept_app() {
  int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) return;
  auto a = std::make_unique<App>();
  a->sock = c;
  apps_.push_back(std::move(a));
}

}  // namespace

int main(int argc, char** argv) {
  std::string run_dir;
  abi::AppLayout layout{64, 65536, 65536, 256, 256, 64};
  uint32_t ip = 0x7f000001;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* what) -> std::string {
      if (i + 1 >= argc) {
        fprintf(stderr, "shim-loopback-daemon: %s needs a value\n", what);
        exit(2);
      }
      return argv[++i];
    };
    if (a == "--run-dir") {
      run_dir = value("--run-dir");
    } else if (a == "--ip") {
      struct in_addr in;
      std::string v = value("--ip");
      if (inet_pton(AF_INET, v.c_str(), &in) != 1) {
        fprintf(stderr, "shim-loopback-daemon: --ip %s is not an IPv4 address\n", v.c_str());
        return 2;
      }
      ip = ntohl(in.s_addr);
    } else if (a == "--slots") {
      layout.n_slots = static_cast<uint32_t>(atoi(value("--slots").c_str()));
    } else if (a == "--ring") {
      layout.rx_size = layout.tx_size = static_cast<uint32_t>(atoi(value("--ring").c_str()));
    } else {
      fprintf(stderr, "usage: shim-loopback-daemon --run-dir DIR [--ip A.B.C.D] [--slots N] "
                      "[--ring BYTES]\n");
      return 2;
    }
  }
  if (run_dir.empty() || !layout.valid()) {
    fprintf(stderr, "shim-loopback-daemon: need --run-dir; --slots in 1..65536 and --ring a "
                    "power of two >= 2048\n");
    return 2;
  }
  signal(SIGINT, [](int) { g_stop = 1; });
  signal(SIGTERM, [](int) { g_stop = 1; });
  signal(SIGPIPE, SIG_IGN);
  return Daemon(layout, ip).run(run_dir);
}
