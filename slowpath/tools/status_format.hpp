// Renders the daemon's status JSON for people: "key: value" lines, nested objects indented.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace virtuoso::tools {

// Prints whatever keys the object has, in the order the daemon sent them: new counters
// appear without a change here.
std::string format_status(const nlohmann::ordered_json& status);

}  // namespace virtuoso::tools
