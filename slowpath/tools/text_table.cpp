// Aligned text tables for virtuosoctl.
#include "text_table.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace virtuoso::tools {

std::string format_table(const std::vector<TableRow>& rows, const std::vector<bool>& numeric) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      if (i) line += "  ";
      bool right = i < numeric.size() && numeric[i];
      bool last = i + 1 == r.size();
      if (right) {
        line += fmt::format("{:>{}}", r[i], width[i]);
      } else {
        line += fmt::format("{:<{}}", r[i], last ? 0 : width[i]);
      }
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace virtuoso::tools
