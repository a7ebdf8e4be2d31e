// Client side of the memcached text protocol: parse one server reply line (and value block).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace virtuoso::kv {

enum class ReplyKind : uint8_t {
  kValue,  // "VALUE <key> <flags> <bytes> [<cas>]" plus its data block
  kEnd,
  kStored,
  kNotStored,
  kExists,
  kNotFound,
  kDeleted,
  kOk,
  kVersion,
  kStat,
  kError,
  kClientError,
  kServerError,
};

// Views point into the input: valid until the caller drops the consumed bytes.
struct Reply {
  ReplyKind kind = ReplyKind::kEnd;
  std::string_view key;   // kValue
  uint32_t flags = 0;     // kValue
  std::string_view data;  // kValue: the value; kVersion/kStat/errors: the rest of the line
};

enum class ReplyStatus : uint8_t { kNeedMore, kReply, kMalformed };

struct ReplyParse {
  ReplyStatus status = ReplyStatus::kNeedMore;
  std::size_t consumed = 0;
};

// Parses the reply at the start of `input`. Values larger than `max_value` are malformed:
// a client never asked for them, and waiting for their bytes could wait forever.
ReplyParse parse_reply(std::string_view input, std::size_t max_value, Reply& out);

bool is_error(ReplyKind kind);

}  // namespace virtuoso::kv
