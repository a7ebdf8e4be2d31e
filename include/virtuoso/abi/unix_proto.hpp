// Messages on the daemon's Unix sockets: app <-> slow path (app.sock) and fast path <-> slow path (fp.sock).
//
// Both sockets are SOCK_SEQPACKET: one message per send, fixed-size structs, file descriptors
// travel as SCM_RIGHTS on the message that announces them. Every request gets exactly one
// response with the same `seq`. Host byte order throughout.
#pragma once
#include <cstdint>
#include <type_traits>

#include "virtuoso/abi/app_region.hpp"
#include "virtuoso/abi/control_region.hpp"

namespace virtuoso::abi {

inline constexpr const char* kAppSocketName = "app.sock";  // in the daemon's run directory
inline constexpr const char* kFpSocketName = "fp.sock";
inline constexpr const char* kCtlSocketName = "ctl.sock";  // virtuosoctl: text request, JSON answer
inline constexpr const char* kRunDirEnv = "VIRTUOSO_RUN_DIR";  // where the shim finds app.sock
inline constexpr const char* kDefaultRunDir = "/run/virtuoso";

enum class AppRequestKind : uint32_t {
  kRegister = 1,   // first message: answer carries fds [region memfd, app doorbell, fp doorbell]
  kListen = 2,     // ip, port (0: ephemeral), backlog -> id = listener id, port = bound port
  kUnlisten = 3,   // id = listener id; unaccepted connections are reset
  kConnect = 4,    // ip, port = remote; local_ip/local_port optional (0); id = app's cookie.
                   //   Answer: error (EADDRNOTAVAIL, ENETUNREACH...) or 0 with local_ip/local_port;
                   //   completion arrives later as CtlEvent kConnected / kConnectFailed with the cookie.
  kClose = 5,      // slot, gen: the app released the socket (after kTxFin on the atx queue)
  kAbort = 6,      // slot, gen: close with RST (SO_LINGER 0) and release
  kAcceptAck = 7,  // id = listener id: one kAccepted connection was taken by accept() (backlog accounting)
  kBind = 8,       // ip, port (0: ephemeral): reserve a local address -> port = bound port
  kUnbind = 9,     // ip, port: release a reservation made by kBind that never listened
  kKeepalive = 10,  // slot, gen, keep_*: SO_KEEPALIVE / TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT
  // fork(). Each process holding a descriptor holds a reference on what it names, as Linux counts
  // file references: a connection gets its FIN (a listener closes) when the last holder lets go.
  kInherit = 11,        // SCM_RIGHTS [a hold link from kForkHold]: this app is the child the hold was
                        //   made for; the hold's references become this context's -> id = the context
                        //   the hold was taken from (its ancestor)
  kShareListener = 12,  // id = listener this context holds a reference on (inherited), backlog ->
                        //   id = this context's own listener on the same port (the reference is used
                        //   up); new connections are spread over the contexts accepting on it
  kAccepting = 13,      // id = own listener: this context takes connections from it (it forked
                        //   after listen(), then accepted or polled on it)
  kForkHold = 14,       // before fork(): the answer carries one descriptor (SCM_RIGHTS), a new hold
                        //   link holding a reference on every connection and listener the sender
                        //   holds. Only the child keeps it; it ends (references dropped) when the
                        //   child exits or execs without having passed it on with kInherit.
                        //   Also accepted on a hold link (a child forking before it registered).
  kClaim = 15,          // id = cookie; ctx, slot, gen = an inherited connection in context `ctx`
                        //   (or slot kClaimByTuple and local_ip, local_port, ip, port = its
                        //   addresses: a program exec'd with it knows no more than that):
                        //   move it into this context. Answer 0, then CtlEvent kAdopted with the
                        //   cookie once it moved. If the app owning it still holds it, the slow
                        //   path takes it (FlowSlot::app_busy) as soon as that app is not working
                        //   on it, and tells it with CtlEvent kTaken. A claim made while another
                        //   is under way waits for it, then takes the connection in turn.
  kDropHold = 16,       // id = listener, or id 0 and a connection named as in kClaim: this process
                        //   closed a descriptor it holds a reference on but never used (inherited,
                        //   or taken from it: kTaken). Also accepted on a hold link.
};

inline constexpr uint32_t kClaimByTuple = 0xffffffffu;  // AppRequest::slot of a kClaim/kDropHold naming addresses

// AppRequest::flags
inline constexpr uint32_t kCloseShared = 1u << 0;  // kClose/kAbort of a descriptor other processes
                                                   //   may hold (it lived across fork()): the app
                                                   //   queued no kTxFin; the daemon ends the
                                                   //   connection only when its last holder let go

struct AppRequest {
  uint32_t kind;
  uint32_t seq;
  uint32_t id;
  uint32_t slot;
  uint32_t gen;
  uint32_t ip;
  uint32_t local_ip;
  uint16_t port;
  uint16_t local_port;
  uint32_t backlog;
  uint32_t version;  // kRegister: kAbiVersion
  uint32_t keep_enabled;  // kKeepalive: 0 or 1
  uint32_t keep_idle_s;   // kKeepalive: idle time before the first probe
  uint32_t keep_intvl_s;  // kKeepalive: time between probes
  uint32_t keep_cnt;      // kKeepalive: unanswered probes before the connection fails (ETIMEDOUT)
  uint32_t ctx;           // kClaim, kDropHold: the context the connection lives in
  uint32_t flags;         // kClose*
};
static_assert(sizeof(AppRequest) == 64 && std::is_trivially_copyable_v<AppRequest>);

struct AppResponse {
  uint32_t kind;  // echoes the request kind
  uint32_t seq;
  int32_t error;  // 0 or an errno value for the app's call
  uint32_t id;
  uint32_t ip;  // kListen/kBind/kConnect: local address actually used
  uint16_t port;
  uint16_t reserved;
  uint32_t ctx_id;    // kRegister
  AppLayout layout;   // kRegister: how to read the region
  uint32_t local_ip;  // kRegister: the stack's own address (for getsockname on INADDR_ANY)
};
static_assert(sizeof(AppResponse) == 56 && std::is_trivially_copyable_v<AppResponse>);

// Fast path <-> slow path. The fast path connects, sends kHello; the answer carries fds
// [control memfd, slow-path doorbell, fast-path doorbell] and the layout. Later, before each
// FpCommand kAttachCtx, the slow path sends kAttachCtx with fds [region memfd, app doorbell].
enum class FpMessageKind : uint32_t { kHello = 1, kHelloAnswer = 2, kAttachCtx = 3 };
struct FpMessage {
  uint32_t kind;
  uint32_t version;
  uint8_t mac[6];  // kHello: the port's MAC
  uint16_t ctx;    // kAttachCtx
  ControlLayout control;
  AppLayout app;  // kAttachCtx
  uint32_t local_ip;  // kHelloAnswer: the stack's address (answers ARP for it)
  uint32_t reserved;
};
static_assert(std::is_trivially_copyable_v<FpMessage>);

}  // namespace virtuoso::abi
