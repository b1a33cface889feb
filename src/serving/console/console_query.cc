// ParsePageQuery (console_query.h). Pure; thread-safe.
#include "src/serving/console/console_query.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace spatial::serving {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::StatusOr<size_t> Count(absl::string_view name, absl::string_view value) {
  uint64_t n = 0;
  if (!absl::SimpleAtoi(value, &n) || value.empty() || value[0] == '+' ||
      n > (1ull << 40)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", name, "' must be a whole number, not '",
                     value.substr(0, 32), "'"));
  }
  return static_cast<size_t>(n);
}

}  // namespace

absl::StatusOr<std::string> DecodeQueryValue(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError(
            "a query value has a '%' not followed by two hex digits");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

absl::StatusOr<PageQuery> ParsePageQuery(absl::string_view query,
                                         int default_limit, int max_limit) {
  PageQuery p;
  p.limit = static_cast<size_t>(default_limit);
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    if (kv.first == "offset") {
      auto n = Count("offset", kv.second);
      if (!n.ok()) return n.status();
      p.offset = *n;
    } else if (kv.first == "limit") {
      auto n = Count("limit", kv.second);
      if (!n.ok()) return n.status();
      if (*n < 1 || *n > static_cast<size_t>(max_limit)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "'limit' must be between 1 and ", max_limit, ", not ", *n));
      }
      p.limit = *n;
    } else if (kv.first == "q") {
      auto q = DecodeQueryValue(kv.second);
      if (!q.ok()) return q.status();
      if (q->size() > 200) {
        return absl::InvalidArgumentError("'q' is longer than 200 bytes");
      }
      p.q = *std::move(q);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown query parameter '", kv.first.substr(0, 32),
                       "'; this listing takes offset, limit and q"));
    }
  }
  return p;
}

}  // namespace spatial::serving
