// The congestion_by_port tables of [tcp] and [[tenant]]: port numbers as keys, algorithms as values.
#include "congestion_ports.hpp"

#include <charconv>

namespace virtuoso::config {

void read_congestion_by_port(TableReader& parent, std::string_view key, const std::string& source,
                             CongestionByPort& out) {
  const toml::table* t = parent.table(key);
  if (t == nullptr) return;
  TableReader r(t, parent.field(key), source);
  for (const auto& [k, v] : *t) {
    std::string_view name = k.str();
    unsigned port = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), port);
    if (ec != std::errc() || end != name.data() + name.size() || port < 1 || port > 65535) {
      r.fail(name, "is not a port number",
             "write a listening port from 1 to 65535 as the key, e.g. 5201 = \"dctcp\"");
    }
    int algo = r.choice(name, congestion_algo_names());
    out[uint16_t(port)] = CongestionAlgo(algo);
  }
  r.reject_unknown();
}

}  // namespace virtuoso::config
