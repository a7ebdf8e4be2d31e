// One attachment to the daemon: the mapped app region and its three queues, the doorbells, the
// link to the slow path, and which socket owns each slot, listener id and connect cookie.
// Everything but request() is called with the stack lock held.
#pragma once
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "kernel_ops.hpp"
#include "request_channel.hpp"
#include "socket.hpp"
#include "virtuoso/abi/app_region.hpp"
#include "wake_hub.hpp"

namespace virtuoso::shim {

class Context : public std::enable_shared_from_this<Context> {
 public:
  struct Params {
    abi::AppRegionView view{};
    int app_doorbell = -1;
    int fp_doorbell = -1;
    uint32_t ctx_id = 0;
    uint32_t local_ip = 0;  // the stack's own address (getsockname on INADDR_ANY)
    std::unique_ptr<RequestChannel> channel;
    std::function<void()> release;  // unmaps the region and closes the doorbells
  };
  // A slow-path request to send once the stack lock is released.
  struct Deferred {
    abi::AppRequest req{};
    bool after_slot_cmds = false;  // send only after req.slot's queued commands reached the atx queue
  };
  struct Counters {
    uint64_t bad_events = 0;    // entries naming an impossible slot or a slot in use
    uint64_t stale_events = 0;  // entries for a generation we no longer hold
    uint64_t cmds_deferred = 0; // commands that found the atx queue full
  };

  Context(const KernelOps& k, Params p);
  ~Context();
  // What an inherited socket names as its context in a program that got it through exec (it
  // never had the one the socket came from): dead, owning nothing, as an abandoned one.
  static std::shared_ptr<Context> detached(const KernelOps& k);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const abi::AppRegionView& view() const { return p_.view; }
  abi::FlowSlot& flow_slot(uint32_t i) const { return *p_.view.slot(i); }
  uint32_t local_ip() const { return p_.local_ip; }
  uint32_t ctx_id() const { return p_.ctx_id; }
  WakeHub& hub() { return hub_; }
  bool dead() const { return dead_; }
  const Counters& counters() const { return counters_; }
  // The daemon went away or broke the queue protocol: every socket of this context fails.
  void mark_dead();

  // Commands to the fast path. Full is normal: the command waits in a local queue and is pushed by
  // a later call (every drain retries), so a kTxBump is never lost. Rings the fast path if it sleeps.
  void push_cmd(const Socket& s, abi::AppCmdKind kind);
  bool flush_cmds();  // true when nothing is left waiting
  bool cmds_pending() const { return !pending_cmds_.empty(); }
  bool cmds_pending_for(uint32_t slot, uint32_t gen) const;

  // Pops every arx and ctl entry and applies it to the sockets; true if anything changed.
  bool drain();
  // Re-reads what the fast path publishes for a connected socket: its error and its positions.
  void refresh(Socket& s) const;

  // Shared connection `s` lost its slot to another holder's claim (kTaken, or app_busy found
  // kSlotTaken): forgets the slot and leaves `s` holding a reference, to be claimed back by its
  // addresses (Socket::taken). take_newly_taken() counts the kTaken events that did so since it
  // was last called (the stack counts them among the sockets to adopt).
  void lose_slot(Socket& s);
  uint32_t take_newly_taken() {
    uint32_t n = newly_taken_;
    newly_taken_ = 0;
    return n;
  }

  // Ownership maps.
  void attach_flow(Socket& s);  // also publishes the socket's SO_MAX_PACING_RATE for its flow
  // The socket's SO_MAX_PACING_RATE, in its flow's slot for the slow path (if it has a flow here).
  void publish_pacing_cap(const Socket& s);
  void detach_flow(const Socket& s);
  uint32_t add_cookie(Socket& s);
  void drop_cookie(uint32_t cookie);    // the kConnect / kClaim request failed
  // Released while connecting (what completes later is aborted) or claiming (closed, shared).
  void orphan_cookie(uint32_t cookie);
  void begin_listen() { ++listens_in_flight_; }
  void end_listen(uint32_t id, Socket* s);  // s null if kListen failed
  void remove_listener(uint32_t id) { listeners_.erase(id); }

  // In the child after fork(): the queues and the link are the parent's. Forgets every socket,
  // unmaps the region and closes the doorbells and the link, without a word to the daemon (the
  // child's references travel on its hold link). Returns the descriptors it closed.
  std::vector<int> abandon();
  // The daemon's descriptors this context holds (doorbells, the app.sock link).
  std::vector<int> own_fds() const;

  void defer(const abi::AppRequest& req, bool after_slot_cmds = false);
  std::vector<Deferred> take_deferred();

  // Slow path round trip; called WITHOUT the stack lock. 0 or -errno (the link broke).
  int request(abi::AppRequest& req, abi::AppResponse& resp);
  int call_with_fd(abi::AppRequest& req, abi::AppResponse& resp, int fd);
  int call_receiving_fd(abi::AppRequest& req, abi::AppResponse& resp, int& fd);
  bool link_broken() const { return link_broken_.load(std::memory_order_acquire); }

 private:
  void on_app_event(const abi::AppEvent& ev);
  void on_ctl_event(const abi::CtlEvent& ev);
  void on_accepted(const abi::CtlEvent& ev);
  void on_connected(const abi::CtlEvent& ev);
  void on_connect_failed(const abi::CtlEvent& ev);
  void on_adopted(const abi::CtlEvent& ev);
  void on_taken(const abi::CtlEvent& ev);
  Socket* socket_for(uint32_t slot, uint32_t gen);
  // The socket a completion names by cookie, taken off the map; false (counted stale) if unknown.
  // `s` is null for a socket released while it waited.
  bool take_cookie(uint32_t cookie, Socket*& s);
  bool slot_free(uint32_t slot) const;
  std::shared_ptr<Socket> make_accepted(const abi::CtlEvent& ev);
  // Lets go of slot/gen in the daemon once the lock is released (kAbort, or a shared kClose).
  void release_later(abi::AppRequestKind kind, uint32_t slot, uint32_t gen, uint32_t flags = 0);
  void rescan_all();
  void touch(Socket& s);
  void ring_fast_path();

  KernelOps k_;
  Params p_;
  WakeHub hub_;
  bool dead_ = false;
  bool abandoned_ = false;
  std::atomic<bool> link_broken_{false};
  std::vector<Socket*> slots_;  // slot -> the socket owning it (connected or waiting in a backlog)
  std::unordered_map<uint32_t, Socket*> listeners_;
  // Connect and claim cookies; null: released while connecting or claiming.
  std::unordered_map<uint32_t, Socket*> cookies_;
  uint32_t next_cookie_ = 1;
  int listens_in_flight_ = 0;
  std::vector<abi::CtlEvent> parked_accepts_;  // kAccepted that beat their kListen answer
  std::deque<abi::AppCmd> pending_cmds_;
  bool fp_ring_due_ = false;
  uint32_t newly_taken_ = 0;
  std::vector<Deferred> deferred_;
  Counters counters_;
};

}  // namespace virtuoso::shim
