#include "src/base/text.h"

#include <algorithm>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace spatial::base {

absl::Status CheckIdentifier(absl::string_view id, absl::string_view what) {
  auto bad = [&](absl::string_view why) {
    std::string shown(id.substr(0, 64));
    for (char& c : shown) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid ", what, " '", shown, "': ", why,
        " (allowed: a letter or digit, then up to 127 of letters, digits, "
        "'.', '_', '-')"));
  };
  if (id.empty()) return bad("it is empty");
  if (id.size() > 128) return bad("it is longer than 128 characters");
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
  };
  if (!alnum(id[0])) return bad("it must start with a letter or digit");
  for (char c : id) {
    if (!(alnum(c) || c == '.' || c == '_' || c == '-')) {
      return bad("it contains a character that is not allowed");
    }
  }
  if (absl::StrContains(id, "..")) return bad("it contains '..'");
  return absl::OkStatus();
}

std::string EscapeForTerminal(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c == '\\') {
      out += "\\\\";
      ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      switch (c) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
      }
      ++i;
      continue;
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // A UTF-8 sequence: its length from the lead byte, then continuation
    // bytes, no overlong forms or surrogates.
    size_t len = c >= 0xc2 && c <= 0xdf   ? 2
                 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4
                                          : 0;
    uint32_t cp = len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    bool valid = len != 0 && i + len <= n;
    for (size_t k = 1; valid && k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) valid = false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (valid &&
        ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
         (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))) {
      valid = false;
    }
    if (!valid) {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
      ++i;
      continue;
    }
    if ((cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
        (cp >= 0x2066 && cp <= 0x2069)) {
      absl::StrAppend(&out, "\\u", absl::Hex(cp, absl::kZeroPad4));
    } else {
      out.append(text.data() + i, len);
    }
    i += len;
  }
  return out;
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> ClosestMatches(
    absl::string_view name, const std::vector<std::string>& candidates,
    size_t max) {
  std::vector<std::pair<size_t, std::string>> scored;
  const size_t limit = std::max<size_t>(2, name.size() / 3);
  for (const auto& c : candidates) {
    size_t d = EditDistance(name, c);
    size_t common = 0;
    while (common < name.size() && common < c.size() &&
           name[common] == c[common])
      ++common;
    if (d <= limit || common >= 4) scored.emplace_back(d, c);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && i < max; ++i) {
    out.push_back(scored[i].second);
  }
  return out;
}

std::string DidYouMean(absl::string_view name,
                       const std::vector<std::string>& candidates) {
  auto close = ClosestMatches(name, candidates);
  if (close.empty()) return "";
  return absl::StrCat(" (did you mean: ", absl::StrJoin(close, ", "), "?)");
}

std::string FormatIso8601(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseIso8601(absl::string_view s) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(s), &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid ISO 8601 time '", s, "': ", err));
  }
  return t;
}

}  // namespace spatial::base
