// Parses registry locations; see registry_location.h. Pure, thread-safe.
#include "src/registry/registry_location.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "src/base/secrets.h"

namespace spatial::registry {
namespace {

constexpr absl::string_view kForms =
    "use a SQLite path, sqlite:PATH or postgresql://USER@HOST/DB";

// The scheme of "scheme://...", or "" when `s` does not start with one
// (RFC 3986: a letter, then letters, digits, '+', '-' or '.').
absl::string_view UrlScheme(absl::string_view s) {
  size_t sep = s.find("://");
  if (sep == absl::string_view::npos || sep == 0) return "";
  absl::string_view scheme = s.substr(0, sep);
  if (!absl::ascii_isalpha(static_cast<unsigned char>(scheme[0]))) return "";
  for (char c : scheme) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' &&
        c != '-' && c != '.') {
      return "";
    }
  }
  return scheme;
}

}  // namespace

absl::string_view KindName(RegistryKind kind) {
  return kind == RegistryKind::kPostgres ? "postgresql" : "sqlite";
}

absl::StatusOr<RegistryLocation> ParseRegistryLocation(
    absl::string_view location) {
  RegistryLocation out;
  if (location.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the registry location is empty; ", kForms));
  }
  if (absl::StartsWith(location, "postgresql://") ||
      absl::StartsWith(location, "postgres://")) {
    out.kind = RegistryKind::kPostgres;
    out.url = std::string(location);
    out.masked = base::RedactLocation(location);
    return out;
  }
  if (absl::ConsumePrefix(&location, "sqlite:")) {
    if (location.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the registry location 'sqlite:' names no file; ", kForms));
    }
  } else {
    absl::string_view scheme = UrlScheme(location);
    const std::string lower = absl::AsciiStrToLower(location.substr(0, 11));
    if (absl::StartsWith(lower, "postgres:") ||
        absl::StartsWith(lower, "postgresql:")) {
      scheme = location.substr(0, location.find(':'));
    }
    if (!scheme.empty()) {
      // Only the scheme is shown: the rest may carry a password in a form
      // base::RedactLocation does not know.
      return absl::InvalidArgumentError(absl::StrCat(
          "the registry location '", scheme,
          ":...' is not one spatial reads (a PostgreSQL URL starts with "
          "postgresql:// or postgres://); ",
          kForms));
    }
  }
  out.kind = RegistryKind::kSqlite;
  out.path = std::string(location);
  out.masked = out.path;
  return out;
}

}  // namespace spatial::registry
