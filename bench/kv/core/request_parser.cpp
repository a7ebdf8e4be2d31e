// Incremental parser for memcached text-protocol requests: lines, value blocks, error recovery.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "kv/core/limits.hpp"
#include "kv/core/request.hpp"

namespace virtuoso::kv {
namespace {

constexpr std::string_view kErrUnknown = "ERROR\r\n";
constexpr std::string_view kErrFormat = "CLIENT_ERROR bad command line format\r\n";
constexpr std::string_view kErrKeyTooLong = "CLIENT_ERROR key longer than 250 bytes\r\n";
constexpr std::string_view kErrBadChunk = "CLIENT_ERROR bad data chunk\r\n";
constexpr std::string_view kErrLineTooLong = "CLIENT_ERROR line too long\r\n";
constexpr std::string_view kErrTooLarge = "SERVER_ERROR object too large for cache\r\n";

void tokenize(std::string_view line, std::vector<std::string_view>& tokens) {
  tokens.clear();
  std::size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    std::size_t end = pos;
    while (end < line.size() && line[end] != ' ') ++end;
    if (end > pos) tokens.push_back(line.substr(pos, end - pos));
    pos = end;
  }
}

template <typename T>
bool parse_number(std::string_view token, T& value) {
  const char* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, value);
  return ec == std::errc() && ptr == end;
}

bool valid_key(std::string_view key) {
  return !key.empty() && key.size() <= kMaxKeyBytes;
}

ParseResult reply(ParseStatus status, std::size_t consumed, std::string_view text) {
  return ParseResult{status, consumed, text};
}

}  // namespace

ParseResult RequestParser::parse(std::string_view input, Request& out) {
  if (swallow_ > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(swallow_, input.size()));
    swallow_ -= n;
    return reply(ParseStatus::kNeedMore, n, {});
  }
  const std::size_t nl = input.find('\n');
  const std::size_t line_size = nl == std::string_view::npos ? input.size() : nl;
  if (line_size > kMaxLineBytes) {
    const bool multi_get = input.starts_with("get ") || input.starts_with("gets ");
    if (!multi_get || line_size > kMaxGetLineBytes) {
      return reply(ParseStatus::kClose, input.size(), kErrLineTooLong);
    }
  }
  if (nl == std::string_view::npos) return reply(ParseStatus::kNeedMore, 0, {});
  std::string_view line = input.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return parse_line(input, line, nl + 1, out);
}

ParseResult RequestParser::parse_line(std::string_view input, std::string_view line,
                                      std::size_t line_end, Request& out) {
  tokenize(line, tokens_);
  out.keys.clear();
  out.flags = 0;
  out.exptime = 0;
  out.data = {};
  out.noreply = false;
  if (tokens_.empty()) return reply(ParseStatus::kReply, line_end, kErrUnknown);
  const std::string_view name = tokens_[0];
  const std::size_t nargs = tokens_.size() - 1;

  if (name == "get" || name == "gets") {
    if (nargs == 0) return reply(ParseStatus::kReply, line_end, kErrUnknown);
    for (std::size_t i = 1; i < tokens_.size(); ++i) {
      if (!valid_key(tokens_[i])) return reply(ParseStatus::kReply, line_end, kErrKeyTooLong);
      out.keys.push_back(tokens_[i]);
    }
    out.command = name == "get" ? Command::kGet : Command::kGets;
    return reply(ParseStatus::kRequest, line_end, {});
  }
  if (name == "set" || name == "add" || name == "replace") {
    out.command = name == "set" ? Command::kSet : name == "add" ? Command::kAdd : Command::kReplace;
    return parse_storage(input, line_end, tokens_, out);
  }
  if (name == "delete") {
    // "delete <key> [0] [noreply]": the 0 is a legacy hold time that old clients still send.
    std::size_t last = tokens_.size();
    if (last > 2 && tokens_[last - 1] == "noreply") {
      out.noreply = true;
      --last;
    }
    if (last == 3 && tokens_[2] == "0") --last;
    if (last != 2) return reply(ParseStatus::kReply, line_end, kErrFormat);
    if (!valid_key(tokens_[1])) return reply(ParseStatus::kReply, line_end, kErrKeyTooLong);
    out.command = Command::kDelete;
    out.keys.push_back(tokens_[1]);
    return reply(ParseStatus::kRequest, line_end, {});
  }
  if (name == "flush_all") {
    std::size_t last = tokens_.size();
    if (last > 1 && tokens_[last - 1] == "noreply") {
      out.noreply = true;
      --last;
    }
    // A delayed flush is not supported: only an immediate one ("flush_all" or "flush_all 0").
    if (last == 2 && tokens_[1] == "0") --last;
    if (last != 1) return reply(ParseStatus::kReply, line_end, kErrFormat);
    out.command = Command::kFlushAll;
    return reply(ParseStatus::kRequest, line_end, {});
  }
  // memcached ignores arguments to version; stats groups ("stats slabs") are not supported.
  if (name == "version") {
    out.command = Command::kVersion;
    return reply(ParseStatus::kRequest, line_end, {});
  }
  if (nargs == 0 && (name == "quit" || name == "stats")) {
    out.command = name == "quit" ? Command::kQuit : Command::kStats;
    return reply(ParseStatus::kRequest, line_end, {});
  }
  return reply(ParseStatus::kReply, line_end, kErrUnknown);
}

// "<cmd> <key> <flags> <exptime> <bytes> [noreply]\r\n<data>\r\n"
ParseResult RequestParser::parse_storage(std::string_view input, std::size_t line_end,
                                         const std::vector<std::string_view>& tokens,
                                         Request& out) {
  if (tokens.size() != 5 && tokens.size() != 6) {
    return reply(ParseStatus::kReply, line_end, kErrUnknown);
  }
  int64_t bytes = 0;
  if (!parse_number(tokens[4], bytes) || bytes < 0) {
    // Without a length the value block cannot be skipped: the client will see its data
    // line answered as an unknown command, exactly as memcached does.
    return reply(ParseStatus::kReply, line_end, kErrFormat);
  }
  if (static_cast<uint64_t>(bytes) > kMaxValueBytes) {
    swallow_ = static_cast<uint64_t>(bytes) + 2;
    return reply(ParseStatus::kReply, line_end, kErrTooLarge);
  }
  const std::size_t block_end = line_end + static_cast<std::size_t>(bytes) + 2;
  if (input.size() < block_end) return reply(ParseStatus::kNeedMore, 0, {});

  // The length was sound, so from here on every error also skips the value block.
  if (std::memcmp(input.data() + block_end - 2, "\r\n", 2) != 0) {
    return reply(ParseStatus::kReply, block_end, kErrBadChunk);
  }
  if (!valid_key(tokens[1])) return reply(ParseStatus::kReply, block_end, kErrKeyTooLong);
  if (!parse_number(tokens[2], out.flags) || !parse_number(tokens[3], out.exptime)) {
    return reply(ParseStatus::kReply, block_end, kErrFormat);
  }
  if (tokens.size() == 6) {
    if (tokens[5] != "noreply") return reply(ParseStatus::kReply, block_end, kErrFormat);
    out.noreply = true;
  }
  out.keys.push_back(tokens[1]);
  out.data = input.substr(line_end, static_cast<std::size_t>(bytes));
  return reply(ParseStatus::kRequest, block_end, {});
}

}  // namespace virtuoso::kv
