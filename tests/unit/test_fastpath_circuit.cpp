// Same-host circuits: both ends of a connection installed in one datapath move bytes ring to ring.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "support/fake_fastpath.hpp"

using namespace virtuoso;
using test::FastpathHarness;

namespace {

// A tenant's end (vni != 0): inside VXLAN to this host's own address, towards network peer_vni.
struct Tunnel {
  uint32_t vni = 0;
  uint32_t peer_vni = 0;
  uint16_t tenant = 0;
};

// Client flow 0 in slot 3 (port 40000) and server flow 1 in slot 4 (port 7007), both at the
// harness's local address; each end's next sequence number is the other's next expected one.
struct Circuit {
  static constexpr uint32_t kClientIss = 1000;
  static constexpr uint32_t kServerIss = 90000;
  FastpathHarness h;

  void install(uint32_t flow, uint32_t slot, uint16_t lport, uint16_t rport, uint32_t iss, uint32_t irs,
               Tunnel tun = {}) {
    abi::FlowEntry& e = *h.ctrl.flow(flow);
    e = {};
    e.vni = tun.vni;
    e.peer_vni = tun.peer_vni;
    e.tenant = tun.tenant;
    if (tun.vni) e.vtep_ip = FastpathHarness::kLocalIp;
    e.local_ip = e.remote_ip = FastpathHarness::kLocalIp;
    e.local_port = lport;
    e.remote_port = rport;
    std::memcpy(e.remote_mac, FastpathHarness::kLocalMac.data(), 6);
    e.mss = 1000;
    e.ctx = 0;
    e.slot = slot;
    e.gen = 7;
    e.init_snd_una = iss;
    e.init_rcv_nxt = irs;
    e.init_snd_wnd = 4096;
    e.init_rto_us = 1'000'000;
    *h.view.slot(slot) = {};
    h.view.slot(slot)->gen = 7;
    h.command({uint16_t(abi::FpCommandKind::kInstall), 0, flow, {}, 0, 0});
  }
  void install_client() { install(0, 3, 40000, 7007, kClientIss, kServerIss); }
  void install_server() { install(1, 4, 7007, 40000, kServerIss, kClientIss); }

  abi::FlowSlot& slot(uint32_t s) { return *h.view.slot(s); }
  void send(uint32_t s, const std::string& bytes) {
    abi::FlowSlot& fs = slot(s);
    shm::ring_write(h.view.tx_buf(s), h.alayout.tx_size, fs.tx_head, bytes.data(), bytes.size());
    fs.tx_head += uint32_t(bytes.size());
    h.app_cmd(abi::AppCmdKind::kTxBump, s);
  }
  std::string read(uint32_t s, bool consume = true) {
    abi::FlowSlot& fs = slot(s);
    std::string out(fs.rx_head - fs.rx_tail, '\0');
    shm::ring_read(h.view.rx_buf(s), h.alayout.rx_size, fs.rx_tail, out.data(), out.size());
    if (consume) {
      fs.rx_tail = fs.rx_head;
      h.app_cmd(abi::AppCmdKind::kRxConsumed, s);
    }
    return out;
  }
  void run(int n = 3) {
    for (int i = 0; i < n; ++i) h.dp->poll_once();
  }
};

std::string pattern(size_t n, size_t seed = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = char('a' + (i * 7 + seed) % 26);
  return s;
}

}  // namespace

TEST_CASE("circuit: both ends installed -> bytes go ring to ring, no frame, sequence state moves") {
  Circuit c;
  c.install_client();
  c.install_server();
  CHECK(c.h.dp->stats().circuits == 1);
  c.send(3, "hello");
  c.run();
  CHECK(c.read(4) == "hello");
  CHECK(c.h.dp->stats().local_delivered == 0);
  CHECK(c.h.dp->stats().tx_frames == 0);
  CHECK(c.h.dp->stats().circuit_bytes == 5);
  // As if sent and acknowledged: the sender's ring is free again, both ends agree on sequence.
  CHECK(c.slot(3).tx_tail == 5);
  CHECK(c.h.ctrl.flow(0)->snd_una == Circuit::kClientIss + 5);
  CHECK(c.h.ctrl.flow(0)->snd_nxt == Circuit::kClientIss + 5);
  CHECK(c.h.ctrl.flow(1)->rcv_nxt == Circuit::kClientIss + 5);
  CHECK(c.h.ctrl.flow(0)->acked_bytes == 5);
}

TEST_CASE("circuit: the answer comes back the same way") {
  Circuit c;
  c.install_client();
  c.install_server();
  c.send(3, "ping");
  c.run();
  CHECK(c.read(4) == "ping");
  c.send(4, "pong");
  c.run();
  CHECK(c.read(3) == "pong");
  CHECK(c.h.dp->stats().local_delivered == 0);
}

TEST_CASE("circuit: more than the receiver's ring -> the rest waits until the app reads, none lost") {
  Circuit c;  // rx rings of 4096 bytes, tx rings of 16384
  c.install_client();
  c.install_server();
  std::string want = pattern(12000);
  c.send(3, want);
  c.run();
  std::string got = c.read(4);
  CHECK(got.size() == c.h.alayout.rx_size);
  for (int i = 0; i < 10 && got.size() < want.size(); ++i) {
    c.run();
    got += c.read(4);
  }
  CHECK(got == want);
  CHECK(c.slot(3).tx_tail == 12000);
  CHECK(c.h.dp->stats().tx_frames == 0);
}

TEST_CASE("circuit: positions that wrap both rings at different points -> bytes intact") {
  Circuit c;
  c.install_client();
  c.install_server();
  std::string all;
  std::string got;
  for (size_t round = 0; round < 40; ++round) {
    std::string chunk = pattern(1000 + 37 * round, round);
    all += chunk;
    c.send(3, chunk);
    c.run();
    got += c.read(4);
  }
  for (int i = 0; i < 10 && got.size() < all.size(); ++i) {
    c.run();
    got += c.read(4);
  }
  CHECK(got == all);
}

TEST_CASE("circuit: a writer short of room is told when the circuit frees it") {
  Circuit c;
  c.install_client();
  c.install_server();
  c.h.app_events();
  c.slot(3).tx_nospace = 1;  // the app found the ring too full for its last send
  c.send(3, "abc");
  c.run();
  bool tx_space = false;
  for (const abi::AppEvent& ev : c.h.app_events())
    if (ev.slot == 3 && ev.kind == uint16_t(abi::AppEventKind::kTxSpace)) tx_space = true;
  CHECK(tx_space);
}

TEST_CASE("circuit: shutdown(SHUT_WR) after data -> the data, then the FIN as a frame the other end accepts") {
  Circuit c;
  c.install_client();
  c.install_server();
  c.send(3, "last words");
  c.h.app_cmd(abi::AppCmdKind::kTxFin, 3);
  c.run(4);
  CHECK(c.read(4) == "last words");
  CHECK(c.slot(4).rx_fin == 1);
  CHECK((c.h.ctrl.flow(1)->fp_flags & abi::kFlowPeerFin) != 0);
  CHECK((c.h.ctrl.flow(0)->fp_flags & abi::kFlowFinAcked) != 0);  // the ACK came back as a frame
  CHECK(c.h.dp->stats().tx_frames == 0);
}

TEST_CASE("circuit: FIN queued while the receiver's ring is full -> it goes only after the bytes") {
  Circuit c;
  c.install_client();
  c.install_server();
  std::string want = pattern(6000);
  c.send(3, want);
  c.h.app_cmd(abi::AppCmdKind::kTxFin, 3);
  c.run(4);
  CHECK(c.slot(4).rx_fin == 0);
  std::string got = c.read(4);
  for (int i = 0; i < 10 && c.slot(4).rx_fin == 0; ++i) {
    c.run();
    got += c.read(4);
  }
  CHECK(got == want);
  CHECK(c.slot(4).rx_fin == 1);
}

TEST_CASE("circuit: one end removed -> the other carries on alone, on frames") {
  Circuit c;
  c.install_client();
  c.install_server();
  c.h.command({uint16_t(abi::FpCommandKind::kRemove), 0, 1, {}, 0, 0});
  c.send(3, "anyone?");
  c.run();
  CHECK(c.h.dp->stats().circuit_bytes == 0);
  CHECK(c.h.dp->stats().local_delivered >= 1);  // a frame, punted: nobody is installed there
}

TEST_CASE("circuit: data already sent as frames before the second install -> no circuit, frames carry on") {
  Circuit c;
  c.install_client();
  c.send(3, "early");  // the server's flow is not installed: this goes out as a frame
  c.install_server();
  CHECK(c.h.dp->stats().circuits == 0);
  CHECK(c.h.dp->stats().circuits_refused == 1);
}

TEST_CASE("circuit: refused at install -> joined once the early frames are acknowledged, bytes intact") {
  Circuit c;
  c.install_client();
  c.send(3, "early");  // a frame the server's flow will not see: it is not installed yet
  c.run();
  c.install_server();
  REQUIRE(c.h.dp->stats().circuits == 0);
  // The frame was punted; the peer's stack would send it again once installed: so does ours.
  c.h.punted();
  c.h.ctrl.cmd().try_push({uint16_t(abi::FpCommandKind::kRetransmit), 0, 0, {}, 0, 0});
  c.run(2);
  CHECK(c.read(4) == "early");
  for (int i = 0; i < 3; ++i) c.h.advance_us(1000);  // the server's delayed ACK comes back
  CHECK(c.h.dp->stats().circuits == 1);
  CHECK(c.h.dp->stats().circuits_late == 1);
  c.send(3, "later");
  c.run();
  CHECK(c.read(4) == "later");
  CHECK(c.h.dp->stats().circuit_bytes == 5);
}

TEST_CASE("circuit: an end at another address is never joined") {
  FastpathHarness h;
  h.establish();
  CHECK(h.dp->stats().circuits == 0);
  CHECK(h.dp->stats().circuits_refused == 0);
}

TEST_CASE("circuit: two tenants' apps on this host (VTEP ours, each end naming the other's VNI) -> "
          "joined, bytes ring to ring, counted as the sender's tenant's") {
  Circuit c;
  c.h.add_tenant(100, 1);
  c.h.add_tenant(300, 2);
  c.install(0, 3, 40000, 7007, Circuit::kClientIss, Circuit::kServerIss, {100, 300, 1});
  c.install(1, 4, 7007, 40000, Circuit::kServerIss, Circuit::kClientIss, {300, 100, 2});
  REQUIRE(c.h.dp->stats().circuits == 1);
  c.send(3, "tenant to tenant");
  c.run();
  CHECK(c.read(4) == "tenant to tenant");
  c.send(4, "back");
  c.run();
  CHECK(c.read(3) == "back");
  CHECK(c.h.dp->stats().tx_frames == 0);
  CHECK(c.h.dp->stats().vxlan_tx == 0);
  const abi::TenantStats* ts = c.h.ctrl.header()->tenant_stats;
  CHECK(ts[1].circuit_bytes == 16);
  CHECK(ts[2].circuit_bytes == 4);
}

TEST_CASE("circuit: a tenant's end never joins a flow that does not name its network back") {
  Circuit c;
  c.h.add_tenant(100, 1);
  c.h.add_tenant(300, 2);
  SECTION("the other end is a plain flow with the same addresses") {
    c.install(0, 3, 40000, 7007, Circuit::kClientIss, Circuit::kServerIss, {100, 0, 1});
    c.install_server();
  }
  SECTION("the other end is in the network named, but points at a third one") {
    c.install(0, 3, 40000, 7007, Circuit::kClientIss, Circuit::kServerIss, {100, 300, 1});
    c.install(1, 4, 7007, 40000, Circuit::kServerIss, Circuit::kClientIss, {300, 200, 2});
  }
  CHECK(c.h.dp->stats().circuits == 0);
}
