// Fuzz target: the fast path on an established connection, driven by a script the input spells
// out (the unit tests' harness: a fake port and clock, no EAL). Steps: segments from the peer with
// any sequence and acknowledgement near the connection's, any flags, window, timestamps and SACK
// blocks; raw frames; app sends and reads; garbage app commands; the clock jumping ahead (RTOs,
// probes, delayed ACKs). Properties after every step:
//   - every byte the app reads is the peer's byte at that offset of its stream (the peer's
//     payload is a function of the sequence number, so a retransmission carries the same bytes);
//   - every payload byte the stack sends is the app's byte at that offset of its stream, and
//     never one the app has not written;
//   - snd_una <= snd_nxt; the app's rings hold no more than their size;
//   - the fast path holds a bounded number of frame buffers.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "fuzz_script.hpp"
#include "support/fake_fastpath.hpp"
#include "virtuoso/wire/seq.hpp"

using namespace virtuoso;

namespace {

constexpr uint32_t kIss = 1000;  // our first data byte's sequence number
constexpr uint32_t kIrs = 5000;  // the peer's
uint8_t peer_byte(uint32_t off) { return uint8_t(off * 13 + 5); }
uint8_t app_byte(uint32_t off) { return uint8_t(off * 7 + 3); }

struct Streams {
  uint32_t app_written = 0;  // bytes the app put in its tx ring
  uint32_t app_read = 0;     // bytes the app took from its rx ring
  uint32_t peer_ts = 100;
};

void peer_segment(test::FastpathHarness& h, Script& s, Streams& st) {
  const abi::FlowEntry& e = h.flow();
  uint32_t seq = e.rcv_nxt + uint32_t(int32_t(int16_t(s.u16())));
  uint32_t ack = e.snd_una + uint32_t(int32_t(int16_t(s.u16())));
  uint8_t flags = s.u8();
  if (!(flags & 0x80)) flags |= wire::kTcpAck;  // mostly ACKs, as on a real connection
  flags &= 0x7f;
  size_t len = s.u16() % 1600;
  uint16_t window = s.u16();
  wire::TcpOptionsOut o;
  if (h.tcp_opts & abi::kFlowOptTimestamps) {
    o.timestamps = true;
    st.peer_ts += s.u8();
    o.ts_val = st.peer_ts;
    o.ts_ecr = 0;
  }
  if (h.tcp_opts & abi::kFlowOptSack) {
    o.n_sack = s.u8() % 4;
    for (uint8_t i = 0; i < o.n_sack; ++i) {
      uint32_t start = e.snd_una + s.u16();
      o.sack[i] = {start, start + s.u16() % 8000};
    }
  }
  std::string payload(len, '\0');
  for (size_t i = 0; i < len; ++i) payload[i] = char(peer_byte(seq + uint32_t(i) - kIrs));
  h.from_peer(seq, ack, flags, payload, window, o);
}

void raw_frame(test::FastpathHarness& h, Script& s) {
  size_t len = s.u8();
  std::vector<uint8_t> frame(len);
  for (auto& b : frame) b = s.u8();
  if (len >= 14) std::memcpy(frame.data(), test::FastpathHarness::kLocalMac.data(), 6);  // to us
  h.port.rx.push_back(std::move(frame));
  h.dp->poll_once();
}

void app_send(test::FastpathHarness& h, Script& s, Streams& st) {
  abi::FlowSlot& slot = h.slot();
  uint32_t size = h.alayout.tx_size;
  uint32_t used = slot.tx_head - slot.tx_tail;
  FUZZ_CHECK(used <= size);
  uint32_t n = std::min<uint32_t>(s.u16() % 9000, size - used);
  std::string bytes(n, '\0');
  for (uint32_t i = 0; i < n; ++i) bytes[i] = char(app_byte(st.app_written + i));
  st.app_written += n;
  h.app_send(bytes);
}

void app_read(test::FastpathHarness& h, Streams& st) {
  FUZZ_CHECK(h.slot().rx_head - h.slot().rx_tail <= h.alayout.rx_size);
  std::string got = h.app_read_all();
  for (size_t i = 0; i < got.size(); ++i) FUZZ_CHECK(uint8_t(got[i]) == peer_byte(st.app_read + uint32_t(i)));
  st.app_read += uint32_t(got.size());
  h.app_cmd(abi::AppCmdKind::kRxConsumed);
}

// What the stack sent since the last look: its payload is the app's stream, never beyond it.
void check_sent(test::FastpathHarness& h, const Streams& st) {
  for (const test::ParsedOut& out : h.take_sent()) {
    if (out.f.tcp.src_port != test::FastpathHarness::kLocalPort || out.payload.empty()) continue;
    uint32_t off = out.f.tcp.seq - kIss;
    FUZZ_CHECK(off + out.payload.size() <= st.app_written);
    for (size_t i = 0; i < out.payload.size(); ++i) FUZZ_CHECK(out.payload[i] == app_byte(off + uint32_t(i)));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Script s{data, size};
  test::FastpathHarness h;
  h.tcp_opts = s.u8() & (abi::kFlowOptTimestamps | abi::kFlowOptSack | abi::kFlowOptEcn);
  h.peer_ts = 100;
  h.establish(kIss, kIrs, 65535, 1000);
  Streams st;
  for (int step = 0; step < 96 && !s.done(); ++step) {
    switch (s.u8() % 7) {
      case 0:
      case 1: peer_segment(h, s, st); break;
      case 2: raw_frame(h, s); break;
      case 3: app_send(h, s, st); break;
      case 4: app_read(h, st); break;
      case 5: h.advance_us(uint64_t(s.u16()) * 100); break;
      case 6: {  // whatever an app may write into its command queue
        abi::AppCmd c{s.u8(), s.u8(), uint16_t(s.u8() % 5), 0, 0};
        h.view.atx().try_push(c);
        h.dp->poll_once();
        break;
      }
    }
    check_sent(h, st);
    const abi::FlowEntry& e = h.flow();
    FUZZ_CHECK(wire::seq_le(e.snd_una, e.snd_nxt));
    FUZZ_CHECK(h.port.live_buffers <= 4096);
  }
  return 0;
}
