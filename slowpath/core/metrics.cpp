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
  std::vector<std::string> samples;
};

class Exposition {
 public:
  void add(const std::string& name, const char* type, const std::string& labels, double value) {
    auto [it, fresh] = index_.try_emplace(name, families_.size());
    if (fresh) families_.push_back({name, type, {}});
    families_[it->second].samples.push_back(
        fmt::format("{}{} {}", name, labels.empty() ? "" : "{" + labels + "}", value));
  }
  void counter(const std::string& name, const std::string& labels, const nlohmann::json& v) {
    if (v.is_number()) add(name + "_total", "counter", labels, v.get<double>());
  }
  void gauge(const std::string& name, const std::string& labels, const nlohmann::json& v) {
    if (v.is_number()) add(name, "gauge", labels, v.get<double>());
    if (v.is_boolean()) add(name, "gauge", labels, v.get<bool>() ? 1 : 0);
  }
  std::string text() const {
    std::string out;
    for (const Family& f : families_) {
      out += fmt::format("# TYPE {} {}\n", f.name, f.type);
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

// Every numeric member of `obj` as a counter `prefix_<key>_total`, but the `gauges` (no suffix).
void counters_of(Exposition& e, const std::string& prefix, const nlohmann::json& obj, const std::string& labels,
                 const std::set<std::string_view>& gauges = {}) {
  if (!obj.is_object()) return;
  for (const auto& [key, value] : obj.items()) {
    if (key.rfind("cycles_per_", 0) == 0 || key == "share") continue;  // derived
    if (gauges.count(key)) {
      e.gauge(prefix + "_" + key, labels, value);
    } else {
      e.counter(prefix + "_" + key, labels, value);
    }
  }
}

// A tenant's (or the host's) traffic, CPU account and slow-path work.
void tenant_families(Exposition& e, const std::string& labels, const nlohmann::json& traffic,
                     const nlohmann::json& cpu, const nlohmann::json& slowpath) {
  counters_of(e, "virtuoso_tenant", traffic, labels);
  counters_of(e, "virtuoso_tenant_cpu", cpu, labels, {"weight", "budget", "backlog"});
  if (slowpath.is_object()) {
    if (const auto& ns = field(slowpath, "ns"); ns.is_number())
      e.add("virtuoso_tenant_slowpath_seconds_total", "counter", labels, ns.get<double>() / 1e9);
    if (const auto& b = field(slowpath, "budget_ns"); b.is_number())
      e.add("virtuoso_tenant_slowpath_budget_seconds", "gauge", labels, b.get<double>() / 1e9);
    nlohmann::json rest = slowpath;
    rest.erase("ns");
    rest.erase("budget_ns");
    counters_of(e, "virtuoso_tenant_slowpath", rest, labels, {"parked"});
  }
}

}  // namespace

std::string prometheus_text(const nlohmann::json& status) {
  Exposition e;
  for (const auto& [key, value] : status.items()) {
    if (value.is_number() || value.is_boolean()) e.gauge("virtuoso_" + key, "", value);
  }
  if (const nlohmann::json& fp = field(status, "fastpath"); fp.is_object()) {
    // The TSC rate is a gauge in its base unit; the per-phase cycles one family by phase.
    nlohmann::json rest = fp;
    rest.erase("tsc_hz");
    rest.erase("cycles");
    counters_of(e, "virtuoso_fastpath", rest, "", {"port_buffers_in_use", "budget_generation"});
    e.gauge("virtuoso_fastpath_tsc_hertz", "", field(fp, "tsc_hz"));
    const nlohmann::json& cycles = field(fp, "cycles");
    if (cycles.is_object()) {
      for (const auto& [phase, v] : cycles.items()) e.counter("virtuoso_fastpath_cycles", label("phase", phase), v);
    }
  }
  counters_of(e, "virtuoso_slowpath", field(status, "slowpath"), "");
  counters_of(e, "virtuoso_shim", field(status, "shim"), "");
  tenant_families(e, label("tenant", "host"), field(status, "host_traffic"),
                  field(field(status, "budgets"), "host"), field(status, "host_slowpath"));
  if (const nlohmann::json& tenants = field(status, "tenants"); tenants.is_array()) {
    for (const auto& t : tenants) {
      std::string labels = label("tenant", t.value("name", std::string("?")));
      tenant_families(e, labels, field(t, "traffic"), field(t, "cpu"), field(t, "slowpath"));
      for (const char* g : {"apps", "flows", "listeners", "ports_in_use"})
        e.gauge(std::string("virtuoso_tenant_") + g, labels, field(t, g));
    }
  }
  return e.text();
}

}  // namespace virtuoso::slowpath
