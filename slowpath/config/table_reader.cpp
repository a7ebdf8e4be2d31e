// Typed TOML reads with one-line errors naming the field, and unknown-key detection with a
// "did you mean" hint, because a misspelt option must never be silently ignored.
#include "table_reader.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "config.hpp"

namespace virtuoso::config {
namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1);
  std::vector<size_t> cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool is_pow2(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

}  // namespace

void config_fail(std::string_view source, std::string_view field, std::string_view what,
                 std::string_view fix) {
  throw ConfigError(fmt::format("{}: {}: {}; {}", source, field, what, fix));
}

std::string_view toml_type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

TableReader::TableReader(const toml::table* table, std::string prefix, std::string source)
    : table_(table), prefix_(std::move(prefix)), source_(std::move(source)) {}

std::string TableReader::field(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : fmt::format("{}.{}", prefix_, key);
}

void TableReader::fail(std::string_view key, std::string_view what, std::string_view fix) const {
  config_fail(source_, field(key), what, fix);
}

const toml::node* TableReader::node(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  return table_ ? table_->get(key) : nullptr;
}

bool TableReader::has(std::string_view key) { return node(key) != nullptr; }

int64_t TableReader::integer_value(std::string_view key, const toml::node& n, int64_t lo,
                                   int64_t hi) const {
  const auto* v = n.as_integer();
  if (!v) {
    fail(key, fmt::format("expected an integer, got {}", toml_type_name(n.type())),
         fmt::format("write a whole number in {}..{} without quotes", lo, hi));
  }
  int64_t value = v->get();
  if (value < lo || value > hi) {
    fail(key, fmt::format("{} is out of range", value), fmt::format("use a value in {}..{}", lo, hi));
  }
  return value;
}

void TableReader::integer(std::string_view key, unsigned& out, int64_t lo, int64_t hi) {
  if (const auto* n = node(key)) out = static_cast<unsigned>(integer_value(key, *n, lo, hi));
}

void TableReader::power_of_two(std::string_view key, unsigned& out, int64_t lo, int64_t hi) {
  const auto* n = node(key);
  if (!n) return;
  int64_t value = integer_value(key, *n, lo, hi);
  if (!is_pow2(value)) {
    int64_t below = int64_t{1} << (63 - __builtin_clzll(static_cast<uint64_t>(value)));
    fail(key, fmt::format("{} is not a power of two", value),
         fmt::format("use a power of two in {}..{}, e.g. {} or {}", lo, hi, below, below * 2));
  }
  out = static_cast<unsigned>(value);
}

void TableReader::string(std::string_view key, std::string& out) {
  const auto* n = node(key);
  if (!n) return;
  const auto* v = n->as_string();
  if (!v) {
    fail(key, fmt::format("expected a string, got {}", toml_type_name(n->type())),
         "put the value in double quotes");
  }
  out = v->get();
}

void TableReader::number(std::string_view key, double& out, double lo, double hi, bool whole,
                         std::string_view fix) {
  const auto* n = node(key);
  if (!n) return;
  double value = 0;
  if (const auto* i = n->as_integer()) {
    value = static_cast<double>(i->get());
  } else if (const auto* f = n->as_floating_point()) {
    value = f->get();
  } else {
    fail(key, fmt::format("expected a number, got {}", toml_type_name(n->type())), fix);
  }
  if (!(value >= lo && value <= hi) || (whole && value != static_cast<double>(static_cast<int64_t>(value)))) {
    fail(key, fmt::format("{} is out of range", value), fix);
  }
  out = value;
}

void TableReader::boolean(std::string_view key, bool& out) {
  const auto* n = node(key);
  if (!n) return;
  const auto* v = n->as_boolean();
  if (!v) {
    fail(key, fmt::format("expected a boolean, got {}", toml_type_name(n->type())),
         "write true or false without quotes");
  }
  out = v->get();
}

int TableReader::choice(std::string_view key, const std::vector<std::string_view>& choices) {
  std::string value;
  if (!node(key)) return -1;
  string(key, value);
  auto it = std::find(choices.begin(), choices.end(), value);
  if (it == choices.end()) {
    fail(key, fmt::format("'{}' is not a valid choice", value),
         fmt::format("use one of: {}", fmt::join(choices, ", ")));
  }
  return static_cast<int>(it - choices.begin());
}

bool TableReader::integer_pair(std::string_view key, int64_t lo, int64_t hi, int64_t& first,
                               int64_t& second) {
  const auto* n = node(key);
  if (!n) return false;
  const auto* arr = n->as_array();
  if (!arr || arr->size() != 2) {
    std::string got = arr ? fmt::format("an array of {} values", arr->size())
                          : std::string(toml_type_name(n->type()));
    fail(key, fmt::format("expected [low, high], got {}", got),
         fmt::format("write two integers in {}..{}, e.g. [32768, 60999]", lo, hi));
  }
  first = integer_value(key, *arr->get(0), lo, hi);
  second = integer_value(key, *arr->get(1), lo, hi);
  return true;
}

const toml::table* TableReader::table(std::string_view key) {
  const auto* n = node(key);
  if (!n) return nullptr;
  const auto* t = n->as_table();
  if (!t) {
    fail(key, fmt::format("expected a table, got {}", toml_type_name(n->type())),
         fmt::format("write it as a [{}] section", field(key)));
  }
  return t;
}

const toml::array* TableReader::array(std::string_view key, std::string_view fix) {
  const auto* n = node(key);
  if (!n) return nullptr;
  const auto* a = n->as_array();
  if (!a) {
    fail(key, fmt::format("expected an array, got {}", toml_type_name(n->type())), fix);
  }
  return a;
}

std::optional<int64_t> TableReader::any_integer(std::string_view key) {
  const auto* n = node(key);
  if (!n) return std::nullopt;
  const auto* v = n->as_integer();
  if (!v) {
    fail(key, fmt::format("expected an integer, got {}", toml_type_name(n->type())),
         "write a whole number without quotes");
  }
  return v->get();
}

void TableReader::reject_unknown() const {
  if (!table_) return;
  for (auto&& [k, v] : *table_) {
    std::string_view name = k.str();
    if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
    auto best = std::min_element(known_.begin(), known_.end(), [&](const auto& a, const auto& b) {
      return edit_distance(name, a) < edit_distance(name, b);
    });
    std::string where = prefix_.empty() ? "at the top level" : fmt::format("in [{}]", prefix_);
    if (best != known_.end() && edit_distance(name, *best) <= std::max<size_t>(2, name.size() / 3)) {
      fail(name, "unknown key", fmt::format("did you mean {}?", field(*best)));
    }
    fail(name, "unknown key",
         fmt::format("remove it (keys allowed {}: {})", where, fmt::join(known_, ", ")));
  }
}

}  // namespace virtuoso::config
