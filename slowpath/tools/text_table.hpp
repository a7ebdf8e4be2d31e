// Aligned text tables for virtuosoctl: a header row and data rows, columns padded to their widest cell.
#pragma once
#include <string>
#include <vector>

namespace virtuoso::tools {

using TableRow = std::vector<std::string>;

// Each row on a line, cells two spaces apart; the last column is not padded. Numbers are
// right-aligned when `numeric[i]` is set for column i (missing entries: left-aligned).
std::string format_table(const std::vector<TableRow>& rows, const std::vector<bool>& numeric = {});

}  // namespace virtuoso::tools
