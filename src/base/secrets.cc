#include "src/base/secrets.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace spatial::base {
namespace {

constexpr const char* kMask = "***";

bool IsUrl(absl::string_view s) {
  return absl::StartsWith(s, "postgresql://") ||
         absl::StartsWith(s, "postgres://");
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoded as libpq decodes URI parts (a malformed escape is kept as is:
// libpq refuses such a URL, and its text is then masked whole).
std::string PercentDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

bool IsSecretName(absl::string_view raw_name, bool decode) {
  std::string name = decode ? PercentDecode(raw_name) : std::string(raw_name);
  return absl::StrContains(absl::AsciiStrToLower(name), "password");
}

// Visits the parts of a location: calls `keep(text)` for text shown as is and
// `secret(text)` for a password value.
template <typename Keep, typename Secret>
void Walk(absl::string_view s, Keep keep, Secret secret) {
  if (IsUrl(s)) {
    size_t scheme_end = s.find("://") + 3;
    keep(s.substr(0, scheme_end));
    absl::string_view rest = s.substr(scheme_end);
    // As libpq parses it: user info runs to the first '@' met before any '/'.
    size_t at = rest.find_first_of("@/");
    if (at != absl::string_view::npos && rest[at] == '@') {
      absl::string_view userinfo = rest.substr(0, at);
      size_t colon = userinfo.find(':');
      if (colon != absl::string_view::npos) {
        keep(userinfo.substr(0, colon + 1));
        secret(userinfo.substr(colon + 1));
      } else {
        keep(userinfo);
      }
      keep("@");
      rest.remove_prefix(at + 1);
    }
    size_t q = rest.find('?');
    keep(rest.substr(0, q));
    if (q == absl::string_view::npos) return;
    keep("?");
    bool first = true;
    for (absl::string_view p : absl::StrSplit(rest.substr(q + 1), '&')) {
      if (!first) keep("&");
      first = false;
      size_t eq = p.find('=');
      if (eq != absl::string_view::npos &&
          IsSecretName(p.substr(0, eq), true)) {
        keep(p.substr(0, eq + 1));
        secret(p.substr(eq + 1));
      } else {
        keep(p);
      }
    }
    return;
  }
  // Keyword/value: values run to the next space unless single-quoted, where
  // backslash escapes a character.
  size_t i = 0;
  auto space = [&](size_t k) {
    return std::isspace(static_cast<unsigned char>(s[k])) != 0;
  };
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && space(i)) ++i;
    while (i < s.size() && s[i] != '=' && !space(i)) ++i;
    absl::string_view key = s.substr(start, i - start);
    while (i < s.size() && space(i)) ++i;
    if (i >= s.size() || s[i] != '=') {
      keep(s.substr(start, i - start));
      continue;
    }
    ++i;
    while (i < s.size() && space(i)) ++i;
    keep(s.substr(start, i - start));
    size_t value_start = i;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'') i += (s[i] == '\\') ? 2 : 1;
      i = std::min(i + 1, s.size());
    } else {
      while (i < s.size() && !space(i)) ++i;
    }
    absl::string_view value = s.substr(value_start, i - value_start);
    if (IsSecretName(absl::StripAsciiWhitespace(key), false)) {
      secret(value);
    } else {
      keep(value);
    }
  }
}

}  // namespace

std::string RedactLocation(absl::string_view location) {
  std::string out;
  Walk(
      location, [&](absl::string_view t) { out.append(t.data(), t.size()); },
      [&](absl::string_view) { out += kMask; });
  return out;
}

std::vector<std::string> LocationSecrets(absl::string_view location) {
  std::vector<std::string> out;
  Walk(
      location, [](absl::string_view) {},
      [&](absl::string_view t) {
        std::string raw(t);
        if (absl::StartsWith(raw, "'") && absl::EndsWith(raw, "'") &&
            raw.size() >= 2) {
          raw = raw.substr(1, raw.size() - 2);
          out.push_back(
              absl::StrReplaceAll(raw, {{"\\'", "'"}, {"\\\\", "\\"}}));
        }
        out.push_back(raw);
        if (IsUrl(location)) out.push_back(PercentDecode(raw));
      });
  std::erase_if(out, [](const std::string& s) { return s.empty(); });
  // Longest first, so that a secret containing another is masked whole.
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string RedactSecrets(absl::string_view text, absl::string_view location) {
  std::string out(text);
  if (location.empty()) return out;
  const std::string redacted = RedactLocation(location);
  if (redacted != location) {
    absl::StrReplaceAll({{location, redacted}}, &out);
  }
  for (const auto& s : LocationSecrets(location)) {
    absl::StrReplaceAll({{s, kMask}}, &out);
  }
  return out;
}

}  // namespace spatial::base
