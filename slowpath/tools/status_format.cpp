// Human-readable rendering of the status JSON.
#include "status_format.hpp"

#include <fmt/format.h>

namespace virtuoso::tools {
namespace {

std::string scalar(const nlohmann::ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

bool all_scalars(const nlohmann::ordered_json& array) {
  for (const auto& v : array) {
    if (v.is_structured()) return false;
  }
  return true;
}

void render(const nlohmann::ordered_json& obj, int depth, std::string& out);

void render_value(const std::string& key, const nlohmann::ordered_json& v, int depth,
                  std::string& out) {
  std::string indent(static_cast<size_t>(depth) * 2, ' ');
  if (v.is_object()) {
    out += fmt::format("{}{}:\n", indent, key);
    render(v, depth + 1, out);
  } else if (v.is_array() && !all_scalars(v)) {
    out += fmt::format("{}{}:\n", indent, key);
    for (size_t i = 0; i < v.size(); ++i) render_value(fmt::format("[{}]", i), v[i], depth + 1, out);
  } else if (v.is_array()) {
    std::string items;
    for (const auto& e : v) items += (items.empty() ? "" : ", ") + scalar(e);
    out += fmt::format("{}{}: [{}]\n", indent, key, items);
  } else {
    out += fmt::format("{}{}: {}\n", indent, key, scalar(v));
  }
}

void render(const nlohmann::ordered_json& obj, int depth, std::string& out) {
  for (const auto& [key, value] : obj.items()) render_value(key, value, depth, out);
}

}  // namespace

std::string format_status(const nlohmann::ordered_json& status) {
  std::string out;
  if (status.is_object()) {
    render(status, 0, out);
  } else {
    render_value("status", status, 0, out);
  }
  return out;
}

}  // namespace virtuoso::tools
