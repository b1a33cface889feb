#include "src/registry/postgres/postgres_url.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace spatial::registry {
namespace {

constexpr const char* kMask = "***";

std::string MaskQuery(absl::string_view query) {
  std::vector<std::string> params = absl::StrSplit(query, '&');
  for (auto& p : params) {
    auto eq = p.find('=');
    if (eq != std::string::npos &&
        absl::AsciiStrToLower(p.substr(0, eq)) == "password") {
      p = p.substr(0, eq + 1) + kMask;
    }
  }
  return absl::StrJoin(params, "&");
}

// A keyword/value string ("host=x password='a b' dbname=y"): values run to the
// next space unless single-quoted, where backslash escapes a character.
std::string MaskKeywordValue(absl::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (std::isspace(static_cast<unsigned char>(s[i]))) {
      out += s[i++];
      continue;
    }
    size_t key_start = i;
    while (i < s.size() && s[i] != '=' &&
           !std::isspace(static_cast<unsigned char>(s[i]))) {
      ++i;
    }
    std::string key = absl::AsciiStrToLower(s.substr(key_start, i - key_start));
    out.append(s.data() + key_start, i - key_start);
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) {
      out += s[i++];
    }
    if (i >= s.size() || s[i] != '=') continue;
    out += s[i++];
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) {
      out += s[i++];
    }
    size_t value_start = i;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (i < s.size() && s[i] != '\'') i += (s[i] == '\\') ? 2 : 1;
      i = std::min(i + 1, s.size());
    } else {
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) {
        ++i;
      }
    }
    if (key == "password") {
      out += kMask;
    } else {
      out.append(s.data() + value_start, i - value_start);
    }
  }
  return out;
}

}  // namespace

bool IsPostgresUrl(absl::string_view location) {
  return absl::StartsWith(location, "postgresql://") ||
         absl::StartsWith(location, "postgres://");
}

std::string MaskPostgresPassword(absl::string_view conninfo) {
  if (!IsPostgresUrl(conninfo)) return MaskKeywordValue(conninfo);
  size_t scheme_end = conninfo.find("://") + 3;
  std::string out(conninfo.substr(0, scheme_end));
  absl::string_view rest = conninfo.substr(scheme_end);
  // As libpq parses it: user info runs to the first '@' met before any '/'.
  size_t stop = rest.find_first_of("@/");
  if (stop != absl::string_view::npos && rest[stop] == '@') {
    absl::string_view userinfo = rest.substr(0, stop);
    size_t colon = userinfo.find(':');
    if (colon != absl::string_view::npos) {
      out.append(userinfo.data(), colon + 1);
      out += kMask;
    } else {
      out.append(userinfo.data(), userinfo.size());
    }
    out += '@';
    rest.remove_prefix(stop + 1);
  }
  size_t q = rest.find('?');
  if (q == absl::string_view::npos) {
    out.append(rest.data(), rest.size());
    return out;
  }
  out.append(rest.data(), q + 1);
  out += MaskQuery(rest.substr(q + 1));
  return out;
}

}  // namespace spatial::registry
