// The virtuoso-slowpath process: owns the regions, doorbells and sockets, and runs one epoll loop
// that feeds the control plane. Protocol decisions live in core/; this is plumbing.
//
// Files: daemon.cpp (setup, loop, queues), fp_link.cpp (fp.sock), app_link.cpp (app.sock),
// ctl_link.cpp (ctl.sock).
#pragma once
#include <sys/epoll.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/budget_watch.hpp"
#include "core/control_plane.hpp"
#include "core/drop_watch.hpp"
#include "core/shm_channels.hpp"
#include "os.hpp"
#include "unique_fd.hpp"
#include "unix_socket.hpp"

namespace virtuoso::slowpath {

Settings settings_from_config(const config::Config& cfg);

class Daemon final : public Outputs, public Doorbells {
 public:
  // Creates the control region and doorbells, and listens on fp.sock, app.sock and ctl.sock.
  // Throws std::runtime_error with a one-line reason.
  explicit Daemon(const config::Config& cfg);
  ~Daemon() override = default;
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs until SIGINT or SIGTERM.
  void run();

  // Outputs: the control plane's frames, commands and events go to the queues.
  void frame(const uint8_t* data, size_t len, uint16_t flags) override { channels_.push_frame(data, len, flags); }
  void command(const abi::FpCommand& cmd) override { channels_.push_command(cmd); }
  void ctl_event(uint16_t ctx, const abi::CtlEvent& ev) override { channels_.push_ctl(ctx, ev); }
  void context_attached(uint16_t ctx, int error) override;
  void context_detached(uint16_t ctx) override;
  // Doorbells.
  void ring_fastpath() override { ring_eventfd(fp_bell_.get()); }
  void ring_app(uint16_t ctx) override;

 private:
  enum class Tag : uint32_t {
    kSignal, kTimer, kPace, kSecond, kDoorbell, kFpListen, kAppListen, kCtlListen, kMetricsListen, kFp, kApp, kCtl
  };
  struct AppConn {
    UniqueFd fd;
    int ctx = -1;          // its context once kRegister was accepted
    bool answered = false;  // the kRegister answer was sent
    uint32_t register_seq = 0;
    PeerCred cred{};
    std::optional<size_t> tenant_socket;  // it connected to tenant i's own socket
    // A hold link (kForkHold): the daemon's end of a socket pair whose other end went to an app
    // about to fork. `hold` is 0 once a child passed it on with kInherit.
    bool hold_link = false;
    uint32_t hold = 0;
    dev_t app_end_dev = 0;  // the app's end, to recognise it when a child passes it (kInherit)
    ino_t app_end_ino = 0;
  };
  struct CtxRes {
    SharedMemory region;
    UniqueFd doorbell;
    uint32_t conn = 0;  // the app connection, 0 once it closed
  };
  struct CtlConn {
    UniqueFd fd;
    std::string buf;
    bool http = false;  // a metrics scrape (metrics_link.cpp), not a ctl.sock request
  };

  void watch(int fd, Tag tag, uint32_t id);
  void dispatch(const epoll_event& ev, TimeMs now);
  int wait_timeout();
  void drain_fastpath(TimeMs now);
  void update_timer();

  // fp_link.cpp
  void accept_fastpath();
  void on_fastpath_readable();
  void fastpath_gone(const char* why);

  // app_link.cpp
  void listen_tenant_sockets();
  void accept_app(uint32_t socket_id);  // 0: app.sock; i + 1: tenant i's own socket
  // The tenant id for the app (0 in plain mode), or nullopt when tenants are configured and it
  // belongs to none: its registration is refused with EACCES.
  std::optional<uint16_t> tenant_for(const AppConn& conn) const;
  void on_app_readable(uint32_t id, TimeMs now);
  void on_register(uint32_t id, AppConn& conn, const abi::AppRequest& req);
  int create_context(uint32_t id, AppConn& conn, uint16_t tenant);
  bool send_response(AppConn& conn, const abi::AppResponse& r, std::initializer_list<int> fds = {});
  void drop_app(uint32_t id, TimeMs now);
  // An app whose tenant is out of slow-path budget: its socket is not read until resume_apps.
  void pause_app(uint32_t id);
  bool rewatch(int fd, Tag tag, uint32_t id, uint32_t events);
  void resume_apps();
  void release_ctx(uint16_t ctx);
  // app_inherit.cpp: fork() children (hold links, kInherit)
  static ssize_t recv_app_request(int sock, void* buf, size_t len, UniqueFd& fd);
  // kForkHold on `conn` (a context's link or a hold link): the answer, and the app's end in `give`.
  abi::AppResponse on_fork_hold(AppConn& conn, const abi::AppRequest& req, UniqueFd& give);
  UniqueFd make_hold_link(uint32_t hold, const PeerCred& cred);
  abi::AppResponse on_inherit(AppConn& conn, const abi::AppRequest& req, int link_fd);

  // ctl_link.cpp
  void accept_ctl();
  // A ctl.sock client, or with `http` a metrics scrape: one request, one answer, then closed.
  void add_ctl_conn(UniqueFd fd, bool http);
  void on_ctl_readable(uint32_t id);
  std::string ctl_answer(std::string_view request);  // core/ctl_requests.hpp on this daemon's state
  // metrics_link.cpp: [metrics] listen, an HTTP GET /metrics per connection.
  void listen_metrics();
  void accept_metrics();
  std::string metrics_answer(std::string_view request_line);
  void configure_gate();
  void handle_punted(uint32_t acct, const abi::PacketSlot& slot, TimeMs now);
  void tick(TimeMs now);
  void pace(TimeMs now);
  // Shares `ns` of timer work among the tenants by their connections in `flows` ([tenant id]).
  void charge_timer_work(uint64_t ns, const std::vector<uint32_t>& flows);
  void watch_budgets();
  void watch_drops();

  config::Config cfg_;
  Settings settings_;
  SharedMemory control_mem_;
  abi::ControlRegionView ctrl_;
  UniqueFd sp_bell_;
  UniqueFd fp_bell_;
  ShmChannels channels_;
  ControlPlane cp_;
  UniqueFd epoll_;
  UniqueFd signal_fd_;
  UniqueFd timer_fd_;
  UniqueFd pace_fd_;    // every millisecond while flows with short round trips move (pace_congestion)
  UniqueFd second_fd_;  // once a second: who ran out of budget, what was dropped (watch_*)
  BudgetWatch budget_watch_;
  DropWatch drop_watch_;
  ListeningSocket fp_listen_;  // their files are removed when the daemon ends
  ListeningSocket app_listen_;
  ListeningSocket ctl_listen_;
  UniqueFd metrics_listen_;  // TCP, only with [metrics] listen
  std::vector<ListeningSocket> tenant_listen_;  // per tenant: its own app.sock, or none
  UniqueFd fp_conn_;
  bool fp_attached_ = false;
  bool timer_armed_ = false;
  bool pace_armed_ = false;
  bool stop_ = false;
  std::unordered_map<uint32_t, AppConn> apps_;
  std::vector<uint32_t> paused_apps_;  // app connection ids held back for want of budget
  std::vector<CtxRes> ctx_res_;
  std::unordered_map<uint32_t, CtlConn> ctls_;
  uint32_t next_conn_id_ = 1;
};

}  // namespace virtuoso::slowpath
