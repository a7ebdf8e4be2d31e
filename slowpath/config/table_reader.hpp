// Typed, range-checked reads of one TOML table that remember which keys were asked for, so that
// every key nobody asked for (a typo) is reported instead of silently ignored.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

namespace virtuoso::config {

// Throws ConfigError with the one-line format "<source>: <field>: <what>; <fix>".
[[noreturn]] void config_fail(std::string_view source, std::string_view field, std::string_view what,
                              std::string_view fix);

// "an integer", "a string", ...: for "expected X, got Y" messages.
std::string_view toml_type_name(toml::node_type type);

class TableReader {
 public:
  // `table` may be null (the section is absent): every read then keeps its default.
  // `prefix` is the section name ("fastpath"), empty for the top level.
  TableReader(const toml::table* table, std::string prefix, std::string source);

  std::string field(std::string_view key) const;
  bool has(std::string_view key);
  [[noreturn]] void fail(std::string_view key, std::string_view what, std::string_view fix) const;

  // Each read leaves `out` unchanged when the key is absent and throws on a wrong type or range.
  void integer(std::string_view key, unsigned& out, int64_t lo, int64_t hi);
  // Also requires a power of two within lo..hi.
  void power_of_two(std::string_view key, unsigned& out, int64_t lo, int64_t hi);
  void string(std::string_view key, std::string& out);
  // A number (integer or floating point) within lo..hi; `whole`: integers only. `fix` says how
  // to write a valid one.
  void number(std::string_view key, double& out, double lo, double hi, bool whole, std::string_view fix);
  void boolean(std::string_view key, bool& out);
  // A string that must be one of `choices`; returns its index, or -1 when absent.
  int choice(std::string_view key, const std::vector<std::string_view>& choices);
  // An array of exactly two integers within lo..hi.
  bool integer_pair(std::string_view key, int64_t lo, int64_t hi, int64_t& first, int64_t& second);
  // The sub-table `key`, or null when absent; throws when `key` is not a table.
  const toml::table* table(std::string_view key);
  // The array `key`, or null when absent; throws when `key` is not an array, with `fix`.
  const toml::array* array(std::string_view key, std::string_view fix);
  // An integer of any value, for a caller that words its own range error; nullopt when absent.
  std::optional<int64_t> any_integer(std::string_view key);

  // Call after every read: throws for the first key in the table that no read asked for.
  void reject_unknown() const;

 private:
  const toml::node* node(std::string_view key);
  int64_t integer_value(std::string_view key, const toml::node& n, int64_t lo, int64_t hi) const;

  const toml::table* table_;
  std::string prefix_;
  std::string source_;
  std::vector<std::string> known_;
};

}  // namespace virtuoso::config
