// A stand-in for the daemon in unit tests: an app region in ordinary memory, real eventfd
// doorbells, a scripted slow path answering requests, and helpers playing the fast path's and the
// slow path's side of the queues and rings. Header-only; used by tests/unit/test_shim_*.cpp.
#pragma once
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/context.hpp"
#include "core/stack.hpp"
#include "virtuoso/shm/atomic.hpp"
#include "virtuoso/shm/byte_ring.hpp"

namespace virtuoso::shim::testing {

inline abi::AppLayout small_layout() {
  abi::AppLayout l{};
  l.n_slots = 8;
  l.rx_size = 4096;
  l.tx_size = 4096;
  l.atx_capacity = 16;
  l.arx_capacity = 16;
  l.ctl_capacity = 16;
  return l;
}

// The slow path's answers: records every request and answers with `handler` (or defaults).
// Outlives the context's channel (a context may drop its channel, e.g. after fork).
class ChannelScript {
 public:
  using Handler = std::function<bool(const abi::AppRequest&, abi::AppResponse&)>;
  int call(abi::AppRequest& req, abi::AppResponse& resp) {
    Handler h;
    {
      std::lock_guard<std::mutex> lk(mu);
      req.seq = next_seq++;
      requests.push_back(req);
      h = handler;
    }
    resp = {};
    resp.kind = req.kind;
    resp.seq = req.seq;
    if (!(h && h(req, resp))) answer(req, resp);
    std::lock_guard<std::mutex> lk(mu);
    if (req.kind == static_cast<uint32_t>(abi::AppRequestKind::kListen)) last_listen_id = resp.id;
    return 0;
  }
  static void answer(const abi::AppRequest& req, abi::AppResponse& resp) {
    switch (static_cast<abi::AppRequestKind>(req.kind)) {
      case abi::AppRequestKind::kListen:
        resp.id = 100 + req.seq;
        resp.port = req.port != 0 ? req.port : 40000;
        break;
      case abi::AppRequestKind::kBind:
        resp.port = req.port != 0 ? req.port : 41000;
        resp.ip = req.ip;
        break;
      case abi::AppRequestKind::kConnect:
        resp.ip = 0x0a000001;
        resp.port = 50000;
        break;
      case abi::AppRequestKind::kShareListener:
        resp.id = 500 + req.seq;
        break;
      default:
        break;
    }
  }
  std::vector<abi::AppRequest> take() {
    std::lock_guard<std::mutex> lk(mu);
    std::vector<abi::AppRequest> out;
    out.swap(requests);
    return out;
  }
  std::vector<abi::AppRequest> of_kind(abi::AppRequestKind k) {
    std::lock_guard<std::mutex> lk(mu);
    std::vector<abi::AppRequest> out;
    for (const auto& r : requests) {
      if (r.kind == static_cast<uint32_t>(k)) out.push_back(r);
    }
    return out;
  }

  std::mutex mu;
  std::vector<abi::AppRequest> requests;
  Handler handler;
  uint32_t next_seq = 1;
  uint32_t last_listen_id = 0;
  std::vector<int> passed_fds;  // descriptors sent with requests (kInherit), in order
  std::vector<int> handed_fds;  // descriptors answers carried (kForkHold: a hold link), in order
};

// A link to the fake slow path: app.sock, or a hold link (then it owns the descriptor standing
// for it, as the real channel does).
class FakeChannel : public RequestChannel {
 public:
  explicit FakeChannel(std::shared_ptr<ChannelScript> s, int owned_fd = -1)
      : script_(std::move(s)), owned_fd_(owned_fd) {}
  ~FakeChannel() override {
    if (owned_fd_ >= 0) ::close(owned_fd_);
  }
  int call(abi::AppRequest& req, abi::AppResponse& resp) override {
    return script_->call(req, resp);
  }
  int call_with_fd(abi::AppRequest& req, abi::AppResponse& resp, int fd) override {
    {
      std::lock_guard<std::mutex> lk(script_->mu);
      script_->passed_fds.push_back(fd);
    }
    return script_->call(req, resp);
  }
  // A successful answer carries a fresh descriptor (an eventfd standing for a hold link).
  int call_receiving_fd(abi::AppRequest& req, abi::AppResponse& resp, int& fd) override {
    fd = -1;
    int rc = script_->call(req, resp);
    if (rc == 0 && resp.error == 0) {
      fd = eventfd(0, EFD_CLOEXEC);
      std::lock_guard<std::mutex> lk(script_->mu);
      script_->handed_fds.push_back(fd);
    }
    return rc;
  }

 private:
  std::shared_ptr<ChannelScript> script_;
  int owned_fd_;
};

// Hold links the stack makes from kForkHold descriptors, all answered by `script`.
inline HoldChannelFactory fake_hold_links(std::shared_ptr<ChannelScript> script) {
  return [script](const KernelOps&, int fd) -> std::unique_ptr<RequestChannel> {
    return std::make_unique<FakeChannel>(script, fd);
  };
}

class FakeDaemon {
 public:
  explicit FakeDaemon(abi::AppLayout layout = small_layout())
      : layout_(layout), bytes_(layout.total_bytes()) {
    mem_ = static_cast<uint8_t*>(std::aligned_alloc(4096, (bytes_ + 4095) / 4096 * 4096));
    std::memset(mem_, 0, bytes_);
    view_.base = mem_;
    view_.layout = layout_;
    auto* h = view_.header();
    h->magic = abi::kAppRegionMagic;
    h->version = abi::kAbiVersion;
    h->n_slots = layout.n_slots;
    h->rx_size = layout.rx_size;
    h->tx_size = layout.tx_size;
    h->atx_capacity = layout.atx_capacity;
    h->arx_capacity = layout.arx_capacity;
    h->ctl_capacity = layout.ctl_capacity;
    h->region_bytes = bytes_;
    view_.atx().reset();
    view_.arx().reset();
    view_.ctl().reset();
    app_doorbell_ = eventfd(0, EFD_CLOEXEC);
    fp_doorbell_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  }
  ~FakeDaemon() {
    ::close(app_doorbell_);
    ::close(fp_doorbell_);
    std::free(mem_);
  }
  FakeDaemon(const FakeDaemon&) = delete;
  FakeDaemon& operator=(const FakeDaemon&) = delete;

  // A context over this region; the daemon keeps a pointer to its channel.
  std::shared_ptr<Context> make_context(const KernelOps& k) {
    Context::Params p;
    p.view = view_;
    p.app_doorbell = app_doorbell_;
    p.fp_doorbell = fp_doorbell_;
    p.ctx_id = ctx_id;
    p.local_ip = local_ip;
    p.channel = std::make_unique<FakeChannel>(channel);
    return std::make_shared<Context>(k, std::move(p));
  }

  const abi::AppRegionView& view() const { return view_; }
  abi::AppRegionHeader& header() { return *view_.header(); }
  abi::FlowSlot& slot(uint32_t i) { return *view_.slot(i); }
  int app_doorbell() const { return app_doorbell_; }

  // Slow path: a flow is ready in `slot` (positions start at `start`).
  void prepare_slot(uint32_t s, uint32_t gen, uint32_t start = 0) {
    abi::FlowSlot& f = slot(s);
    f.gen = gen;
    f.rx_head = f.rx_tail = f.tx_head = f.tx_tail = start;
    f.rx_fin = 0;
    f.error = 0;
    f.app_busy = 0;
  }
  bool push_ctl(const abi::CtlEvent& ev) {
    bool ok;
    {
      std::lock_guard<std::mutex> lk(ctl_mu_);
      ok = view_.ctl().try_push(ev);
    }
    ring_if_sleeping();
    return ok;
  }
  void accepted(uint32_t listener_id, uint32_t s, uint32_t gen, uint16_t remote_port = 33333) {
    prepare_slot(s, gen);
    abi::CtlEvent ev{};
    ev.kind = static_cast<uint16_t>(abi::CtlEventKind::kAccepted);
    ev.id = listener_id;
    ev.slot = s;
    ev.gen = gen;
    ev.local_ip = local_ip;
    ev.local_port = 8080;
    ev.remote_ip = 0x0a000002;
    ev.remote_port = remote_port;
    ev.mss = 1460;
    push_ctl(ev);
  }
  void connected(uint32_t cookie, uint32_t s, uint32_t gen, uint32_t start = 0) {
    prepare_slot(s, gen, start);
    abi::CtlEvent ev{};
    ev.kind = static_cast<uint16_t>(abi::CtlEventKind::kConnected);
    ev.id = cookie;
    ev.slot = s;
    ev.gen = gen;
    ev.local_ip = local_ip;
    ev.local_port = 50000;
    ev.remote_ip = 0x0a000002;
    ev.remote_port = 7;
    ev.mss = 1460;
    push_ctl(ev);
  }
  void connect_failed(uint32_t cookie, int err) {
    abi::CtlEvent ev{};
    ev.kind = static_cast<uint16_t>(abi::CtlEventKind::kConnectFailed);
    ev.id = cookie;
    ev.error = err;
    push_ctl(ev);
  }
  // The kClaim with `cookie` completed into `s`/`gen` of this context (or failed with `err`).
  void adopted(uint32_t cookie, uint32_t s, uint32_t gen, int err = 0) {
    abi::CtlEvent ev{};
    ev.kind = static_cast<uint16_t>(abi::CtlEventKind::kAdopted);
    ev.id = cookie;
    ev.slot = s;
    ev.gen = gen;
    ev.error = err;
    ev.mss = 1460;
    push_ctl(ev);
  }
  // Slow path: another holder's claim takes slot `s` from this app, as the daemon does: swaps
  // app_busy 0 -> kSlotTaken and, if that worked, tells the app with kTaken. False: the app is
  // working on the slot (or closing it).
  bool take(uint32_t s, uint32_t gen) {
    if (!shm::compare_exchange(slot(s).app_busy, 0u, abi::kSlotTaken)) return false;
    abi::CtlEvent ev{};
    ev.kind = static_cast<uint16_t>(abi::CtlEventKind::kTaken);
    ev.slot = s;
    ev.gen = gen;
    push_ctl(ev);
    return true;
  }
  void reset(uint32_t s, uint32_t gen, int err) {
    abi::CtlEvent ev{};
    ev.kind = static_cast<uint16_t>(abi::CtlEventKind::kReset);
    ev.slot = s;
    ev.gen = gen;
    ev.error = err;
    push_ctl(ev);
  }

  // Fast path: bytes arrive for slot `s` (as much as fits), announced with kRxData.
  size_t deliver(uint32_t s, const std::string& data) {
    abi::FlowSlot& f = slot(s);
    uint32_t head = f.rx_head;
    uint32_t used = head - shm::load_acquire(f.rx_tail);
    size_t n = std::min<size_t>(layout_.rx_size - used, data.size());
    shm::ring_write(view_.rx_buf(s), layout_.rx_size, head, data.data(), n);
    shm::store_release(f.rx_head, head + static_cast<uint32_t>(n));
    app_event(s, abi::AppEventKind::kRxData);
    return n;
  }
  void peer_fin(uint32_t s) {
    shm::store_release(slot(s).rx_fin, uint32_t{1});
    app_event(s, abi::AppEventKind::kPeerFin);
  }
  // The peer acknowledged everything queued: returns the bytes and frees the tx ring.
  // Acknowledges everything written so far; `tell`: announce the space at once (kTxSpace), as
  // the fast path does at the end of its loop pass; without it, call app_event later.
  std::string take_tx(uint32_t s, bool tell = true) {
    abi::FlowSlot& f = slot(s);
    uint32_t tail = f.tx_tail;
    uint32_t head = shm::load_acquire(f.tx_head);
    std::string out(head - tail, '\0');
    shm::ring_read(view_.tx_buf(s), layout_.tx_size, tail, out.data(), out.size());
    shm::store_release(f.tx_tail, head);
    if (tell) app_event(s, abi::AppEventKind::kTxSpace);
    return out;
  }
  void app_event(uint32_t s, abi::AppEventKind kind) {
    abi::AppEvent ev{s, slot(s).gen, static_cast<uint16_t>(kind), 0, 0};
    {
      std::lock_guard<std::mutex> lk(arx_mu_);
      if (!view_.arx().try_push(ev)) shm::store_release(header().arx_overflow, uint32_t{1});
    }
    ring_if_sleeping();
  }
  std::vector<abi::AppCmd> take_cmds() {
    std::vector<abi::AppCmd> out;
    abi::AppCmd c;
    auto atx = view_.atx();
    while (atx.try_pop(c) == shm::PopResult::kOk) out.push_back(c);
    return out;
  }
  // The doorbell protocol's producer half: push, fence, ring only if the app said it sleeps.
  void ring_if_sleeping() {
    shm::full_fence();
    if (shm::load_relaxed(header().app_sleeping) != 0) {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t r = ::write(app_doorbell_, &one, sizeof one);
    }
  }

  std::shared_ptr<ChannelScript> channel = std::make_shared<ChannelScript>();
  uint32_t local_ip = 0x0a000001;
  uint32_t ctx_id = 1;  // what the registration answered

 private:
  abi::AppLayout layout_;
  size_t bytes_;
  uint8_t* mem_ = nullptr;
  abi::AppRegionView view_{};
  int app_doorbell_ = -1;
  int fp_doorbell_ = -1;
  std::mutex ctl_mu_;
  std::mutex arx_mu_;
};

// A Stack attached to a FakeDaemon. poll_us 0 by default so tests exercise the sleeping path.
struct Harness {
  explicit Harness(uint32_t poll_us = 0, abi::AppLayout layout = small_layout())
      : daemon(layout), k(libc_kernel_ops()) {
    ctx = daemon.make_context(k);
    StackConfig cfg;
    cfg.poll_us = poll_us;
    std::shared_ptr<Context> c = ctx;
    stack = std::make_unique<Stack>(
        k, cfg,
        [c](const KernelOps&, std::shared_ptr<Context>& out) {
          out = c;
          return 0;
        },
        fake_hold_links(hold_links));
  }
  ChannelScript& channel() { return *daemon.channel; }

  static struct sockaddr_in addr(uint32_t ip, uint16_t port) {
    struct sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(ip);
    a.sin_port = htons(port);
    return a;
  }
  // A socket connected through a non-blocking connect completed by kConnected in `slot`.
  int connect_socket(uint32_t slot, uint32_t gen, uint32_t start = 0, bool nonblocking = true) {
    int fd = stack->socket(SOCK_STREAM | SOCK_NONBLOCK);
    struct sockaddr_in a = addr(0x0a000002, 7);
    auto* sa = reinterpret_cast<struct sockaddr*>(&a);
    if (stack->connect(fd, sa, sizeof a) != -EINPROGRESS) return -1;
    daemon.connected(channel().of_kind(abi::AppRequestKind::kConnect).back().id, slot, gen, start);
    if (stack->connect(fd, sa, sizeof a) != 0) return -1;
    if (!nonblocking) stack->fcntl(fd, F_SETFL, 0);
    return fd;
  }
  // A listening socket; `id` receives the listener id the fake slow path gave it.
  int listen_socket(uint16_t port, uint32_t& id) {
    int fd = stack->socket(SOCK_STREAM);
    struct sockaddr_in a = addr(0, port);
    if (stack->bind(fd, reinterpret_cast<struct sockaddr*>(&a), sizeof a) != 0) return -1;
    if (stack->listen(fd, 16) != 0) return -1;
    std::lock_guard<std::mutex> lk(channel().mu);
    id = channel().last_listen_id;
    return fd;
  }
  // Spins until some thread announced sleep on the app doorbell (the protocol's own signal).
  void wait_app_sleeping() {
    while (shm::load_acquire(daemon.header().app_sleeping) == 0) __builtin_ia32_pause();
  }

  FakeDaemon daemon;
  KernelOps k;
  std::shared_ptr<Context> ctx;
  std::shared_ptr<ChannelScript> hold_links = std::make_shared<ChannelScript>();
  std::unique_ptr<Stack> stack;
};

}  // namespace virtuoso::shim::testing
