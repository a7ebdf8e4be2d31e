// virtuosoctl stats and watch: selecting, rendering and differencing the daemon's counters.
#include "stats_view.hpp"

#include <fmt/format.h>

#include <string_view>
#include <vector>

#include "text_table.hpp"

namespace virtuoso::tools {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kPortFields[] = {"rx_frames", "tx_frames", "rx_bytes", "tx_bytes", "port_buffers_in_use"};
constexpr std::string_view kCoreFields[] = {"loops",          "busy_loops",       "idle_sleeps",
                                            "rx_segments",    "tx_data_segments", "tx_pure_acks",
                                            "tsc_hz",         "cycles",           "cycles_per_rx_segment",
                                            "cycles_per_tx_segment"};
constexpr std::string_view kTcpFastpath[] = {"fast_retransmits", "sack_retransmits", "lost_retransmits",
                                             "rto_retransmits",  "tail_probes",      "window_probes",
                                             "dup_segments",     "ooo_segments",     "ce_received"};
constexpr std::string_view kTcpSlowpath[] = {"active_opens",  "passive_opens",       "connect_failures",
                                             "retransmit_timeouts", "congestion_cuts", "rsts_sent",
                                             "rsts_received", "keepalive_timeouts",  "closed_orderly"};

const Json& field(const Json& j, std::string_view key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(std::string(key));
  return it == j.end() ? kNull : *it;
}

// The first element of an array (the first fast-path core), or null.
const Json& first(const Json& j) {
  static const Json kNull;
  return j.is_array() && !j.empty() ? j.front() : kNull;
}

uint64_t count(const Json& j, std::string_view key) {
  const Json& v = field(j, key);
  return v.is_number_unsigned() || v.is_number_integer() ? v.get<uint64_t>() : 0;
}

double number(const Json& j, std::string_view key) {
  const Json& v = field(j, key);
  return v.is_number() ? v.get<double>() : 0.0;
}

template <size_t N>
Json pick(const Json& from, const std::string_view (&keys)[N]) {
  Json out = Json::object();
  for (std::string_view k : keys) {
    const Json& v = field(from, k);
    if (!v.is_null() || from.contains(std::string(k))) out[std::string(k)] = v;
  }
  return out;
}

Json account(const std::string& name, const Json& cpu, const Json& traffic) {
  return Json{{"name", name},
              {"weight", count(cpu, "weight")},
              {"cycles", count(cpu, "cycles")},
              {"share", number(cpu, "share")},
              {"rx_segments", count(traffic, "rx_segments")},
              {"rx_bytes", count(traffic, "rx_bytes")},
              {"tx_segments", count(traffic, "tx_segments")},
              {"tx_bytes", count(traffic, "tx_bytes")},
              {"deferred_rx", count(cpu, "deferred_rx")},
              {"dropped_rx", count(cpu, "dropped_rx")},
              {"deferred_tx", count(cpu, "deferred_tx")}};
}

std::string text(const Json& v) {
  if (v.is_null()) return "-";
  if (v.is_number_float()) return fmt::format("{:.1f}", v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// A delta of a monotonic counter; 0 if it went backwards.
uint64_t grown(uint64_t before, uint64_t after) { return after >= before ? after - before : 0; }

uint64_t all_drops(const Json& stats) {
  uint64_t n = 0;
  for (const auto& where : field(stats, "drops"))
    for (const auto& [reason, v] : where.items()) n += v.is_number() ? v.get<uint64_t>() : 0;
  return n;
}

uint64_t phase_sum(const Json& cycles, bool with_idle) {
  uint64_t n = 0;
  for (const auto& [phase, v] : cycles.items())
    if (v.is_number() && (with_idle || phase != "idle")) n += v.get<uint64_t>();
  return n;
}

std::string per_second(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

}  // namespace

Json stats_of(const Json& status) {
  const Json& fp = field(status, "fastpath");
  const Json& sp = field(status, "slowpath");
  Json core = pick(fp, kCoreFields);
  core["core"] = 0;  // one fast-path core today; the list is per core
  Json tcp = Json::object();
  tcp["fastpath"] = pick(fp, kTcpFastpath);
  tcp["slowpath"] = pick(sp, kTcpSlowpath);
  Json tenants = Json::array();
  tenants.push_back(account("host", field(field(status, "budgets"), "host"), field(status, "host_traffic")));
  for (const auto& t : field(status, "tenants"))
    tenants.push_back(account(t.value("name", std::string("?")), field(t, "cpu"), field(t, "traffic")));
  return Json{{"ready", status.value("ready", false)},
              {"flows", count(status, "flows")},
              {"port", pick(fp, kPortFields)},
              {"cores", Json::array({std::move(core)})},
              {"drops", field(status, "drops").is_object() ? field(status, "drops") : Json::object()},
              {"tcp", std::move(tcp)},
              {"tenants", std::move(tenants)}};
}

std::string format_stats(const Json& stats) {
  std::string out;
  const Json& port = field(stats, "port");
  out += "port\n";
  std::vector<TableRow> rows = {{"RX_FRAMES", "TX_FRAMES", "RX_BYTES", "TX_BYTES", "BUFFERS_IN_USE"}};
  rows.push_back({text(field(port, "rx_frames")), text(field(port, "tx_frames")), text(field(port, "rx_bytes")),
                  text(field(port, "tx_bytes")), text(field(port, "port_buffers_in_use"))});
  out += format_table(rows, {true, true, true, true, true});

  out += "\nfast-path cores (cycles by phase)\n";
  rows = {{"CORE", "LOOPS", "BUSY_LOOPS", "RX", "LOCAL", "COMMANDS", "APPS", "TX", "EVENTS", "IDLE",
           "CYC/RX_SEG", "CYC/TX_SEG"}};
  for (const auto& c : field(stats, "cores")) {
    const Json& cy = field(c, "cycles");
    rows.push_back({text(field(c, "core")), text(field(c, "loops")), text(field(c, "busy_loops")),
                    text(field(cy, "rx")), text(field(cy, "local")), text(field(cy, "commands")),
                    text(field(cy, "apps")), text(field(cy, "tx")), text(field(cy, "events")),
                    text(field(cy, "idle")), text(field(c, "cycles_per_rx_segment")),
                    text(field(c, "cycles_per_tx_segment"))});
  }
  out += format_table(rows, std::vector<bool>(12, true));

  out += "\ndrops by reason (zero counts left out)\n";
  rows = {{"WHERE", "REASON", "COUNT"}};
  for (const auto& [where, reasons] : field(stats, "drops").items())
    for (const auto& [reason, v] : reasons.items())
      if (v.is_number() && v.get<uint64_t>() != 0) rows.push_back({where, reason, text(v)});
  if (rows.size() == 1) rows.push_back({"-", "none", "0"});
  out += format_table(rows, {false, false, true});

  out += "\ntcp\n";
  rows = {{"WHERE", "COUNTER", "COUNT"}};
  for (const auto& [where, counters] : field(stats, "tcp").items())
    for (const auto& [name, v] : counters.items()) rows.push_back({where, name, text(v)});
  out += format_table(rows, {false, false, true});

  out += "\nfast-path CPU time and traffic by account\n";
  rows = {{"ACCOUNT", "WEIGHT", "CYCLES", "SHARE", "RX_SEGS", "RX_BYTES", "TX_SEGS", "TX_BYTES", "DEFERRED_RX",
           "DROPPED_RX", "DEFERRED_TX"}};
  for (const auto& a : field(stats, "tenants")) {
    rows.push_back({text(field(a, "name")), text(field(a, "weight")), text(field(a, "cycles")),
                    fmt::format("{:.1f}%", 100.0 * number(a, "share")), text(field(a, "rx_segments")),
                    text(field(a, "rx_bytes")), text(field(a, "tx_segments")), text(field(a, "tx_bytes")),
                    text(field(a, "deferred_rx")), text(field(a, "dropped_rx")), text(field(a, "deferred_tx"))});
  }
  std::vector<bool> numeric(11, true);
  numeric[0] = false;
  out += format_table(rows, numeric);
  return out;
}

Json stats_rates(const Json& before, const Json& after, double seconds) {
  if (seconds <= 0) seconds = 1e-9;
  const Json& p0 = field(before, "port");
  const Json& p1 = field(after, "port");
  auto rate = [&](const Json& a, const Json& b, std::string_view k) {
    return double(grown(count(a, k), count(b, k))) / seconds;
  };
  const Json& c0 = field(first(field(before, "cores")), "cycles");
  const Json& c1 = field(first(field(after, "cores")), "cycles");
  uint64_t busy = grown(phase_sum(c0, false), phase_sum(c1, false));
  uint64_t all = grown(phase_sum(c0, true), phase_sum(c1, true));
  // Each account's counters in `before`, by name (an account new since then starts from zero).
  static const Json kZero = Json::object();
  auto previous = [&](const Json& a) -> const Json& {
    for (const auto& b : field(before, "tenants"))
      if (field(b, "name") == field(a, "name")) return b;
    return kZero;
  };
  uint64_t charged = 0;
  for (const auto& a : field(after, "tenants")) charged += grown(count(previous(a), "cycles"), count(a, "cycles"));
  Json accounts = Json::array();
  for (const auto& a : field(after, "tenants")) {
    const Json* prev = &previous(a);
    uint64_t cycles = grown(count(*prev, "cycles"), count(a, "cycles"));
    accounts.push_back(Json{{"name", field(a, "name")},
                            {"cycle_share", charged ? double(cycles) / double(charged) : 0.0},
                            {"rx_segments_per_s", rate(*prev, a, "rx_segments")},
                            {"tx_segments_per_s", rate(*prev, a, "tx_segments")},
                            {"rx_bits_per_s", 8 * rate(*prev, a, "rx_bytes")},
                            {"tx_bits_per_s", 8 * rate(*prev, a, "tx_bytes")},
                            {"dropped_rx_per_s", rate(*prev, a, "dropped_rx")}});
  }
  return Json{{"seconds", seconds},
              {"flows", count(after, "flows")},
              {"rx_frames_per_s", rate(p0, p1, "rx_frames")},
              {"tx_frames_per_s", rate(p0, p1, "tx_frames")},
              {"rx_bits_per_s", 8 * rate(p0, p1, "rx_bytes")},
              {"tx_bits_per_s", 8 * rate(p0, p1, "tx_bytes")},
              {"drops_per_s", double(grown(all_drops(before), all_drops(after))) / seconds},
              {"fastpath_busy", all ? double(busy) / double(all) : 0.0},
              {"accounts", std::move(accounts)}};
}

std::string format_rates(const Json& r) {
  std::string out = fmt::format(
      "rx {} frames/s {}bit/s   tx {} frames/s {}bit/s   drops {}/s   fast path busy {:.1f}%   flows {}\n\n",
      per_second(number(r, "rx_frames_per_s")), per_second(number(r, "rx_bits_per_s")),
      per_second(number(r, "tx_frames_per_s")), per_second(number(r, "tx_bits_per_s")),
      per_second(number(r, "drops_per_s")), 100.0 * number(r, "fastpath_busy"), count(r, "flows"));
  std::vector<TableRow> rows = {
      {"ACCOUNT", "CYCLES", "RX_SEGS/S", "RX_BIT/S", "TX_SEGS/S", "TX_BIT/S", "DROPPED_RX/S"}};
  for (const auto& a : field(r, "accounts")) {
    rows.push_back({text(field(a, "name")), fmt::format("{:.1f}%", 100.0 * number(a, "cycle_share")),
                    per_second(number(a, "rx_segments_per_s")), per_second(number(a, "rx_bits_per_s")),
                    per_second(number(a, "tx_segments_per_s")), per_second(number(a, "tx_bits_per_s")),
                    per_second(number(a, "dropped_rx_per_s"))});
  }
  out += format_table(rows, {false, true, true, true, true, true, true});
  return out;
}

}  // namespace virtuoso::tools
