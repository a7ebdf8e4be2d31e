// Fuzz target: the configuration parser on arbitrary text. Properties: it returns a configuration
// or throws ConfigError, nothing else (an escaping exception is a crash), and the error is one line
// that names the file, as virtuosod prints it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    virtuoso::config::Config c = virtuoso::config::parse_config(text, "fuzz.toml");
    FUZZ_CHECK(!c.run_dir.empty() && c.run_dir.front() == '/');
    FUZZ_CHECK(c.port.devargs.empty() != c.port.pci.empty());
  } catch (const virtuoso::config::ConfigError& e) {
    std::string what = e.what();
    FUZZ_CHECK(what.rfind("fuzz.toml", 0) == 0);
    FUZZ_CHECK(what.find('\n') == std::string::npos);
  }
  return 0;
}
