// The fault injector's settings: per-direction probabilities, their names, and their one-line text form.
//
// One struct serves the config file ([faults]), the fast path's --faults option, `virtuosoctl
// faults set` and the control region's FaultControl block, so a field has one name everywhere.
// Text form: whitespace- or comma-separated key=value pairs, e.g.
//   "seed=7 rx.loss=0.01 tx.reorder=0.01 tx.reorder_delay_us=500 duplicate=0.001"
// where a key without "rx."/"tx." sets both directions. rx: frames from the wire; tx: frames we send.
#pragma once
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace virtuoso::abi {

struct FaultDirection {
  double loss;              // probability a frame is dropped
  double burst_start;       // probability per frame that a loss burst begins (Gilbert-Elliott good -> bad)
  double burst_len;         // mean frames lost per burst (bad -> good with probability 1 / burst_len)
  double reorder;           // probability a frame is held back, then released within reorder_delay_us
  double reorder_delay_us;  // bound on how long a held frame waits (whole microseconds)
  double duplicate;         // probability a frame is followed by a copy of itself
  double corrupt;           // probability one bit after the Ethernet header is flipped
  // The emulated bottleneck after the faults: a link of rate_mbps (0: none) behind a FIFO that
  // drops at its tail beyond queue_bytes and marks ECN-capable IPv4 frames CE (RFC 3168) while
  // more than mark_bytes wait (0: no marking), as a DCTCP switch port does.
  double rate_mbps;
  double queue_bytes;
  double mark_bytes;
  // Then the wire: each frame arrives delay_us after the link finished sending it (a path's
  // one-way propagation delay; without rate_mbps, a delay line and nothing else).
  double delay_us;
  bool operator==(const FaultDirection&) const = default;
};
static_assert(sizeof(FaultDirection) == 88 && std::is_trivially_copyable_v<FaultDirection>);

struct FaultSettings {
  uint64_t seed;
  FaultDirection rx;
  FaultDirection tx;
  bool operator==(const FaultSettings&) const = default;
};
static_assert(sizeof(FaultSettings) == 184 && std::is_trivially_copyable_v<FaultSettings>);

inline constexpr double kDefaultBurstLen = 10;
inline constexpr double kDefaultReorderDelayUs = 1000;
inline constexpr double kDefaultQueueBytes = 1'000'000;  // 8 ms at 1 Gbit/s

inline constexpr FaultDirection kNoFaults{0, 0, kDefaultBurstLen, 0, kDefaultReorderDelayUs, 0, 0,
                                          0, kDefaultQueueBytes, 0, 0};
inline constexpr FaultSettings kNoFaultSettings{1, kNoFaults, kNoFaults};

// True when the direction loses, reorders, duplicates or corrupts anything.
inline bool faults_active(const FaultDirection& d) {
  return d.loss > 0 || d.burst_start > 0 || d.reorder > 0 || d.duplicate > 0 || d.corrupt > 0;
}
inline bool bottleneck_active(const FaultDirection& d) { return d.rate_mbps > 0 || d.delay_us > 0; }
// True when the port needs the injector at all: faults or a bottleneck in either direction.
inline bool faults_active(const FaultSettings& s) {
  return faults_active(s.rx) || faults_active(s.tx) || bottleneck_active(s.rx) || bottleneck_active(s.tx);
}

struct FaultField {
  std::string_view name;
  double FaultDirection::*member;
  double lo;
  double hi;
  bool whole;            // only whole numbers
  std::string_view fix;  // how to write a valid value
};

inline constexpr FaultField kFaultFields[] = {
    {"loss", &FaultDirection::loss, 0, 1, false, "write a probability from 0 to 1, e.g. 0.01"},
    {"burst_start", &FaultDirection::burst_start, 0, 1, false, "write a probability from 0 to 1, e.g. 0.0001"},
    {"burst_len", &FaultDirection::burst_len, 1, 1e6, false, "write a mean burst length of 1 to 1000000 frames"},
    {"reorder", &FaultDirection::reorder, 0, 1, false, "write a probability from 0 to 1, e.g. 0.01"},
    {"reorder_delay_us", &FaultDirection::reorder_delay_us, 0, 1e6, true,
     "write whole microseconds from 0 to 1000000"},
    {"duplicate", &FaultDirection::duplicate, 0, 1, false, "write a probability from 0 to 1, e.g. 0.001"},
    {"corrupt", &FaultDirection::corrupt, 0, 1, false, "write a probability from 0 to 1, e.g. 0.001"},
    {"rate_mbps", &FaultDirection::rate_mbps, 0, 1e6, false,
     "write a link rate in Mbit/s from 0 (no bottleneck) to 1000000, e.g. 1000"},
    {"queue_bytes", &FaultDirection::queue_bytes, 1514, 1e9, true,
     "write a whole number of bytes from 1514 to 1000000000, e.g. 1000000"},
    {"mark_bytes", &FaultDirection::mark_bytes, 0, 1e9, true,
     "write a whole number of bytes from 0 (no marking) to 1000000000, e.g. 100000"},
    {"delay_us", &FaultDirection::delay_us, 0, 1e6, true,
     "write whole microseconds of one-way delay from 0 to 1000000, e.g. 5000"},
};

inline const FaultField* find_fault_field(std::string_view name) {
  for (const auto& f : kFaultFields)
    if (f.name == name) return &f;
  return nullptr;
}

inline bool fault_value_ok(const FaultField& f, double v) {
  return v >= f.lo && v <= f.hi && (!f.whole || v == double(uint64_t(v)));
}

// Applies the pairs in `text` on top of `s`. Returns an empty string, or one line naming the
// offending key and how to fix it (then `s` may be partly changed: parse into a copy).
inline std::string apply_fault_spec(std::string_view text, FaultSettings& s) {
  auto is_sep = [](char c) { return c == ' ' || c == ',' || c == '\t' || c == '\n' || c == '\r'; };
  size_t pos = 0;
  while (pos < text.size()) {
    if (is_sep(text[pos])) {
      ++pos;
      continue;
    }
    size_t end = pos;
    while (end < text.size() && !is_sep(text[end])) ++end;
    std::string_view pair = text.substr(pos, end - pos);
    pos = end;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return std::string(pair) + ": not key=value; write e.g. rx.loss=0.01";
    }
    std::string_view key = pair.substr(0, eq);
    std::string_view value = pair.substr(eq + 1);
    if (key == "seed") {
      uint64_t seed = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seed);
      if (ec != std::errc() || p != value.data() + value.size()) {
        return "seed: '" + std::string(value) + "' is not a whole number; write e.g. seed=7";
      }
      s.seed = seed;
      continue;
    }
    bool rx = true, tx = true;
    std::string_view name = key;
    if (key.substr(0, 3) == "rx.") {
      tx = false;
      name.remove_prefix(3);
    } else if (key.substr(0, 3) == "tx.") {
      rx = false;
      name.remove_prefix(3);
    }
    const FaultField* f = find_fault_field(name);
    if (f == nullptr) {
      return std::string(key) +
             ": unknown fault setting; use seed or [rx.|tx.]loss, burst_start, burst_len, reorder, "
             "reorder_delay_us, duplicate, corrupt, rate_mbps, queue_bytes, mark_bytes, delay_us";
    }
    double v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || p != value.data() + value.size()) {
      return std::string(key) + ": '" + std::string(value) + "' is not a number; " + std::string(f->fix);
    }
    if (!fault_value_ok(*f, v)) {
      return std::string(key) + ": " + std::string(value) + " is out of range; " + std::string(f->fix);
    }
    if (rx) s.rx.*(f->member) = v;
    if (tx) s.tx.*(f->member) = v;
  }
  return {};
}

// The text form of `s`: the seed, then every field that differs from kNoFaults. Parsing it with
// apply_fault_spec on top of kNoFaultSettings gives `s` back exactly.
inline std::string format_fault_spec(const FaultSettings& s) {
  std::string out = "seed=" + std::to_string(s.seed);
  auto number = [](double v) {
    char buf[32];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back exactly
    return std::string(buf, ec == std::errc() ? p : buf);
  };
  for (const char* dir : {"rx", "tx"}) {
    const FaultDirection& d = dir[0] == 'r' ? s.rx : s.tx;
    for (const auto& f : kFaultFields) {
      if (d.*(f.member) == kNoFaults.*(f.member)) continue;
      out += std::string(" ") + dir + "." + std::string(f.name) + "=" + number(d.*(f.member));
    }
  }
  return out;
}

// What the emulated bottleneck of one direction did (fast path writes, anyone reads).
struct BottleneckCounters {
  uint64_t queued;         // frames that entered the FIFO
  uint64_t dropped;        // frames dropped at its tail: queue_bytes (or its frame capacity) full
  uint64_t ce_marked;      // ECN-capable frames marked CE on entry
  uint64_t backlog_bytes;  // a gauge: bytes waiting when the last frame entered
  uint64_t peak_bytes;     // the largest backlog seen since the settings were applied
};
static_assert(sizeof(BottleneckCounters) == 40 && std::is_trivially_copyable_v<BottleneckCounters>);

// The control region's fault block (ControlHeader::faults): how `virtuosoctl faults set` reaches a
// running fast path. The slow path publishes like a seqlock; the fast path polls `generation`.
struct alignas(64) FaultControl {
  // Slow path writes: `generation` is odd while `settings` is being written, even once they are
  // complete; 0 means nothing was ever published (the fast path keeps its --faults settings).
  uint32_t generation;
  uint32_t reserved0;
  FaultSettings settings;
  // Fast path writes.
  alignas(64) uint32_t fp_injector;  // 1 when the port is wrapped by the fault injector
  uint32_t fp_generation;           // the last generation applied
  uint64_t rx_released_early;       // held frames released before their time: the hold was full
  uint64_t tx_released_early;
  BottleneckCounters rx_queue;      // the emulated bottleneck on frames from the wire
  BottleneckCounters tx_queue;      // the emulated bottleneck on frames we send
  uint64_t reserved1[3];
};
static_assert(std::is_trivially_copyable_v<FaultControl> && sizeof(FaultControl) == 320 &&
              offsetof(FaultControl, settings) == 8 && offsetof(FaultControl, fp_injector) == 192 &&
              offsetof(FaultControl, rx_queue) == 216);

}  // namespace virtuoso::abi
