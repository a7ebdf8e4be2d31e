// One parsed memcached text-protocol request and the incremental parser that produces it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace virtuoso::kv {

enum class Command : uint8_t {
  kGet,
  kGets,
  kSet,
  kAdd,
  kReplace,
  kDelete,
  kVersion,
  kQuit,
  kStats,
  kFlushAll,
};

// Views point into the caller's input buffer: valid until the caller drops the consumed bytes.
struct Request {
  Command command = Command::kGet;
  std::vector<std::string_view> keys;  // get/gets: one or more; storage and delete: exactly one
  uint32_t flags = 0;
  int64_t exptime = 0;    // as sent: 0 never, <= 30 days relative, else absolute Unix time
  std::string_view data;  // storage commands: the value block without its trailing "\r\n"
  bool noreply = false;
};

enum class ParseStatus : uint8_t {
  kNeedMore,  // no complete request yet: drop `consumed` bytes, read more, call again
  kRequest,   // `request` is complete
  kReply,     // the input was bad: send `reply` (an error line) and carry on after `consumed`
  kClose,     // the stream cannot be resynchronised: send `reply`, then close the connection
};

struct ParseResult {
  ParseStatus status = ParseStatus::kNeedMore;
  std::size_t consumed = 0;
  std::string_view reply;  // static text, for kReply / kClose
};

// Stateful only to discard the value block of a refused oversize store, which may span reads.
class RequestParser {
 public:
  // Parses the first request at the start of `input` into `out`.
  ParseResult parse(std::string_view input, Request& out);

  bool swallowing() const { return swallow_ > 0; }

 private:
  ParseResult parse_line(std::string_view input, std::string_view line, std::size_t line_end,
                         Request& out);
  ParseResult parse_storage(std::string_view input, std::size_t line_end,
                            const std::vector<std::string_view>& tokens, Request& out);

  uint64_t swallow_ = 0;  // bytes of a refused value block still to discard
  std::vector<std::string_view> tokens_;
};

}  // namespace virtuoso::kv
