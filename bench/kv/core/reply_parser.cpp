// Parser for memcached text-protocol replies, as seen by a load-generating client.
#include <algorithm>
#include <charconv>
#include <cstring>

#include "kv/core/reply.hpp"

namespace virtuoso::kv {
namespace {

// Splits off the next space-separated token of `rest`.
std::string_view next_token(std::string_view& rest) {
  std::size_t start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  const std::size_t end = std::min(rest.find(' '), rest.size());
  std::string_view token = rest.substr(0, end);
  rest.remove_prefix(end);
  return token;
}

template <typename T>
bool parse_number(std::string_view token, T& value) {
  const char* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, value);
  return !token.empty() && ec == std::errc() && ptr == end;
}

bool starts_with_word(std::string_view line, std::string_view word, std::string_view& rest) {
  if (line.substr(0, word.size()) != word) return false;
  if (line.size() > word.size() && line[word.size()] != ' ') return false;
  rest = line.substr(std::min(line.size(), word.size() + 1));
  return true;
}

ReplyParse value_block(std::string_view input, std::size_t line_end, std::string_view rest,
                       std::size_t max_value, Reply& out) {
  const std::string_view key = next_token(rest);
  uint32_t flags = 0;
  std::size_t bytes = 0;
  if (key.empty() || !parse_number(next_token(rest), flags) ||
      !parse_number(next_token(rest), bytes) || bytes > max_value) {
    return {ReplyStatus::kMalformed, 0};
  }
  const std::size_t end = line_end + bytes + 2;
  if (input.size() < end) return {ReplyStatus::kNeedMore, 0};
  if (std::memcmp(input.data() + end - 2, "\r\n", 2) != 0) return {ReplyStatus::kMalformed, 0};
  out.kind = ReplyKind::kValue;
  out.key = key;
  out.flags = flags;
  out.data = input.substr(line_end, bytes);
  return {ReplyStatus::kReply, end};
}

}  // namespace

bool is_error(ReplyKind kind) {
  return kind == ReplyKind::kError || kind == ReplyKind::kClientError ||
         kind == ReplyKind::kServerError;
}

ReplyParse parse_reply(std::string_view input, std::size_t max_value, Reply& out) {
  const std::size_t nl = input.find('\n');
  if (nl == std::string_view::npos) return {ReplyStatus::kNeedMore, 0};
  std::string_view line = input.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const std::size_t line_end = nl + 1;
  out = Reply{};

  std::string_view rest;
  if (starts_with_word(line, "VALUE", rest))
    return value_block(input, line_end, rest, max_value, out);

  struct Word {
    std::string_view text;
    ReplyKind kind;
  };
  static constexpr Word kWords[] = {
      {"END", ReplyKind::kEnd},
      {"STORED", ReplyKind::kStored},
      {"NOT_STORED", ReplyKind::kNotStored},
      {"EXISTS", ReplyKind::kExists},
      {"NOT_FOUND", ReplyKind::kNotFound},
      {"DELETED", ReplyKind::kDeleted},
      {"OK", ReplyKind::kOk},
      {"VERSION", ReplyKind::kVersion},
      {"STAT", ReplyKind::kStat},
      {"ERROR", ReplyKind::kError},
      {"CLIENT_ERROR", ReplyKind::kClientError},
      {"SERVER_ERROR", ReplyKind::kServerError},
  };
  for (const Word& word : kWords) {
    if (starts_with_word(line, word.text, rest)) {
      out.kind = word.kind;
      out.data = rest;
      return {ReplyStatus::kReply, line_end};
    }
  }
  return {ReplyStatus::kMalformed, 0};
}

}  // namespace virtuoso::kv
