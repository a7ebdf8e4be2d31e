// Rendering the status JSON in the Prometheus text format.
#include "metrics.hpp"

#include <fmt/format.h>

#include <set>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace virtuoso::slowpath {
namespace {

// One metric family: all its samples are written together under one TYPE line.
struct Family {
  std::string name;
  const char* type;
  std::string help;
  std::vector<std::string> samples;
};

class Exposition {
 public:
  // `help`: where the value comes from in `virtuosoctl status --json` (the counters are documented
  // there and in docs/architecture.md).
  void add(const std::string& name, const char* type, const std::string& labels, double value,
           const std::string& help) {
    auto [it, fresh] = index_.try_emplace(name, families_.size());
    if (fresh) families_.push_back({name, type, help, {}});
    families_[it->second].samples.push_back(
        fmt::format("{}{} {}", name, labels.empty() ? "" : "{" + labels + "}", value));
  }
  void counter(const std::string& name, const std::string& labels, const nlohmann::json& v, const std::string& help) {
    if (v.is_number()) add(name + "_total", "counter", labels, v.get<double>(), help);
  }
  void gauge(const std::string& name, const std::string& labels, const nlohmann::json& v, const std::string& help) {
    if (v.is_number()) add(name, "gauge", labels, v.get<double>(), help);
    if (v.is_boolean()) add(name, "gauge", labels, v.get<bool>() ? 1 : 0, help);
  }
  std::string text() const {
    std::string out;
    for (const Family& f : families_) {
      out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
      for (const std::string& s : f.samples) out += s + "\n";
    }
    return out;
  }

 private:
  std::vector<Family> families_;
  std::unordered_map<std::string, size_t> index_;
};

// Label values: backslash, double quote and newline escaped (tenant names cannot hold them, but
// the format is kept whatever the input).
std::string label(std::string_view key, std::string_view value) {
  std::string v;
  for (char c : value) {
    if (c == '\\' || c == '"') v += '\\';
    v += c == '\n' ? 'n' : c;
  }
  return fmt::format("{}=\"{}\"", key, v);
}

const nlohmann::json& field(const nlohmann::json& obj, const char* key) {
  static const nlohmann::json kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

// Every numeric member of `obj` (status path `where`) as a counter `prefix_<key>_total`, but the
// `gauges` (no suffix).
void counters_of(Exposition& e, const std::string& prefix, const nlohmann::json& obj, const std::string& labels,
                 const std::string& where, const std::set<std::string_view>& gauges = {}) {
  if (!obj.is_object()) return;
  for (const auto& [key, value] : obj.items()) {
    if (key.rfind("cycles_per_", 0) == 0 || key == "share") continue;  // derived
    std::string help = "virtuosoctl status: " + where + "." + key;
    if (gauges.count(key)) {
      e.gauge(prefix + "_" + key, labels, value, help);
    } else {
      e.counter(prefix + "_" + key, labels, value, help);
    }
  }
}

// A tenant's (or the host's) traffic, CPU account and slow-path work.
void tenant_families(Exposition& e, const std::string& labels, const nlohmann::json& traffic,
                     const nlohmann::json& cpu, const nlohmann::json& slowpath) {
  counters_of(e, "virtuoso_tenant", traffic, labels, "tenants[].traffic (host: host_traffic)");
  counters_of(e, "virtuoso_tenant_cpu", cpu, labels, "tenants[].cpu (host: budgets.host)",
              {"weight", "budget", "backlog"});
  if (slowpath.is_object()) {
    const char* where = "tenants[].slowpath (host: host_slowpath)";
    if (const auto& ns = field(slowpath, "ns"); ns.is_number())
      e.add("virtuoso_tenant_slowpath_seconds_total", "counter", labels, ns.get<double>() / 1e9,
            fmt::format("virtuosoctl status: {}.ns, in seconds", where));
    if (const auto& b = field(slowpath, "budget_ns"); b.is_number())
      e.add("virtuoso_tenant_slowpath_budget_seconds", "gauge", labels, b.get<double>() / 1e9,
            fmt::format("virtuosoctl status: {}.budget_ns, in seconds", where));
    nlohmann::json rest = slowpath;
    rest.erase("ns");
    rest.erase("budget_ns");
    counters_of(e, "virtuoso_tenant_slowpath", rest, labels, where, {"parked"});
  }
}

}  // namespace

std::string prometheus_text(const nlohmann::json& status) {
  Exposition e;
  for (const auto& [key, value] : status.items()) {
    if (value.is_number() || value.is_boolean()) e.gauge("virtuoso_" + key, "", value, "virtuosoctl status: " + key);
  }
  if (const nlohmann::json& fp = field(status, "fastpath"); fp.is_object()) {
    // The TSC rate is a gauge in its base unit; the per-phase cycles one family by phase.
    nlohmann::json rest = fp;
    rest.erase("tsc_hz");
    rest.erase("cycles");
    counters_of(e, "virtuoso_fastpath", rest, "", "fastpath", {"port_buffers_in_use", "budget_generation"});
    e.gauge("virtuoso_fastpath_tsc_hertz", "", field(fp, "tsc_hz"), "virtuosoctl status: fastpath.tsc_hz");
    const nlohmann::json& cycles = field(fp, "cycles");
    if (cycles.is_object()) {
      for (const auto& [phase, v] : cycles.items())
        e.counter("virtuoso_fastpath_cycles", label("core", "0") + "," + label("phase", phase), v,
                  "virtuosoctl status: fastpath.cycles, TSC cycles of the fast path's loop by core (one "
                  "today) and phase");
    }
  }
  counters_of(e, "virtuoso_slowpath", field(status, "slowpath"), "", "slowpath");
  counters_of(e, "virtuoso_shim", field(status, "shim"), "", "shim");
  tenant_families(e, label("tenant", "host"), field(status, "host_traffic"),
                  field(field(status, "budgets"), "host"), field(status, "host_slowpath"));
  if (const nlohmann::json& tenants = field(status, "tenants"); tenants.is_array()) {
    for (const auto& t : tenants) {
      std::string labels = label("tenant", t.value("name", std::string("?")));
      tenant_families(e, labels, field(t, "traffic"), field(t, "cpu"), field(t, "slowpath"));
      for (const char* g : {"apps", "flows", "listeners", "ports_in_use"})
        e.gauge(std::string("virtuoso_tenant_") + g, labels, field(t, g), std::string("virtuosoctl status: tenants[].") + g);
    }
  }
  return e.text();
}

}  // namespace virtuoso::slowpath
