// virtuosod's SIGHUP: the configuration file read again, what can change at run time applied
// through the control socket (as virtuosoctl would), every other change named as waiting for a
// restart. A file that does not parse changes nothing.
#pragma once
#include <string>

#include "config/config.hpp"

namespace virtuoso::tools {

class ConfigReloader {
 public:
  // Reads and parses the file the daemon starts with; throws config::ConfigError.
  explicit ConfigReloader(std::string path);

  const config::Config& started() const { return started_; }
  // Reads the file again and applies the changes since the last reload (logging each); returns
  // the outcome in one line, for the service manager's status.
  std::string reload();

 private:
  std::string path_;
  config::Config started_;  // what the running daemon was started with: a restart changes the rest
  std::string started_text_;
  config::Config applied_;  // the last file read: the next reload applies what differs from it
  std::string applied_text_;
};

}  // namespace virtuoso::tools
