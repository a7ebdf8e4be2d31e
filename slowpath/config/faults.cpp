// Reads [faults], [faults.rx] and [faults.tx]: per-direction fault probabilities for the port.
#include "faults.hpp"

#include <fmt/format.h>

namespace virtuoso::config {
namespace {

void read_direction(TableReader r, abi::FaultDirection& d) {
  for (const auto& f : abi::kFaultFields) r.number(f.name, d.*(f.member), f.lo, f.hi, f.whole, f.fix);
  r.reject_unknown();
}

}  // namespace

void read_faults(TableReader r, FaultsConfig& faults, const std::string& source) {
  const toml::table* rx = r.table("rx");
  const toml::table* tx = r.table("tx");
  unsigned seed = 1;
  r.integer("seed", seed, 0, 0xffffffffLL);
  faults.settings.seed = seed;
  bool has_enabled = r.has("enabled");
  r.boolean("enabled", faults.enabled);
  r.reject_unknown();
  read_direction(TableReader(rx, "faults.rx", source), faults.settings.rx);
  read_direction(TableReader(tx, "faults.tx", source), faults.settings.tx);
  bool active = abi::faults_active(faults.settings);
  if (!has_enabled) {
    faults.enabled = active;
  } else if (!faults.enabled && active) {
    r.fail("enabled", "is false but [faults.rx] or [faults.tx] sets a fault",
           "remove those faults, or set enabled = true");
  }
}

}  // namespace virtuoso::config
